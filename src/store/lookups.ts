import type { Compilable } from 'kysely';
import type { Db } from './database.js';
import { sqliteHandleOf } from './database.js';
import type { AccountsTable, TokensTable } from './schema.js';

/** A row by one text key: a row, undefined, or a promise of either. */
export type Lookup<Row> = (key: string) => Row | undefined | Promise<Row | undefined>;

interface KeyedQuery<Row> extends Compilable<Row> {
  executeTakeFirst(): Promise<Row | undefined>;
}

/**
 * A lookup that the verify path makes on a cache miss. The query is written once, in Kysely. On
 * SQLite it then runs as a prepared statement, synchronously: the answer is a few microseconds
 * away, and Kysely's promise and connection-queue hops would cost more than the read itself.
 * While a Kysely transaction holds the connection the read waits its turn through Kysely instead,
 * so that it never sees another request's uncommitted writes.
 */
export function preparedLookup<Row>(db: Db, byKey: (key: string) => KeyedQuery<Row>): Lookup<Row> {
  const viaKysely = (key: string) => byKey(key).executeTakeFirst();
  const sqlite = sqliteHandleOf(db);
  if (sqlite === undefined) return viaKysely;
  const statement = sqlite.prepare<[string], Row>(byKey('').compile().sql);
  return (key) => (sqlite.inTransaction ? viaKysely(key) : statement.get(key));
}

export type GrantRow = Pick<
  TokensTable,
  | 'id' | 'account_id' | 'name' | 'type' | 'lineage_id' | 'ancestry' | 'scopes' | 'domains' | 'mailbox_id' | 'ip_allowlist' | 'revoked_at'
  | 'paused_at' | 'expires_at' | 'deleted_at' | 'rate_limit'
> & Pick<AccountsTable, 'plan'>;

/** A token and its account's plan, by hash. */
export function grantReader(db: Db): Lookup<GrantRow> {
  const query = db
    .selectFrom('tokens')
    .innerJoin('accounts', 'accounts.id', 'tokens.account_id')
    .select([
      'tokens.id', 'tokens.account_id', 'tokens.name', 'tokens.type', 'tokens.lineage_id', 'tokens.ancestry', 'tokens.scopes', 'tokens.domains',
      'tokens.mailbox_id', 'tokens.ip_allowlist', 'tokens.revoked_at', 'tokens.paused_at', 'tokens.expires_at',
      'tokens.deleted_at', 'tokens.rate_limit', 'accounts.plan',
    ]);
  return preparedLookup<GrantRow>(db, (hash) => query.where('tokens.hash', '=', hash));
}

export type LineageRow = Pick<TokensTable, 'rate_limit' | 'paused_at'>;

/**
 * A lineage's current, live token, by lineage id: what a token below it answers to, its rate
 * limit (which the token below counts against) and whether it is paused (which pauses it too).
 */
export function lineageReader(db: Db): Lookup<LineageRow> {
  const query = db.selectFrom('tokens').select(['rate_limit', 'paused_at'])
    .where('rotated_to', 'is', null).where('revoked_at', 'is', null).where('deleted_at', 'is', null);
  return preparedLookup<LineageRow>(db, (lineage) => query.where('lineage_id', '=', lineage));
}

/** The account a live domain belongs to, by the domain's id. */
export function domainReader(db: Db): Lookup<{ account_id: string }> {
  const query = db.selectFrom('domains').select('account_id').where('deleted_at', 'is', null);
  return preparedLookup<{ account_id: string }>(db, (id) => query.where('id', '=', id));
}
