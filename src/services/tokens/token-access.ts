import { rateLimitWithin, type Access, type RateLimit } from '../../core/access.js';
import type { TokenPlace } from '../../core/authority.js';
import { parseDuration } from '../../core/duration.js';
import { compileAllowlist, intersectAllowlists } from '../../core/ip-allowlist.js';
import type { LifecycleFacts } from '../../core/lifecycle.js';
import { closure, narrowScopes } from '../../core/scopes.js';
import { specOf, type AccessSpec, type StoredRateLimit, type TokenRecord } from '../../store/token-codec.js';

export { specOf, type AccessSpec };

// A token record as the authority rule and the lifecycle table read it.

/** A stored rate limit as the rules compare it. */
export function parseRateLimit(limit: StoredRateLimit | null): RateLimit | null {
  if (limit === null) return null;
  return { requests: limit.requests, perSeconds: parseDuration(limit.per) ?? 1 };
}

export function accessOfSpec(spec: AccessSpec): Access {
  return {
    type: spec.type,
    scopes: closure(spec.type, spec.scopes),
    domains: spec.domains === null ? null : new Set(spec.domains),
    ipAllowlist: spec.ipAllowlist === null ? null : compileAllowlist(spec.ipAllowlist),
    expiresAt: spec.expiresAt,
    rateLimit: parseRateLimit(spec.rateLimit),
  };
}

export const accessOf = (row: TokenRecord): Access => accessOfSpec(specOf(row));

export const placeOf = (row: TokenRecord): TokenPlace => ({
  id: row.id,
  lineageId: row.lineage_id,
  ancestry: row.ancestry,
  supersededBy: row.rotated_to,
  type: row.type,
});

/** A deleted token is gone for good: it counts as revoked even before a purge removes it. */
export const factsOf = (row: TokenRecord): LifecycleFacts => ({
  revokedAt: row.revoked_at ?? row.deleted_at,
  expiresAt: row.expires_at,
  pausedAt: row.paused_at,
  supersededBy: row.rotated_to,
});

/**
 * `inner` cut down to lie inside `outer`, dimension by dimension: the scopes both hold, the domains
 * and addresses both allow, the earlier expiry, and `outer`'s rate limit when `inner`'s is looser.
 */
export function narrowedInto(inner: AccessSpec, outer: AccessSpec): AccessSpec {
  const intersect = (a: readonly string[] | null, b: readonly string[] | null, both: (x: readonly string[], y: readonly string[]) => string[]) =>
    b === null ? a : a === null ? [...b] : both(a, b);
  return {
    type: inner.type,
    scopes: narrowScopes(inner.type, inner.scopes, closure(outer.type, outer.scopes), outer.type),
    domains: intersect(inner.domains, outer.domains, (a, b) => a.filter((id) => b.includes(id))),
    ipAllowlist: intersect(inner.ipAllowlist, outer.ipAllowlist, intersectAllowlists),
    expiresAt: outer.expiresAt === null ? inner.expiresAt : inner.expiresAt === null ? outer.expiresAt : Math.min(inner.expiresAt, outer.expiresAt),
    rateLimit: meetOfLimits(inner.rateLimit, outer.rateLimit),
  };
}

/**
 * The loosest limit inside both: either one when it lies inside the other, else the smaller burst
 * at the lower of the two rates (rounded to whole seconds, the slower way).
 */
function meetOfLimits(inner: StoredRateLimit | null, outer: StoredRateLimit | null): StoredRateLimit | null {
  const a = parseRateLimit(inner);
  const b = parseRateLimit(outer);
  if (rateLimitWithin(a, b)) return inner;
  if (rateLimitWithin(b, a)) return outer;
  const x = a!;
  const y = b!;
  const requests = Math.min(x.requests, y.requests);
  const perSeconds = Math.max(Math.ceil((requests * x.perSeconds) / x.requests), Math.ceil((requests * y.perSeconds) / y.requests));
  return { requests, per: `${perSeconds}s` };
}

/** Whether nothing is left of an access: no scope, or no domain or address it may be used on. */
export const isEmpty = (spec: AccessSpec): boolean =>
  spec.scopes.length === 0 || (spec.domains !== null && spec.domains.length === 0) || (spec.ipAllowlist !== null && spec.ipAllowlist.length === 0);
