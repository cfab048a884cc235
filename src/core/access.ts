import type { IpMatcher } from './ip-allowlist.js';
import type { TokenType } from './token-format.js';

/**
 * What a token lets its holder do, in the five dimensions the authority rule compares: which
 * scopes, on which domains, from which addresses, until when, and how often.
 */
export interface RateLimit {
  readonly requests: number;
  readonly perSeconds: number;
}

export interface Access {
  readonly type: TokenType;
  /** Granted scopes with the ones they imply added (the plan cuts what is used, not what is held). */
  readonly scopes: ReadonlySet<string>;
  /** null: every domain of the account. */
  readonly domains: ReadonlySet<string> | null;
  readonly ipAllowlist: IpMatcher | null;
  /** Milliseconds since the epoch; null: never expires. */
  readonly expiresAt: number | null;
  readonly rateLimit: RateLimit | null;
}

/** The first way in which one access allows more than another, or null when it lies inside. */
export type Widening =
  /** `needs`: the scope of the outer type that grants `scope` (the same scope when the types match). */
  | { dimension: 'scopes'; scope: string; needs: string }
  | { dimension: 'domains'; domain: string | null }
  | { dimension: 'ip_allowlist' }
  | { dimension: 'expires_at' }
  | { dimension: 'rate_limit' };

/**
 * The scope a holder of `outerType` needs to hold for a token of `innerType` to carry `scope`:
 * a message token's `messages:send` comes from the api scope that sends (`submission:full`).
 * null: no scope of that type grants it.
 */
const MESSAGE_SCOPE_SOURCE: Readonly<Record<string, string>> = { 'messages:read': 'messages:read', 'messages:send': 'submission:full' };

export function sourceScope(innerType: TokenType, scope: string, outerType: TokenType): string | null {
  if (innerType === outerType) return scope;
  if (innerType === 'message' && outerType === 'api') return MESSAGE_SCOPE_SOURCE[scope] ?? null;
  return null;
}

/**
 * A limit is no more permissive than another when it allows no more requests in one window and
 * no higher rate over time: 10/1s lies inside 6000/1m, but 6000/1m does not lie inside 100/1s,
 * since all 6000 may come in one second. No limit is the most permissive of all.
 */
export function rateLimitWithin(inner: RateLimit | null, outer: RateLimit | null): boolean {
  if (outer === null) return true;
  if (inner === null) return false;
  return inner.requests <= outer.requests && inner.requests * outer.perSeconds <= outer.requests * inner.perSeconds;
}

export function firstWidening(inner: Access, outer: Access): Widening | null {
  for (const scope of inner.scopes) {
    const needed = sourceScope(inner.type, scope, outer.type);
    if (needed === null || !outer.scopes.has(needed)) return { dimension: 'scopes', scope, needs: needed ?? scope };
  }
  if (outer.domains !== null) {
    if (inner.domains === null) return { dimension: 'domains', domain: null };
    for (const domain of inner.domains) if (!outer.domains.has(domain)) return { dimension: 'domains', domain };
  }
  if (outer.ipAllowlist !== null && (inner.ipAllowlist === null || !outer.ipAllowlist.covers(inner.ipAllowlist.entries))) {
    return { dimension: 'ip_allowlist' };
  }
  if (outer.expiresAt !== null && (inner.expiresAt === null || inner.expiresAt > outer.expiresAt)) return { dimension: 'expires_at' };
  if (!rateLimitWithin(inner.rateLimit, outer.rateLimit)) return { dimension: 'rate_limit' };
  return null;
}
