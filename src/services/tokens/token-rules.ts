import { ApiError, invalidRequest } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import { compileAllowlist, normaliseAllowlist } from '../../core/ip-allowlist.js';
import type { TokenGrant } from '../../core/policy.js';
import { closure } from '../../core/scopes.js';
import type { TokenType } from '../../core/token-format.js';
import type { TokensTable } from '../../store/schema.js';
import type { Principal } from '../context.js';

/**
 * The rules that keep a token-minting token from granting more than it holds (SPEC §1 row 20),
 * and the parsing of the inputs they apply to. A session user has no ceiling: owners and admins
 * hold everything the plan allows.
 */

export function requireFreshAuth(principal: Principal, action: string): void {
  if (!principal.freshAuth) throw new ApiError('reauth_required', `confirm your password to ${action}`, { action });
}

const widen = (field: string, message: string): ApiError => new ApiError('forbidden', message, { field });

export function checkScopeCeiling(type: TokenType, scopes: readonly string[], ceiling: TokenGrant | null): void {
  if (!ceiling) return;
  for (const scope of closure(type, scopes)) {
    if (!ceiling.effective.has(scope)) {
      throw new ApiError('insufficient_scope', `a token cannot grant '${scope}', which it does not hold itself`, {
        field: 'scopes',
        scope,
      });
    }
  }
}

/** `undefined`: inherit the ceiling's constraint; `null`: every domain; else these domains. */
export function resolveDomains(
  requested: readonly string[] | null | undefined,
  existing: ReadonlySet<string>,
  ceiling: TokenGrant | null,
): string[] | null {
  if (requested === undefined) return ceiling?.domains ? [...ceiling.domains].sort() : null;
  if (requested === null) {
    if (ceiling?.domains) throw widen('domains', 'a domain-constrained token cannot create a token for every domain');
    return null;
  }
  if (requested.length === 0) throw invalidRequest('domains', 'give at least one domain id, or null for every domain');
  for (const id of requested) {
    // A domain outside the caller's constraint reads exactly like one that does not exist.
    if (!existing.has(id) || (ceiling?.domains && !ceiling.domains.has(id))) {
      throw invalidRequest('domains', `unknown domain '${id}'`, { value: id });
    }
  }
  return [...new Set(requested)].sort();
}

export function resolveAllowlist(requested: readonly string[] | null | undefined, ceiling: TokenGrant | null): string[] | null {
  const inherited = ceiling?.ipAllowlist ? [...ceiling.ipAllowlist.entries] : null;
  if (requested === undefined) return inherited;
  if (requested === null || requested.length === 0) {
    if (inherited) throw widen('ip_allowlist', 'a token with an IP allowlist cannot create a token without one');
    return null;
  }
  const entries = normaliseAllowlist(requested);
  if (ceiling?.ipAllowlist && !ceiling.ipAllowlist.covers(entries)) {
    throw widen('ip_allowlist', 'the IP allowlist must lie within the creating token’s own allowlist');
  }
  return entries;
}

export interface RateLimitInput {
  requests: number;
  per: string;
}

const MAX_RATE_WINDOW_SECONDS = 86_400;

/** Validates a per-token rate limit and returns it as stored: JSON, or null for none. */
export function storedRateLimit(input: RateLimitInput | null | undefined): string | null | undefined {
  if (input === undefined || input === null) return input;
  const seconds = parseDuration(input.per);
  if (seconds === null || seconds === 0 || seconds > MAX_RATE_WINDOW_SECONDS) {
    throw invalidRequest('rate_limit.per', 'rate_limit.per must be a duration from 1s to 1d, such as 1m');
  }
  return JSON.stringify({ requests: input.requests, per: input.per });
}

/** Reads `expires_in` or `expires_at`; `undefined` when neither is given. */
export function parseExpiry(
  input: { expires_in?: string | undefined; expires_at?: string | null | undefined },
  now: number,
): number | null | undefined {
  if (input.expires_in !== undefined && input.expires_at !== undefined) {
    throw invalidRequest('expires_in', 'give expires_in or expires_at, not both');
  }
  if (input.expires_in !== undefined) {
    if (input.expires_in === 'never') return null;
    const seconds = parseDuration(input.expires_in);
    if (seconds === null || seconds === 0) {
      throw invalidRequest('expires_in', 'expires_in must be a duration such as 7d, 30d, 90d, 12h, or "never"');
    }
    return now + seconds * 1000;
  }
  if (input.expires_at === undefined) return undefined;
  if (input.expires_at === null) return null;
  const at = Date.parse(input.expires_at);
  if (Number.isNaN(at)) throw invalidRequest('expires_at', 'expires_at must be an ISO-8601 date-time');
  if (at <= now) throw invalidRequest('expires_at', 'expires_at must be in the future');
  return at;
}

export function resolveExpiry(requested: number | null | undefined, ceiling: TokenGrant | null): number | null {
  const limit = ceiling?.expiresAt ?? null;
  if (requested === undefined) return limit;
  if (limit !== null && (requested === null || requested > limit)) {
    throw widen('expires_at', 'a token cannot create a token that outlives it');
  }
  return requested;
}

/** Whether a token lies within a ceiling: what a minting token may see and manage. */
export function withinCeiling(row: TokensTable, ceiling: TokenGrant): boolean {
  if (row.type === 'message') {
    if (!ceiling.effective.has('message_tokens:full')) return false;
  } else {
    if (row.type !== ceiling.type) return false;
    for (const scope of closure(ceiling.type, JSON.parse(row.scopes) as string[])) {
      if (!ceiling.effective.has(scope)) return false;
    }
  }
  if (ceiling.domains) {
    if (row.domains === null) return row.type === 'message';
    if (!(JSON.parse(row.domains) as string[]).every((id) => ceiling.domains!.has(id))) return false;
  }
  if (ceiling.ipAllowlist) {
    if (row.ip_allowlist === null || !ceiling.ipAllowlist.covers(JSON.parse(row.ip_allowlist) as string[])) return false;
  }
  if (ceiling.expiresAt !== null) {
    if (row.expires_at === null || Date.parse(row.expires_at) > ceiling.expiresAt) return false;
  }
  return true;
}

/** Whether a change gives a token access it did not have: such changes need a fresh password check. */
export function widensAccess(
  before: Pick<TokensTable, 'type' | 'scopes' | 'domains' | 'ip_allowlist'>,
  after: { scopes: string[]; domains: string[] | null; ipAllowlist: string[] | null },
): boolean {
  const type = before.type as TokenType;
  const old = closure(type, JSON.parse(before.scopes) as string[]);
  if ([...closure(type, after.scopes)].some((scope) => !old.has(scope))) return true;
  if (before.domains !== null) {
    const oldDomains = new Set(JSON.parse(before.domains) as string[]);
    if (after.domains === null || after.domains.some((id) => !oldDomains.has(id))) return true;
  }
  if (before.ip_allowlist !== null) {
    if (after.ipAllowlist === null) return true;
    if (!compileAllowlist(JSON.parse(before.ip_allowlist) as string[]).covers(after.ipAllowlist)) return true;
  }
  return false;
}
