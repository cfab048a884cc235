import { LATEST_INSTANT } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { ApiError, invalidRequest } from '../../core/errors.js';
import { normaliseAllowlist } from '../../core/ip-allowlist.js';
import type { Principal } from '../context.js';
import type { StoredRateLimit } from '../../store/token-codec.js';

/**
 * What a request asks of a token, read and normalised: expiry, domains, allowlist, rate limit.
 * An omitted constraint is inherited from the acting token; whether the result lies inside the
 * actor is the authority rule's question (`core/authority.ts`), asked after this.
 */

export function requireFreshAuth(principal: Principal, action: string): void {
  if (!principal.freshAuth) throw new ApiError('reauth_required', `confirm your password to ${action}`, { action });
}

export interface RateLimitInput {
  requests: number;
  per: string;
}

const MAX_RATE_WINDOW_SECONDS = 86_400;

/** Validates a per-token rate limit and returns it as stored, or null for none. */
export function storedRateLimit(input: RateLimitInput | null | undefined): StoredRateLimit | null | undefined {
  if (input === undefined || input === null) return input;
  const seconds = parseDuration(input.per);
  if (seconds === null || seconds === 0 || seconds > MAX_RATE_WINDOW_SECONDS) {
    throw invalidRequest('rate_limit.per', 'rate_limit.per must be a duration from 1s to 1d, such as 1m');
  }
  return { requests: input.requests, per: input.per };
}

/** `undefined`: inherit the acting token's limit; `null`: none; else this one. */
export const resolveRateLimit = (requested: RateLimitInput | null | undefined, inherited: StoredRateLimit | null): StoredRateLimit | null =>
  requested === undefined ? inherited : storedRateLimit(requested)!;

const describeSeconds = (seconds: number): string => (seconds % 86_400 === 0 ? `${seconds / 86_400} days` : `${seconds} seconds`);

/**
 * Reads `expires_in` or `expires_at`; `undefined` when neither is given. Refuses instants past
 * year 9999, and, when the deployment sets a maximum lifetime, "never" and anything beyond it.
 */
export function parseExpiry(
  input: { expires_in?: string | undefined; expires_at?: string | null | undefined },
  now: number,
  maxLifetimeSeconds: number | null,
): number | null | undefined {
  if (input.expires_in !== undefined && input.expires_at !== undefined) {
    throw invalidRequest('expires_in', 'give expires_in or expires_at, not both');
  }
  const field = input.expires_in !== undefined ? 'expires_in' : 'expires_at';
  let at: number | null;
  if (input.expires_in !== undefined) {
    const seconds = input.expires_in === 'never' ? null : parseDuration(input.expires_in);
    if (seconds === 0 || (seconds === null && input.expires_in !== 'never')) {
      throw invalidRequest('expires_in', 'expires_in must be a duration such as 7d, 30d, 90d, 12h, or "never"');
    }
    at = seconds === null ? null : now + seconds * 1000;
  } else {
    if (input.expires_at === undefined) return undefined;
    at = input.expires_at === null ? null : Date.parse(input.expires_at);
    if (at !== null && Number.isNaN(at)) throw invalidRequest('expires_at', 'expires_at must be an ISO-8601 date-time');
    if (at !== null && at <= now) throw invalidRequest('expires_at', 'expires_at must be in the future');
  }
  if (at === null) {
    if (maxLifetimeSeconds !== null) {
      throw invalidRequest(field, `this deployment requires tokens to expire, within ${describeSeconds(maxLifetimeSeconds)}`, { max_lifetime_seconds: maxLifetimeSeconds });
    }
    return null;
  }
  if (at > LATEST_INSTANT) throw invalidRequest(field, `${field} lies beyond 9999-12-31, the latest expiry there is`);
  if (maxLifetimeSeconds !== null && at > now + maxLifetimeSeconds * 1000) {
    throw invalidRequest(field, `this deployment lets tokens live at most ${describeSeconds(maxLifetimeSeconds)}`, { max_lifetime_seconds: maxLifetimeSeconds });
  }
  return at;
}

/** The expiry of a token whose request named none: the acting token's, or the deployment's maximum. */
export function defaultExpiry(inherited: number | null, now: number, maxLifetimeSeconds: number | null): number | null {
  const latest = maxLifetimeSeconds === null ? null : Math.min(now + maxLifetimeSeconds * 1000, LATEST_INSTANT);
  if (inherited === null) return latest;
  return latest === null ? inherited : Math.min(inherited, latest);
}

/**
 * `undefined`: inherit the acting token's constraint; `null`: every domain; else these domains,
 * each of which must exist (live, in this account).
 */
export function resolveDomains(requested: readonly string[] | null | undefined, existing: ReadonlySet<string>, inherited: ReadonlySet<string> | null): string[] | null {
  if (requested === undefined) return inherited ? [...inherited].sort() : null;
  if (requested === null) return null;
  if (requested.length === 0) throw invalidRequest('domains', 'give at least one domain id, or null for every domain');
  for (const id of requested) {
    if (!existing.has(id)) throw invalidRequest('domains', `unknown domain '${id}'`, { value: id });
  }
  return [...new Set(requested)].sort();
}

/** `undefined`: inherit; `null` or empty: no allowlist; else these entries, in canonical form. */
export function resolveAllowlist(requested: readonly string[] | null | undefined, inherited: readonly string[] | null): string[] | null {
  if (requested === undefined) return inherited ? [...inherited] : null;
  if (requested === null || requested.length === 0) return null;
  return normaliseAllowlist(requested);
}
