import { iso, isoOrNull } from '../../core/clock.js';
import { statusOf, type TokenStatus } from '../../core/policy.js';
import { effectiveScopes } from '../../core/scopes.js';
import type { TokenType } from '../../core/token-format.js';
import type { PlanName } from '../../core/catalog.js';
import type { ActorType } from '../../core/roles.js';
import type { ConnectedAgentOfToken } from '../../store/oauth.js';
import type { TokenRecord } from '../../store/token-codec.js';
import { hideUnseen, UNSEEN_TOKEN } from './disclosure.js';

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
  created_by: { type: ActorType; id: string | null; name: string };
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
  /** The connected agent this token was issued to through OAuth, or null for a token someone created. */
  connected_agent: ConnectedAgentOfToken | null;
  /** The person who created it has been removed from the account; the token stays with the account. */
  created_by_removed: boolean;
}

export function tokenStatus(row: Pick<TokenRecord, 'revoked_at' | 'deleted_at' | 'expires_at' | 'paused_at'>, now: number): TokenStatus {
  return statusOf({ revokedAt: row.revoked_at ?? row.deleted_at, expiresAt: row.expires_at, pausedAt: row.paused_at }, now);
}

/**
 * The token as a viewer may see it. `seen`: for a token viewing, the token ids it may be told of;
 * any other token (one above it, above all) is named only as `UNSEEN_TOKEN`. null: a person, who
 * sees the whole account. `agent`: the grant the token was issued from, when it was. `people`: the
 * account's people now, to tell a token whose creator was removed (null: not looked up).
 */
export function toTokenView(
  row: TokenRecord, plan: PlanName, now: number, seen: ReadonlySet<string> | null = null, agent: ConnectedAgentOfToken | null = null,
  people: ReadonlySet<string> | null = null,
): TokenView {
  const { type, scopes, domains, ip_allowlist: ipAllowlist } = row;
  const creatorUnseen = seen !== null && row.created_by_type === 'token' && !seen.has(row.created_by_id ?? '');
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type,
    status: tokenStatus(row, now),
    scopes: [...scopes],
    effective_scopes: [...effectiveScopes(type, scopes, plan)].sort(),
    domains: domains && [...domains],
    mailbox_id: row.mailbox_id,
    ip_allowlist: ipAllowlist && [...ipAllowlist],
    visible_prefix: row.visible_prefix,
    last4: row.last4,
    created_at: iso(row.created_at),
    created_by: creatorUnseen ? { type: 'token', id: null, name: UNSEEN_TOKEN } : { type: row.created_by_type, id: row.created_by_id, name: row.created_by_name },
    expires_at: isoOrNull(row.expires_at),
    paused_at: isoOrNull(row.paused_at),
    first_used_at: isoOrNull(row.first_used_at),
    last_used_at: isoOrNull(row.last_used_at),
    last_used_ip: row.last_used_ip,
    revoked_at: isoOrNull(row.revoked_at),
    revoke_reason: row.revoke_reason !== null && seen !== null ? hideUnseen(row.revoke_reason, seen) : row.revoke_reason,
    rotated_from: row.rotated_from,
    rotated_to: row.rotated_to,
    rate_limit: row.rate_limit && { requests: row.rate_limit.requests, per: row.rate_limit.per },
    connected_agent: agent && { grant_id: agent.grant_id, client_name: agent.client_name },
    created_by_removed: people !== null && row.created_by_type === 'user' && !people.has(row.created_by_id ?? ''),
  };
}
