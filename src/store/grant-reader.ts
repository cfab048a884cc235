import type { Db } from './database.js';
import { sqliteHandleOf } from './database.js';
import type { AccountsTable, TokensTable } from './schema.js';

export type GrantRow = Pick<
  TokensTable,
  'id' | 'account_id' | 'name' | 'type' | 'scopes' | 'domains' | 'mailbox_id' | 'ip_allowlist' | 'revoked_at' | 'paused_at' | 'expires_at' | 'deleted_at' | 'rate_limit'
> & Pick<AccountsTable, 'plan'>;

/** A token and its account's plan by hash: a row, undefined, or a promise of either. */
export type GrantReader = (hash: string) => GrantRow | undefined | Promise<GrantRow | undefined>;

/**
 * The verify cache's miss path. The query is written once, in Kysely, and compiled once. On
 * SQLite it then runs as a prepared statement, synchronously: the answer is a few microseconds
 * away, and Kysely's promise and connection-queue hops would cost more than the read itself.
 * While a Kysely transaction holds the connection the read waits its turn through Kysely instead,
 * so that it never sees another request's uncommitted writes.
 */
export function grantReader(db: Db): GrantReader {
  const query = db
    .selectFrom('tokens')
    .innerJoin('accounts', 'accounts.id', 'tokens.account_id')
    .select([
      'tokens.id', 'tokens.account_id', 'tokens.name', 'tokens.type', 'tokens.scopes', 'tokens.domains',
      'tokens.mailbox_id', 'tokens.ip_allowlist', 'tokens.revoked_at', 'tokens.paused_at', 'tokens.expires_at',
      'tokens.deleted_at', 'tokens.rate_limit', 'accounts.plan',
    ]);
  const viaKysely = (hash: string) => query.where('tokens.hash', '=', hash).executeTakeFirst();
  const sqlite = sqliteHandleOf(db);
  if (sqlite === undefined) return viaKysely;
  const statement = sqlite.prepare<[string], GrantRow>(query.where('tokens.hash', '=', '').compile().sql);
  return (hash) => (sqlite.inTransaction ? viaKysely(hash) : statement.get(hash));
}
