import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { canManageMessageTokens, type Manager } from '../core/authority.js';
import type { TokenType } from '../core/token-format.js';
import type { Db, DbOrTrx, Trx } from './database.js';
import { liveDomainsAmong } from './domains.js';
import type { Database, TokensTable } from './schema.js';
import { ancestryOf, descendantPattern, domainListPattern, likeEscaped, tokenColumns, toTokenRecord, toTokenRow, type TokenRecord } from './token-codec.js';

/** Every query of token rows. */
export type { Trx, DbOrTrx };

type TokensEb = ExpressionBuilder<Database, 'tokens'>;

const records = async (rows: Promise<TokensTable[]>): Promise<TokenRecord[]> => (await rows).map(toTokenRecord);

/**
 * Serialises check-then-act changes within one account across nodes: a no-op update takes the
 * account row's lock on PostgreSQL until the transaction ends (SQLite already runs one writer).
 * Every token change takes it first, before any token row.
 */
export async function lockAccount(trx: Trx, accountId: string): Promise<void> {
  await trx.updateTable('accounts').set((eb) => ({ audit_seq: eb.ref('audit_seq') })).where('id', '=', accountId).execute();
  lockedAccount.add(trx);
}

/** Transactions that hold an account's lock: every token write asks, so the lock order cannot be broken by a new path. */
const lockedAccount = new WeakSet<Trx>();

function inLockOrder(trx: Trx): void {
  if (!lockedAccount.has(trx)) throw new Error('a token row is written before its account is locked: take lockAccount first (store/transactions.ts)');
}

/** A token of the account that has not been deleted. */
export async function findToken(db: DbOrTrx, accountId: string, id: string): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('tokens').selectAll()
    .where('id', '=', id).where('account_id', '=', accountId).where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && toTokenRecord(row);
}

const isLive = (eb: TokensEb, now: number): Expression<SqlBool> =>
  eb.and([eb('revoked_at', 'is', null), eb('deleted_at', 'is', null), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]);

/** Tokens anywhere below a lineage. */
const under = (eb: TokensEb, lineageId: string): Expression<SqlBool> =>
  eb('ancestry', 'like', sql<string>`${descendantPattern(lineageId)} escape '\\'`);

/** A lineage's rotated-out tokens, other than `exceptId`. */
const predecessorsOf = (eb: TokensEb, lineageId: string, exceptId: string): Expression<SqlBool> =>
  eb.and([eb('lineage_id', '=', lineageId), eb('id', '!=', exceptId), eb('rotated_to', 'is not', null)]);

/**
 * The rows a manager may be related to, as SQL: what `core/authority.ts` calls self or below, so
 * that a page of a list is filled in one read. It is a pre-filter: callers ask the rule of every
 * row they return.
 */
function relatedTo(manager: Manager): (eb: TokensEb) => Expression<SqlBool> {
  return (eb) => {
    if (manager.kind === 'person') return eb.lit(true);
    const self = manager.place;
    if (self.supersededBy !== null) return eb('id', '=', self.id);
    const related = eb.or([eb('id', '=', self.id), under(eb, self.lineageId), predecessorsOf(eb, self.lineageId, self.id)]);
    return canManageMessageTokens(manager) ? related : eb.and([related, eb('type', '!=', 'message')]);
  };
}

/** `live`: active or paused, what can still be used or resumed. */
export type StatusFilter = 'live' | 'active' | 'paused' | 'expired' | 'revoked';

export interface TokenPageQuery {
  accountId: string;
  manager: Manager;
  now: number;
  type?: TokenType | undefined;
  q?: string | undefined;
  status?: StatusFilter | undefined;
  domainId?: string | undefined;
  before?: string | undefined;
  limit: number;
}

/** Tokens of the account (not deleted) the manager may be related to, newest first, by filter. */
export async function tokenPage(db: DbOrTrx, q: TokenPageQuery): Promise<TokenRecord[]> {
  let query = db.selectFrom('tokens').selectAll().where('account_id', '=', q.accountId).where('deleted_at', 'is', null).where(relatedTo(q.manager));
  if (q.type) query = query.where('type', '=', q.type);
  if (q.domainId) query = query.where('domains', 'like', sql<string>`${domainListPattern(q.domainId)} escape '\\'`);
  if (q.q) {
    const pattern = `%${likeEscaped(q.q.toLowerCase())}%`;
    const text = q.q;
    query = query.where((eb) => eb.or([
      eb(eb.fn('lower', ['name']), 'like', sql<string>`${pattern} escape '\\'`),
      eb(eb.fn('lower', ['description']), 'like', sql<string>`${pattern} escape '\\'`),
      eb('visible_prefix', '=', text),
      eb('id', '=', text),
    ]));
  }
  const unexpired = (eb: TokensEb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', q.now)]);
  switch (q.status) {
    case 'revoked': query = query.where('revoked_at', 'is not', null); break;
    case 'expired': query = query.where('revoked_at', 'is', null).where('expires_at', '<=', q.now); break;
    case 'paused': query = query.where('revoked_at', 'is', null).where(unexpired).where('paused_at', 'is not', null); break;
    case 'active': query = query.where('revoked_at', 'is', null).where(unexpired).where('paused_at', 'is', null); break;
    case 'live': query = query.where('revoked_at', 'is', null).where(unexpired); break;
  }
  if (q.before) query = query.where('id', '<', q.before);
  return records(query.orderBy('id', 'desc').limit(q.limit).execute());
}

/** The ids of the tokens a manager may be related to, deleted ones included, as a subquery for `in`. */
export function relatedTokenIds(db: DbOrTrx, accountId: string, manager: Manager) {
  return db.selectFrom('tokens').select('id').where('account_id', '=', accountId).where(relatedTo(manager));
}

/** Which of `ids` name tokens the manager may be related to (all of them, for a person). */
export async function relatedAmong(db: DbOrTrx, accountId: string, manager: Manager, ids: readonly string[]): Promise<Set<string>> {
  if (manager.kind === 'person' || ids.length === 0) return new Set(manager.kind === 'person' ? ids : []);
  const rows = await relatedTokenIds(db, accountId, manager).where('id', 'in', [...ids]).execute();
  return new Set(rows.map((row) => row.id));
}

/** Live tokens of the account, or of one lineage's subtree. */
export async function countLive(db: DbOrTrx, accountId: string, now: number, belowLineage?: string): Promise<number> {
  const row = await db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .where((eb) => (belowLineage === undefined ? isLive(eb, now) : eb.and([isLive(eb, now), under(eb, belowLineage)])))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The current (not rotated-out) live token of each lineage in `ancestry`: a token's ancestors. */
export async function ancestorsOf(db: DbOrTrx, accountId: string, ancestry: readonly string[]): Promise<TokenRecord[]> {
  if (ancestry.length === 0) return [];
  return records(db.selectFrom('tokens').selectAll()
    .where('account_id', '=', accountId).where('lineage_id', 'in', [...ancestry]).where('rotated_to', 'is', null)
    .where('revoked_at', 'is', null).where('deleted_at', 'is', null)
    .execute());
}

/** The hashes of every token below a lineage not yet revoked: what to forget when a limit they count against changes. */
export async function subtreeHashes(db: DbOrTrx, accountId: string, lineageId: string): Promise<string[]> {
  const rows = await db.selectFrom('tokens').select('hash')
    .where('account_id', '=', accountId).where('revoked_at', 'is', null).where((eb) => under(eb, lineageId))
    .execute();
  return rows.map((row) => row.hash);
}

/** Every live token below `root`'s lineage, and its own live predecessors: what must lie inside it. */
export async function liveRestOfTree(trx: Trx, root: TokenRecord, now: number): Promise<TokenRecord[]> {
  return records(trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', root.account_id)
    .where((eb) => eb.and([isLive(eb, now), eb.or([under(eb, root.lineage_id), predecessorsOf(eb, root.lineage_id, root.id)])]))
    .orderBy('id')
    .execute());
}

/** Not yet revoked: the rest of `root`'s lineage and everything below it, by id (one lock order). */
export async function unrevokedRestOfTree(trx: Trx, root: TokenRecord): Promise<TokenRecord[]> {
  return records(trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', root.account_id).where('id', '!=', root.id).where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('lineage_id', '=', root.lineage_id), under(eb, root.lineage_id)]))
    .orderBy('id')
    .execute());
}

/** A lineage's rotated-out tokens still working at `now`, other than `exceptId`. */
export async function livePredecessors(trx: Trx, accountId: string, lineageId: string, exceptId: string, now: number): Promise<TokenRecord[]> {
  return records(trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', accountId)
    .where((eb) => eb.and([isLive(eb, now), predecessorsOf(eb, lineageId, exceptId)]))
    .orderBy('id')
    .execute());
}

/** Tokens not yet revoked that `domainId` is the last live domain of: deleting it leaves them nothing to act on. */
export async function tokensOnlyOf(trx: Trx, accountId: string, domainId: string): Promise<TokenRecord[]> {
  const naming = await records(trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', accountId).where('revoked_at', 'is', null)
    .where('domains', 'like', sql<string>`${domainListPattern(domainId)} escape '\\'`)
    .orderBy('id')
    .execute());
  const domainsOf = (token: TokenRecord): readonly string[] => token.domains ?? [];
  const others = [...new Set(naming.flatMap(domainsOf))].filter((id) => id !== domainId);
  const live = new Set((await liveDomainsAmong(trx, others)).map((domain) => domain.id));
  return naming.filter((row) => !domainsOf(row).some((id) => live.has(id)));
}

/**
 * Working, domain-constrained api or mcp tokens outside `row`'s own tree (its lineage and what is
 * below it, which go when it goes): what can stand in for it on a domain.
 */
export async function otherDomainTokens(trx: Trx, row: TokenRecord, now: number): Promise<TokenRecord[]> {
  return records(trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', row.account_id).where('domains', 'is not', null).where('type', '!=', 'message').where('paused_at', 'is', null)
    .where((eb) => eb.and([isLive(eb, now), eb('lineage_id', '!=', row.lineage_id), eb.not(under(eb, row.lineage_id))]))
    .execute());
}

/** Which of `lineages` have a current token that is paused: everything below them is paused too. */
export async function pausedLineagesAmong(db: DbOrTrx, accountId: string, lineages: readonly string[]): Promise<Set<string>> {
  if (lineages.length === 0) return new Set();
  const rows = await db.selectFrom('tokens').select('lineage_id')
    .where('account_id', '=', accountId).where('lineage_id', 'in', [...lineages]).where('rotated_to', 'is', null).where('paused_at', 'is not', null)
    .execute();
  return new Set(rows.map((row) => row.lineage_id));
}

export async function insertToken(trx: Trx, token: TokenRecord): Promise<void> {
  inLockOrder(trx);
  await trx.insertInto('tokens').values(toTokenRow(token)).execute();
}

export async function updateToken(trx: Trx, id: string, fields: Partial<TokenRecord>): Promise<void> {
  inLockOrder(trx);
  await trx.updateTable('tokens').set(tokenColumns(fields)).where('id', '=', id).execute();
}

/** Revokes a token not yet revoked; false if it already was. */
export async function revokeToken(trx: Trx, id: string, reason: string | null, now: number): Promise<boolean> {
  inLockOrder(trx);
  const updated = await trx.updateTable('tokens').set({ revoked_at: now, revoke_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

/** Pauses (or resumes) every token of a lineage still working: a secret in its grace period follows its successor. */
export async function setLineagePaused(trx: Trx, accountId: string, lineageId: string, pausedAt: number | null, now: number): Promise<string[]> {
  inLockOrder(trx);
  const rows = await trx.selectFrom('tokens').select(['id', 'hash'])
    .where('account_id', '=', accountId).where('lineage_id', '=', lineageId).where((eb) => isLive(eb, now))
    .orderBy('id')
    .execute();
  if (rows.length) await trx.updateTable('tokens').set({ paused_at: pausedAt }).where('id', 'in', rows.map((r) => r.id)).execute();
  return rows.map((row) => row.hash);
}

/** Marks `oldId` rotated into `successorId`; false if another rotation, or a revocation, came first. */
export async function claimRotation(trx: Trx, oldId: string, successorId: string, graceEnd: number): Promise<boolean> {
  inLockOrder(trx);
  const claimed = await trx.updateTable('tokens').set({ rotated_to: successorId, expires_at: graceEnd })
    .where('id', '=', oldId).where('rotated_to', 'is', null).where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(claimed.numUpdatedRows) === 1;
}

/** How many tokens of the account carry a name starting `prefix` (domain tokens are numbered). */
export async function countNamedFrom(trx: Trx, accountId: string, prefix: string): Promise<number> {
  const rows = await trx.selectFrom('tokens').select('id').where('account_id', '=', accountId)
    .where('name', 'like', sql<string>`${`${likeEscaped(prefix)}%`} escape '\\'`).execute();
  return rows.length;
}

/** Tokens revoked, deleted or expired at or before `cutoff`, of any account. */
export async function purgeable(db: Db, cutoff: number, limit: number): Promise<TokenRecord[]> {
  return records(db.selectFrom('tokens').selectAll()
    .where((eb) => eb.or([eb('revoked_at', '<=', cutoff), eb('deleted_at', '<=', cutoff), eb('expires_at', '<=', cutoff)]))
    .limit(limit).execute());
}

/** Removes a token row; false if another purger already did. */
export async function removeToken(trx: Trx, id: string): Promise<boolean> {
  inLockOrder(trx);
  const removed = await trx.deleteFrom('tokens').where('id', '=', id).executeTakeFirst();
  // A connected agent's token leaves its connection with it.
  await trx.deleteFrom('oauth_access_tokens').where('token_id', '=', id).execute();
  return Number(removed.numDeletedRows) > 0;
}

/** Where every token stands, in every account: what the upgrade walks the trees by. */
export async function everyPlace(trx: Trx): Promise<Pick<TokenRecord, 'id' | 'account_id' | 'lineage_id' | 'ancestry' | 'rotated_to'>[]> {
  const rows = await trx.selectFrom('tokens').select(['id', 'account_id', 'lineage_id', 'ancestry', 'rotated_to']).execute();
  return rows.map((row) => ({ ...row, ancestry: ancestryOf(row.ancestry) }));
}

/** A token by id, whatever its state. */
export async function tokenById(trx: Trx, id: string): Promise<TokenRecord> {
  return toTokenRecord(await trx.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

/** Every token of `lineage`, and below it, that still works at `now`. */
export async function liveInLineageTree(trx: Trx, accountId: string, lineage: string, now: number): Promise<TokenRecord[]> {
  return records(trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', accountId)
    .where((eb) => eb.and([isLive(eb, now), eb.or([eb('lineage_id', '=', lineage), under(eb, lineage)])]))
    .orderBy('id')
    .execute());
}

/**
 * A token's first and last use, in one statement, outside any transaction. Every right-hand side
 * reads the row as it was: the first use is set once, the last only ever moves forward, and its
 * address with it.
 */
export async function recordUse(db: Db, id: string, use: { first: number; last: number; ip: string | null }): Promise<void> {
  const later = sql<boolean>`last_used_at is null or last_used_at < cast(${use.last} as bigint)`;
  await db.updateTable('tokens').set({
    first_used_at: sql<number>`coalesce(first_used_at, cast(${use.first} as bigint))`,
    last_used_at: sql<number>`case when ${later} then cast(${use.last} as bigint) else last_used_at end`,
    last_used_ip: sql<string | null>`case when ${later} then ${use.ip} else last_used_ip end`,
  }).where('id', '=', id).execute();
}
