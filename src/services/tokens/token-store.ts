import type { Transaction } from 'kysely';
import type { PlanName } from '../../core/catalog.js';
import { iso } from '../../core/clock.js';
import { notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { mintSecret, TYPE_WORD, type TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import type { Database, TokensTable } from '../../store/schema.js';
import { appendAudit } from '../audit.js';
import type { Principal } from '../context.js';
import { withinCeiling } from './token-rules.js';

/** Reads and writes of token rows shared by the token use cases. */
export type Trx = Transaction<Database>;
export type DbOrTrx = Db | Trx;

/**
 * Serialises check-then-act changes within one account across nodes: a no-op update takes the
 * account row's lock on PostgreSQL until the transaction ends (SQLite already runs one writer).
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

/** A token the principal may see: absent, deleted, another account's or above its ceiling all read as not found. */
export async function visibleRow(db: DbOrTrx, principal: Principal, id: string): Promise<TokensTable> {
  const row = await db.selectFrom('tokens').selectAll()
    .where('id', '=', id).where('account_id', '=', principal.accountId).where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row || (principal.grant && !withinCeiling(row, principal.grant))) throw notFound('token');
  return row;
}

export interface TokenSpec {
  type: TokenType;
  name: string;
  description: string;
  scopes: string[];
  domains: string[] | null;
  ipAllowlist: string[] | null;
  expiresAt: number | null;
  mailboxId: string | null;
  rotatedFrom?: string | null;
  /** The token this one answers to: revoking it revokes this one. Defaults to the minting token. */
  parentTokenId?: string | null;
  /** Stored JSON of the per-token rate limit, or null. */
  rateLimit?: string | null;
}

/**
 * Writes a new token and its audit event inside the caller's transaction. The secret leaves only
 * through the return value.
 */
export async function insertToken(
  trx: Trx,
  principal: Principal,
  spec: TokenSpec,
  tokenPrefix: string,
  now: number,
  auditDetails: Record<string, unknown> = {},
): Promise<{ row: TokensTable; secret: string }> {
  const minted = mintSecret(tokenPrefix, TYPE_WORD[spec.type]);
  const row: TokensTable = {
    id: newId('tok'), account_id: principal.accountId, name: spec.name, description: spec.description, type: spec.type,
    hash: minted.hash, visible_prefix: minted.visiblePrefix, last4: minted.last4, scopes: JSON.stringify(spec.scopes),
    domains: spec.domains === null ? null : JSON.stringify(spec.domains), mailbox_id: spec.mailboxId,
    ip_allowlist: spec.ipAllowlist === null ? null : JSON.stringify(spec.ipAllowlist), created_at: iso(now),
    created_by_type: principal.actor.type, created_by_id: principal.actor.id, created_by_name: principal.actor.name,
    parent_token_id: spec.parentTokenId !== undefined ? spec.parentTokenId : principal.grant?.id ?? null,
    expires_at: spec.expiresAt === null ? null : iso(spec.expiresAt), paused_at: null, revoked_at: null, revoke_reason: null,
    deleted_at: null, first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: spec.rotatedFrom ?? null, rotated_to: null,
    rate_limit: spec.rateLimit ?? null,
  };
  await trx.insertInto('tokens').values(row).execute();
  await appendAudit(trx, principal.accountId, {
    action: 'token.created', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
    details: {
      type: spec.type, scopes: spec.scopes, domains: spec.domains, ip_allowlist: spec.ipAllowlist, expires_at: row.expires_at,
      ...(spec.mailboxId ? { mailbox_id: spec.mailboxId } : {}), ...auditDetails,
    },
    meta: principal.meta,
  }, now);
  return { row, secret: minted.secret };
}
