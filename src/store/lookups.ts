import type { Compilable } from 'kysely';
import type { Db } from './database.js';
import { sqliteHandleOf } from './database.js';
import { PLAN_NAMES, type PlanName } from '../core/catalog.js';
import { TOKEN_TYPES } from '../core/token-format.js';
import { fromJson, oneOf, sharedLists } from './columns.js';
import type { TokensTable } from './schema.js';
import { ancestryOf, type StoredRateLimit, type TokenRecord } from './token-codec.js';

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
export function preparedLookup<Row, Record>(db: Db, byKey: (key: string) => KeyedQuery<Row>, decode: (row: Row) => Record): Lookup<Record> {
  const decoded = (row: Row | undefined) => (row === undefined ? undefined : decode(row));
  const viaKysely = async (key: string) => decoded(await byKey(key).executeTakeFirst());
  const sqlite = sqliteHandleOf(db);
  if (sqlite === undefined) return viaKysely;
  const statement = sqlite.prepare<[string], Row>(byKey('').compile().sql);
  return (key) => (sqlite.inTransaction ? viaKysely(key) : decoded(statement.get(key)));
}

/**
 * The verify path reads the same few lists, ancestries and limits for many tokens: each distinct
 * stored text is decoded once, and the same object stands for it after, so that what is compiled
 * from it can be kept by it.
 */
const sharedList = sharedLists();
const sharedOrNull = (text: string | null) => (text === null ? null : sharedList(text));
const ancestries = new Map<string, readonly string[]>();
const sharedAncestry = (text: string) => remembered(ancestries, text, () => Object.freeze(ancestryOf(text)));
const limits = new Map<string, StoredRateLimit>();
const sharedLimit = (text: string | null) => (text === null ? null : remembered(limits, text, () => Object.freeze(fromJson<StoredRateLimit>(text))));

function remembered<T>(table: Map<string, T>, key: string, make: () => T): T {
  let value = table.get(key);
  if (value === undefined) {
    value = make();
    table.set(key, value);
  }
  return value;
}

const tokenType = oneOf(TOKEN_TYPES, 'tokens.type');
const planName = oneOf(PLAN_NAMES, 'accounts.plan');

type GrantColumns = 'id' | 'account_id' | 'name' | 'type' | 'lineage_id' | 'ancestry' | 'scopes' | 'domains' | 'mailbox_id' | 'ip_allowlist'
  | 'revoked_at' | 'paused_at' | 'expires_at' | 'deleted_at' | 'rate_limit' | 'audience';

/** What a decision needs of a token, and its account's plan. */
export type GrantRecord = Pick<TokenRecord, GrantColumns> & { plan: PlanName };

const toGrantRecord = (row: Pick<TokensTable, GrantColumns> & { plan: string }): GrantRecord => ({
  ...row,
  type: tokenType(row.type),
  ancestry: sharedAncestry(row.ancestry),
  scopes: sharedList(row.scopes),
  domains: sharedOrNull(row.domains),
  ip_allowlist: sharedOrNull(row.ip_allowlist),
  rate_limit: sharedLimit(row.rate_limit),
  plan: planName(row.plan),
});

/** A token and its account's plan, by hash. */
export function grantReader(db: Db): Lookup<GrantRecord> {
  const query = db
    .selectFrom('tokens')
    .innerJoin('accounts', 'accounts.id', 'tokens.account_id')
    .select([
      'tokens.id', 'tokens.account_id', 'tokens.name', 'tokens.type', 'tokens.lineage_id', 'tokens.ancestry', 'tokens.scopes', 'tokens.domains',
      'tokens.mailbox_id', 'tokens.ip_allowlist', 'tokens.revoked_at', 'tokens.paused_at', 'tokens.expires_at',
      'tokens.deleted_at', 'tokens.rate_limit', 'tokens.audience', 'accounts.plan',
    ]);
  return preparedLookup(db, (hash) => query.where('tokens.hash', '=', hash), toGrantRecord);
}

export type LineageRecord = Pick<TokenRecord, 'rate_limit' | 'paused_at'>;

/**
 * A lineage's current, live token, by lineage id: what a token below it answers to, its rate
 * limit (which the token below counts against) and whether it is paused (which pauses it too).
 */
export function lineageReader(db: Db): Lookup<LineageRecord> {
  const query = db.selectFrom('tokens').select(['rate_limit', 'paused_at'])
    .where('rotated_to', 'is', null).where('revoked_at', 'is', null).where('deleted_at', 'is', null);
  return preparedLookup(db, (lineage) => query.where('lineage_id', '=', lineage), (row) => ({ paused_at: row.paused_at, rate_limit: sharedLimit(row.rate_limit) }));
}

/** The account a live domain belongs to, by the domain's id. */
export function domainReader(db: Db): Lookup<{ account_id: string }> {
  const query = db.selectFrom('domains').select('account_id').where('deleted_at', 'is', null);
  return preparedLookup(db, (id) => query.where('id', '=', id), (row) => row);
}
