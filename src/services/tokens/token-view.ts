import { relationOf, type Manager } from '../../core/authority.js';
import { iso, isoOrNull } from '../../core/clock.js';
import { statusOf, type TokenStatus } from '../../core/policy.js';
import { effectiveScopes } from '../../core/scopes.js';
import type { TokenType } from '../../core/token-format.js';
import type { PlanName } from '../../core/catalog.js';
import type { TokensTable } from '../../store/schema.js';
import { placeOf } from './token-access.js';

export interface TokenView {
  id: string;
  name: string;
  description: string;
  type: TokenType;
  status: TokenStatus;
  scopes: string[];
  effective_scopes: string[];
  domains: string[] | null;
  mailbox_id: string | null;
  ip_allowlist: string[] | null;
  visible_prefix: string;
  last4: string;
  created_at: string;
  created_by: { type: string; id: string | null; name: string };
  expires_at: string | null;
  paused_at: string | null;
  first_used_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  rate_limit: { requests: number; per: string } | null;
}

const parseList = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));

export function tokenStatus(row: Pick<TokensTable, 'revoked_at' | 'deleted_at' | 'expires_at' | 'paused_at'>, now: number): TokenStatus {
  return statusOf({ revokedAt: row.revoked_at ?? row.deleted_at, expiresAt: row.expires_at, pausedAt: row.paused_at }, now);
}

/** What a token is told of the token above it, which does not exist for it: that there is one. */
export const HIDDEN_CREATOR = { type: 'token', id: null, name: '(a token above this one)' } as const;

/**
 * The token as `viewer` may see it. A token looking at itself (or its own predecessor) is not told
 * which token made it: its ancestors are not its to see.
 */
export function toTokenView(row: TokensTable, plan: PlanName, now: number, viewer: Manager = { kind: 'person' }): TokenView {
  const type = row.type as TokenType;
  const hideCreator = viewer.kind === 'token' && row.created_by_type === 'token' && relationOf(viewer, placeOf(row)) === 'self';
  const scopes = JSON.parse(row.scopes) as string[];
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type,
    status: tokenStatus(row, now),
    scopes,
    effective_scopes: [...effectiveScopes(type, scopes, plan)].sort(),
    domains: parseList(row.domains),
    mailbox_id: row.mailbox_id,
    ip_allowlist: parseList(row.ip_allowlist),
    visible_prefix: row.visible_prefix,
    last4: row.last4,
    created_at: iso(row.created_at),
    created_by: hideCreator ? { ...HIDDEN_CREATOR } : { type: row.created_by_type, id: row.created_by_id, name: row.created_by_name },
    expires_at: isoOrNull(row.expires_at),
    paused_at: isoOrNull(row.paused_at),
    first_used_at: isoOrNull(row.first_used_at),
    last_used_at: isoOrNull(row.last_used_at),
    last_used_ip: row.last_used_ip,
    revoked_at: isoOrNull(row.revoked_at),
    revoke_reason: row.revoke_reason,
    rotated_from: row.rotated_from,
    rotated_to: row.rotated_to,
    rate_limit: row.rate_limit === null ? null : (JSON.parse(row.rate_limit) as { requests: number; per: string }),
  };
}

