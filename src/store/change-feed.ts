import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from './database.js';

/** What another node must forget: some tokens by hash, every token of an account, or some domains. */
export type Invalidation = { hashes: string[] } | { accountId: string } | { domainIds: string[] };

export interface ChangeFeed {
  publish(change: Invalidation): void;
  /** `onLost` runs when notifications may have been missed: the listener must forget everything. */
  start(onChange: (change: Invalidation) => void, onLost: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** One process on SQLite: invalidation is local and direct, there is nobody to tell. */
export const localOnlyFeed: ChangeFeed = {
  publish: () => undefined,
  start: async () => undefined,
  stop: async () => undefined,
};

const CHANNEL = 'latchkey_invalidate';
/** NOTIFY payloads stop at 8,000 bytes; 100 hashes of 43 characters stay well inside. */
const HASHES_PER_NOTIFY = 100;

/**
 * One channel per schema: deployments that share a PostgreSQL server in separate schemas never
 * hear each other's notices (nor a test app another's). Two schema names that differ only in
 * characters an identifier cannot hold share a channel, which costs only needless invalidations.
 */
export function channelFor(schema: string): string {
  return schema === 'public' ? CHANNEL : `${CHANNEL}_${schema.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** A notice as another node wrote it, or null for anything else on the channel. */
function readInvalidation(payload: string | undefined): Invalidation | null {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? '');
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { hashes, accountId, domainIds } = value as { hashes?: unknown; accountId?: unknown; domainIds?: unknown };
  if (Array.isArray(hashes) && hashes.every((hash) => typeof hash === 'string')) return { hashes };
  if (Array.isArray(domainIds) && domainIds.every((id) => typeof id === 'string')) return { domainIds };
  if (typeof accountId === 'string' && accountId.length > 0) return { accountId };
  return null;
}

/**
 * Cross-node invalidation over PostgreSQL LISTEN/NOTIFY, no extra server. Every node listens on one
 * dedicated connection; a change on any node notifies all. When the listening connection drops,
 * the node forgets its whole cache at once and again after reconnecting, since notifications sent
 * in between are lost.
 */
export class PostgresChangeFeed implements ChangeFeed {
  private client: pg.Client | null = null;
  private stopped = false;
  private onChange: (change: Invalidation) => void = () => undefined;
  private onLost: () => void = () => undefined;
  private channel = CHANNEL;

  constructor(
    private readonly url: string,
    private readonly db: Db,
    private readonly report: (message: string, error?: unknown) => void,
  ) {}

  async start(onChange: (change: Invalidation) => void, onLost: () => void): Promise<void> {
    this.onChange = onChange;
    this.onLost = onLost;
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db);
    this.channel = channelFor(rows[0]!.schema);
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: `latchkey-listener-${process.pid}` });
    // Until connected, failures surface as the rejected promise below.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    client.on('notification', (message) => {
      const change = readInvalidation(message.payload);
      if (change !== null) return this.onChange(change);
      // Something was meant to be forgotten and we cannot tell what: forget everything.
      this.report('unreadable invalidation notice; cache flushed');
      this.onLost();
    });
    let gone = false;
    const lost = () => {
      if (gone) return;
      gone = true;
      this.connectionLost(client);
    };
    client.on('error', lost);
    client.on('end', lost);
    this.client = client;
  }

  private connectionLost(client: pg.Client): void {
    if (this.client === client) this.client = null;
    if (this.stopped) return;
    this.report('invalidation listener lost its connection; cache flushed, reconnecting');
    this.onLost();
    this.reconnect(100);
  }

  private reconnect(delayMs: number): void {
    const timer = setTimeout(() => {
      if (this.stopped) return;
      this.connect().then(
        () => this.onLost(),
        (error) => {
          this.report('invalidation listener could not reconnect; retrying', error);
          this.reconnect(Math.min(delayMs * 2, 5000));
        },
      );
    }, delayMs);
    timer.unref();
  }

  publish(change: Invalidation): void {
    const payloads =
      'hashes' in change
        ? Array.from({ length: Math.ceil(change.hashes.length / HASHES_PER_NOTIFY) }, (_, i) =>
            JSON.stringify({ hashes: change.hashes.slice(i * HASHES_PER_NOTIFY, (i + 1) * HASHES_PER_NOTIFY) }))
        : [JSON.stringify(change)];
    for (const payload of payloads) {
      sql`select pg_notify(${this.channel}, ${payload})`.execute(this.db).catch((error) => this.report('could not publish an invalidation', error));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
