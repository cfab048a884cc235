import { contractChecker, type ContractChecker } from './contract.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Kysely, PostgresDialect, sql } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type Latchkey } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import { ensureOperatorToken } from '../../src/services/bootstrap.js';
import { sqliteKysely } from '../../src/store/database.js';
import type { Database } from '../../src/store/schema.js';
import type { DocumentFetcher } from '../../src/net/document-fetcher.js';
import { adminQuery, dumpSchema, dumpSqliteFiles, TEST_POSTGRES_URL } from './postgres.js';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(private ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Harness extends Latchkey {
  dir: string;
  dbPath: string;
  clock: TestClock;
  store: TestDatabase;
  operatorToken: string;
  logs: string[];
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
}

const OPERATOR_TOKEN = 'test-operator-token-0123456789abcdefghijklmnop';
/** Every harness signs its audit chain with this key unless a test names others. */
export const TEST_AUDIT_KEY = 'test-audit-key-0123456789abcdefghijklmnopqrstuv';

/**
 * The store every HTTP test runs on: SQLite by default; PostgreSQL when LATCHKEY_TEST_DATABASE_URL
 * names a server, each app then in a schema of its own so that parallel test files never meet.
 */
export { TEST_POSTGRES_URL };
export const DIALECT: 'sqlite' | 'postgres' = TEST_POSTGRES_URL ? 'postgres' : 'sqlite';
let schemas = 0;

interface TestDatabase {
  db: Kysely<Database>;
  /**
   * Makes every statement on this app's own connections fail (true), as when the database cannot
   * be reached, or work again (false): what the app decides from memory keeps answering, what needs
   * the store does not. Not the access-log writer thread's connection on SQLite, nor the
   * invalidation listener's on PostgreSQL, which are connections of their own.
   */
  unreachable: (on: boolean) => void;
  /** Everything the store holds, as text, read after the app has closed (files on SQLite, rows on PostgreSQL). */
  dump: () => Promise<string>;
  drop: () => Promise<void>;
  /** On PostgreSQL, another connection pool to the same schema: what a second node would hold. */
  another?: () => Pick<TestDatabase, 'db' | 'unreachable'>;
}

const UNREACHABLE = 'the test made the database unreachable';
const unreachableError = () => new Error(UNREACHABLE);

export async function openTestDatabase(dbPath: string): Promise<TestDatabase> {
  if (TEST_POSTGRES_URL) {
    const url = TEST_POSTGRES_URL;
    const schema = `lk_test_${process.pid}_${(schemas += 1)}_${Math.random().toString(36).slice(2, 8)}`;
    await adminQuery(`create schema "${schema}"`);
    const open = () => {
      let cut = false;
      const pool = new pg.Pool({ connectionString: url, max: 10, options: `-c search_path=${schema}` });
      pool.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        client.query = ((...args: unknown[]) => (cut ? Promise.reject(unreachableError()) : query(...args))) as typeof client.query;
      });
      return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), unreachable: (on: boolean) => void (cut = on) };
    };
    return { ...open(), dump: () => dumpSchema(schema), drop: async () => void (await adminQuery(`drop schema "${schema}" cascade`)), another: open };
  }
  let cut = false;
  // Called by better-sqlite3 before each statement runs, the verify path's own ones too; throwing stops it.
  const sqlite = new SqliteDatabase(dbPath, {
    verbose: () => {
      if (cut) throw unreachableError();
    },
  });
  sqlite.pragma('journal_mode = WAL');
  return { db: sqliteKysely(sqlite), unreachable: (on) => void (cut = on), dump: async () => dumpSqliteFiles(dbPath), drop: async () => undefined };
}

/**
 * Makes every write of one kind (`update of <column>`, `insert`) on `table` fail inside the
 * database, as a crash mid-transaction would, or only the rows `when` (SQL over `new`) picks out;
 * returns the function that removes the fault.
 */
export async function injectFailure(h: Harness, table: string, on: `update of ${string}` | 'insert', when = 'true'): Promise<() => Promise<void>> {
  if (DIALECT === 'postgres') {
    await sql.raw(`create function lk_injected_failure() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`).execute(h.store.db);
    await sql.raw(`create trigger lk_injected_failure before ${on} on ${table} for each row when (${when}) execute function lk_injected_failure()`).execute(h.store.db);
    return async () => {
      await sql.raw(`drop trigger lk_injected_failure on ${table}`).execute(h.store.db);
      await sql.raw('drop function lk_injected_failure()').execute(h.store.db);
    };
  }
  await sql.raw(`create trigger lk_injected_failure before ${on} on ${table} when ${when} begin select raise(abort, 'injected failure'); end`).execute(h.store.db);
  return async () => {
    await sql.raw('drop trigger lk_injected_failure').execute(h.store.db);
  };
}

/** Request fields that carry a secret in, and response fields that carry one out. */
const SECRET_INPUTS = new Set(['password', 'secret', 'current_password', 'new_password']);
// `password`: a one-time password handed out for someone added, or by a reset.
const SECRET_OUTPUTS = new Set(['secret', 'csrf_token', 'access_token', 'refresh_token', 'password']);

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

function collectSecrets(value: unknown, keys: ReadonlySet<string>, into: Set<string>, depth = 0): void {
  // Deeper than any real request or response: hostile nesting is not walked.
  if (value === null || typeof value !== 'object' || depth > 16) return;
  for (const [key, inner] of Object.entries(value)) {
    if (keys.has(key) && typeof inner === 'string' && inner.length >= 8) into.add(inner);
    else collectSecrets(inner, keys, into, depth + 1);
  }
}

const checkers = new Map<string, ContractChecker>();
const checkerOfApp = new WeakMap<Harness['app'], ContractChecker>();
/**
 * One checker per distinct document (every harness of a run serves the same one, so its compiled
 * schemas are shared), looked up once per app rather than on every request.
 */
function contractOf(app: Harness['app']): ContractChecker {
  const known = checkerOfApp.get(app);
  if (known) return known;
  const document = app.swagger() as Parameters<typeof contractChecker>[0];
  const key = JSON.stringify(document);
  let checker = checkers.get(key);
  if (!checker) checkers.set(key, (checker = contractChecker(document)));
  checkerOfApp.set(app, checker);
  return checker;
}

/** A real app on a real SQLite file in a fresh directory, with a hand-moved clock. */
export interface HarnessOptions {
  /**
   * Whether passwords sent in requests join the secret-hygiene search (secrets handed out always
   * do). Off for fuzzing, where the same random text is a password in one request and a name in
   * the next.
   */
  trackInputSecrets?: boolean;
  /** A second node: its own app, cache and pool, on the first one's PostgreSQL schema and clock; closing it drops nothing. */
  nodeOf?: Harness;
  /** Fetches client metadata documents in place of the one that reaches only public addresses. */
  fetcher?: DocumentFetcher;
}

export async function startHarness(env: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
  const dbPath = join(dir, 'latchkey.db');
  const config: Config = loadConfig({
    LATCHKEY_DATABASE_URL: TEST_POSTGRES_URL ?? `sqlite:${dbPath}`,
    LATCHKEY_ADMIN_TOKEN: OPERATOR_TOKEN,
    LATCHKEY_AUDIT_KEY: TEST_AUDIT_KEY,
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_ARGON2_MEMORY_KIB: '1024',
    LATCHKEY_ARGON2_PASSES: '1',
    LATCHKEY_USAGE_FLUSH_INTERVAL_MS: '600000',
    ...env,
  });
  const first = options.nodeOf;
  if (first && !first.store.another) throw new Error('a second node needs PostgreSQL');
  const store: TestDatabase = first
    ? { ...first.store.another!(), dump: async () => '', drop: async () => undefined, another: first.store.another }
    : await openTestDatabase(dbPath);
  const { db, dump, drop } = store;
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const clock = first?.clock ?? new TestClock();
  const secrets = new Set<string>([OPERATOR_TOKEN]);
  const trackInputSecrets = options.trackInputSecrets ?? true;
  const operator = await (async () => {
    const { migrate } = await import('../../src/store/database.js');
    await migrate(db, DIALECT);
    return ensureOperatorToken(db, OPERATOR_TOKEN, config.tokenPrefix);
  })();
  const latchkey = await buildApp({ config, clock, db, operatorTokenHash: operator.hash, auditKeys: config.auditKeys, logStream, fetcher: options.fetcher });
  return {
    ...latchkey,
    dir,
    dbPath,
    clock,
    store,
    operatorToken: OPERATOR_TOKEN,
    logs,
    async request(request) {
      if (trackInputSecrets) collectSecrets(typeof request.payload === 'string' ? parsed(request.payload) : request.payload, SECRET_INPUTS, secrets);
      const response = await latchkey.app.inject(request);
      if (String(response.headers['content-type']).includes('json')) collectSecrets(parsed(response.body), SECRET_OUTPUTS, secrets);
      const problems = contractOf(latchkey.app).problemsOf(String(request.method ?? 'GET'), String(request.url ?? ''), response);
      if (problems.length) throw new Error(`the response breaks the API document:\n${problems.join('\n')}`);
      return response;
    },
    async close() {
      // A test that failed while the database was cut off still gets its last flush and its search.
      store.unreachable(false);
      await latchkey.close();
      // Secret hygiene, for every test that runs on a harness: no password sent and no secret
      // handed out may be found in the logs or anywhere in the store.
      const where = { logs: logs.join(''), store: await dump() };
      await drop();
      rmSync(dir, { recursive: true, force: true });
      const leaks = [...secrets].flatMap((secret) => Object.entries(where).filter(([, text]) => text.includes(secret)).map(([place]) => `${place}: ${secret.slice(0, 12)}…`));
      if (leaks.length) throw new Error(`secrets leaked:\n${leaks.join('\n')}`);
    },
  };
}

/** Runs `use` with the app's database unreachable (see `TestDatabase.unreachable`), and reachable again after, whatever `use` does. */
export async function whileUnreachable<T>(h: Harness, use: () => Promise<T>): Promise<T> {
  h.store.unreachable(true);
  try {
    // So that what passes in here passes because the app did without the store, not because the switch failed.
    const probe = await sql`select 1`.execute(h.store.db).then(() => null, (error: unknown) => error);
    if (!(probe instanceof Error && probe.message === UNREACHABLE)) throw new Error(`the database is still reachable (${String(probe)})`);
    return await use();
  } finally {
    h.store.unreachable(false);
  }
}

/** A second app for one test, closed (and searched for secrets) whatever the test does. */
export async function withHarness<T>(env: Record<string, string>, use: (h: Harness) => Promise<T>): Promise<T> {
  const h = await startHarness(env);
  try {
    return await use(h);
  } finally {
    await h.close();
  }
}
