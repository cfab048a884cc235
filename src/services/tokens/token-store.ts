import { sql, type Expression, type ExpressionBuilder, type SqlBool, type Transaction } from 'kysely';
import { canManageMessageTokens, type Manager } from '../../core/authority.js';
import type { PlanName } from '../../core/catalog.js';
import { newId } from '../../core/ids.js';
import { mintSecret, TYPE_WORD, type TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import type { Database, TokensTable } from '../../store/schema.js';
import { descendantPattern, encodeAncestry } from '../../store/token-codec.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';

/** Reads and writes of token rows shared by the token use cases. */
export type Trx = Transaction<Database>;
export type DbOrTrx = Db | Trx;

/**
 * Serialises check-then-act changes within one account across nodes: a no-op update takes the
 * account row's lock on PostgreSQL until the transaction ends (SQLite already runs one writer).
 * Every token change takes it first, before any token row, so no two changes lock in opposite
 * orders.
 */
export async function lockAccount(trx: Trx, accountId: string): Promise<void> {
  await trx.updateTable('accounts').set((eb) => ({ audit_seq: eb.ref('audit_seq') })).where('id', '=', accountId).execute();
}

export async function planOf(db: DbOrTrx, accountId: string): Promise<PlanName> {
  const row = await db.selectFrom('accounts').select('plan').where('id', '=', accountId).executeTakeFirstOrThrow();
  return row.plan as PlanName;
}

export async function liveDomainIds(db: DbOrTrx, accountId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('domains').select('id').where('account_id', '=', accountId).where('deleted_at', 'is', null).execute();
  return new Set(rows.map((r) => r.id));
}

/** A token of the account that has not been deleted. */
export async function findToken(db: DbOrTrx, accountId: string, id: string): Promise<TokensTable | undefined> {
  return db.selectFrom('tokens').selectAll()
    .where('id', '=', id).where('account_id', '=', accountId).where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export type TokensEb = ExpressionBuilder<Database, 'tokens'>;

const isLive = (eb: TokensEb, now: number): Expression<SqlBool> =>
  eb.and([eb('revoked_at', 'is', null), eb('deleted_at', 'is', null), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]);

/** Tokens anywhere below a lineage. */
export const under = (eb: TokensEb, lineageId: string): Expression<SqlBool> =>
  eb('ancestry', 'like', sql<string>`${descendantPattern(lineageId)} escape '\\'`);

/**
 * The rows a manager may see, as SQL: the same answer `core/authority.ts` gives row by row, so
 * that a page of a list can be filled in one read. Callers still ask the rule of every row.
 */
export function visibleTo(manager: Manager): (eb: TokensEb) => Expression<SqlBool> {
  return (eb) => {
    if (manager.kind === 'person') return eb.lit(true);
    const self = manager.place;
    if (self.supersededBy !== null) return eb('id', '=', self.id);
    const visible = eb.or([eb('id', '=', self.id), under(eb, self.lineageId), eb.and([eb('lineage_id', '=', self.lineageId), eb('rotated_to', 'is not', null)])]);
    return canManageMessageTokens(manager) ? visible : eb.and([visible, eb('type', '!=', 'message')]);
  };
}

/** The ids of every token a manager sees, deleted ones included (their history stays readable). */
export async function visibleTokenIds(db: DbOrTrx, accountId: string, manager: Manager): Promise<string[]> {
  const rows = await db.selectFrom('tokens').select('id').where('account_id', '=', accountId).where(visibleTo(manager)).execute();
  return rows.map((row) => row.id);
}

/** Every live token below a lineage, at any depth. */
export async function liveDescendants(db: DbOrTrx, accountId: string, lineageId: string, now: number): Promise<TokensTable[]> {
  return db.selectFrom('tokens').selectAll()
    .where('account_id', '=', accountId).where((eb) => eb.and([isLive(eb, now), under(eb, lineageId)]))
    .execute();
}

/** The hashes of every token below a lineage not yet revoked: what to forget when a limit they count against changes. */
export async function subtreeHashes(db: DbOrTrx, accountId: string, lineageId: string): Promise<string[]> {
  const rows = await db.selectFrom('tokens').select('hash')
    .where('account_id', '=', accountId).where('revoked_at', 'is', null).where((eb) => under(eb, lineageId))
    .execute();
  return rows.map((row) => row.hash);
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
export async function ancestorsOf(db: DbOrTrx, accountId: string, ancestry: readonly string[]): Promise<TokensTable[]> {
  if (ancestry.length === 0) return [];
  return db.selectFrom('tokens').selectAll()
    .where('account_id', '=', accountId).where('lineage_id', 'in', [...ancestry]).where('rotated_to', 'is', null)
    .where('revoked_at', 'is', null).where('deleted_at', 'is', null)
    .execute();
}

export interface TokenSpec {
  type: TokenType;
  name: string;
  description: string;
  scopes: readonly string[];
  domains: readonly string[] | null;
  ipAllowlist: readonly string[] | null;
  expiresAt: number | null;
  mailboxId: string | null;
  /** Stored JSON of the per-token rate limit, or null. */
  rateLimit: string | null;
  /** The lineages above the new token, root first. */
  ancestry: readonly string[];
  /** A rotation: the token it replaces, whose lineage it continues. */
  rotatedFrom?: { id: string; lineageId: string } | null;
  pausedAt?: number | null;
}

/**
 * Writes a new token and its audit event inside the caller's transaction. The secret leaves only
 * through the return value.
 */
export async function insertToken(
  trx: Trx,
  audit: AuditLog,
  principal: Principal,
  spec: TokenSpec,
  tokenPrefix: string,
  now: number,
  auditDetails: Record<string, unknown> = {},
): Promise<{ row: TokensTable; secret: string }> {
  const minted = mintSecret(tokenPrefix, TYPE_WORD[spec.type]);
  const id = newId('tok');
  const row: TokensTable = {
    id, account_id: principal.accountId, name: spec.name, description: spec.description, type: spec.type,
    hash: minted.hash, visible_prefix: minted.visiblePrefix, last4: minted.last4, scopes: JSON.stringify(spec.scopes),
    domains: spec.domains === null ? null : JSON.stringify(spec.domains), mailbox_id: spec.mailboxId,
    ip_allowlist: spec.ipAllowlist === null ? null : JSON.stringify(spec.ipAllowlist), created_at: now,
    created_by_type: principal.actor.type, created_by_id: principal.actor.id, created_by_name: principal.actor.name,
    lineage_id: spec.rotatedFrom?.lineageId ?? id, ancestry: encodeAncestry(spec.ancestry),
    expires_at: spec.expiresAt, paused_at: spec.pausedAt ?? null, revoked_at: null, revoke_reason: null,
    deleted_at: null, first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: spec.rotatedFrom?.id ?? null, rotated_to: null,
    rate_limit: spec.rateLimit,
  };
  await trx.insertInto('tokens').values(row).execute();
  await audit.append(trx, principal.accountId, {
    action: 'token.created', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
    details: {
      type: spec.type, scopes: spec.scopes, domains: spec.domains, ip_allowlist: spec.ipAllowlist,
      expires_at: spec.expiresAt === null ? null : new Date(spec.expiresAt).toISOString(),
      rate_limit: spec.rateLimit === null ? null : (JSON.parse(spec.rateLimit) as unknown),
      ...(spec.mailboxId ? { mailbox_id: spec.mailboxId } : {}), ...(spec.pausedAt ? { paused: true } : {}), ...auditDetails,
    },
    meta: principal.meta,
  }, now);
  return { row, secret: minted.secret };
}
