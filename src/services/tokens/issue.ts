import { newId } from '../../core/ids.js';
import { mintSecret, TYPE_WORD } from '../../core/token-format.js';
import { accessFields, type AccessSpec, type TokenRecord } from '../../store/token-codec.js';
import { insertToken, type Trx } from '../../store/tokens.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';

export interface TokenSpec extends AccessSpec {
  name: string;
  description: string;
  mailboxId: string | null;
  /** The lineages above the new token, root first. */
  ancestry: readonly string[];
  /** A rotation: the token it replaces, whose lineage it continues. */
  rotatedFrom?: { id: string; lineageId: string } | null;
  pausedAt?: number | null;
  /** The resource an OAuth access token is issued for; null for every token a person or a token makes. */
  audience: string | null;
}

/**
 * Writes a new token and its audit event inside the caller's transaction. The secret leaves only
 * through the return value.
 */
export async function issueToken(
  trx: Trx,
  audit: AuditLog,
  principal: Principal,
  spec: TokenSpec,
  tokenPrefix: string,
  now: number,
  auditDetails: Record<string, unknown> = {},
): Promise<{ token: TokenRecord; secret: string }> {
  const minted = mintSecret(tokenPrefix, TYPE_WORD[spec.type]);
  const id = newId('tok');
  const token: TokenRecord = {
    id, account_id: principal.accountId, name: spec.name, description: spec.description, ...accessFields(spec),
    hash: minted.hash, visible_prefix: minted.visiblePrefix, last4: minted.last4, mailbox_id: spec.mailboxId, created_at: now,
    created_by_type: principal.actor.type, created_by_id: principal.actor.id, created_by_name: principal.actor.name,
    lineage_id: spec.rotatedFrom?.lineageId ?? id, ancestry: spec.ancestry,
    paused_at: spec.pausedAt ?? null, revoked_at: null, revoke_reason: null, deleted_at: null,
    first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: spec.rotatedFrom?.id ?? null, rotated_to: null,
    audience: spec.audience,
  };
  await insertToken(trx, token);
  await audit.append(trx, principal.accountId, {
    action: 'token.created', actor: principal.actor, target: { type: 'token', id: token.id, name: token.name },
    details: {
      type: spec.type, scopes: spec.scopes, domains: spec.domains, ip_allowlist: spec.ipAllowlist,
      expires_at: spec.expiresAt === null ? null : new Date(spec.expiresAt).toISOString(),
      rate_limit: spec.rateLimit,
      ...(spec.mailboxId ? { mailbox_id: spec.mailboxId } : {}), ...(spec.pausedAt ? { paused: true } : {}), ...auditDetails,
    },
    meta: principal.meta,
  }, now);
  return { token, secret: minted.secret };
}
