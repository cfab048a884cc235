import type { PlanName } from './catalog.js';
import type { ErrorCode } from './errors.js';
import type { IpMatcher } from './ip-allowlist.js';
import type { TokenType } from './token-format.js';

/**
 * Everything the policy needs to know about a token, precompiled when it enters the verify cache
 * so that a decision is a handful of comparisons and set lookups.
 */
export interface TokenGrant {
  /** When the store was read for this grant, in ms from the reader's own epoch (see Verifier). */
  readonly loadedAt: number;
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly type: TokenType;
  readonly plan: PlanName;
  readonly planApiAccess: boolean;
  /** Granted scopes with implied ones added. */
  readonly granted: ReadonlySet<string>;
  /** `granted` cut to what the account's plan allows today. */
  readonly effective: ReadonlySet<string>;
  /** null: every domain of the account. A message token holds its mailbox's domain. */
  readonly domains: ReadonlySet<string> | null;
  /** Message tokens only: the one mailbox they are bound to. */
  readonly mailboxId: string | null;
  readonly ipAllowlist: IpMatcher | null;
  readonly revokedAt: number | null;
  readonly pausedAt: number | null;
  readonly expiresAt: number | null;
  /**
   * The rate limits a use of this token counts against: its own, and each limited token above it
   * (a limit covers the token and everything below it). Enforced by shared counters after the
   * decision, not by `decide`. Empty for most tokens.
   */
  readonly budgets: readonly Budget[];
  /** The one resource (its canonical URL) an OAuth access token is valid at; null: the platform API. */
  readonly audience: string | null;
}

/** One rate limit a use counts against, counted per lineage: a rotation does not reset it. */
export interface Budget {
  readonly key: string;
  readonly requests: number;
  readonly perSeconds: number;
  /** The token's own limit, or one of a token above it. */
  readonly own: boolean;
}

export interface Ask {
  /** The scope the request needs from a token of this type; null: no scope, undefined: the type may not. */
  scope: string | null | undefined;
  ip: string;
  now: number;
  /** The resource the token is presented to: the MCP endpoint's canonical URL, or null for the platform API. */
  audience: string | null;
  domainId?: string | null;
  mailboxId?: string | null;
}

export interface Denial {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type TokenStatus = 'active' | 'paused' | 'expired' | 'revoked';

export function statusOf(
  token: { revokedAt: number | null; expiresAt: number | null; pausedAt: number | null },
  now: number,
): TokenStatus {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  if (token.pausedAt !== null) return 'paused';
  return 'active';
}

const deny = (code: ErrorCode, message: string, details?: Record<string, unknown>): Denial =>
  details ? { code, message, details } : { code, message };

/** One decision for every way a token is used: the platform API's auth hook and `/v1/verify`. */
export function decide(grant: TokenGrant, ask: Ask): Denial | null {
  if (grant.revokedAt !== null) return deny('token_revoked', 'this token has been revoked');
  if (grant.expiresAt !== null && grant.expiresAt <= ask.now) return deny('token_expired', 'this token has expired');
  if (grant.pausedAt !== null) return deny('token_paused', 'this token is paused');
  if (grant.audience !== null && grant.audience !== ask.audience) return deny('unauthorized', 'this token was issued for another resource');
  if (!grant.planApiAccess) {
    return deny('plan_restricted', `the ${grant.plan} plan has no API access`, { plan: grant.plan });
  }
  if (grant.ipAllowlist !== null && !grant.ipAllowlist.allows(ask.ip)) {
    return deny('ip_not_allowed', 'this token may not be used from this IP address', { ip: ask.ip });
  }
  if (ask.scope === undefined) {
    return deny('forbidden', `${grant.type} tokens cannot use this endpoint`, { token_type: grant.type });
  }
  if (ask.scope !== null && !grant.effective.has(ask.scope)) {
    return grant.granted.has(ask.scope)
      ? deny('plan_restricted', `scope '${ask.scope}' is not available on the ${grant.plan} plan`, {
          scope: ask.scope,
          plan: grant.plan,
        })
      : deny('insufficient_scope', `this token lacks the '${ask.scope}' scope`, { scope: ask.scope });
  }
  if (ask.domainId != null && !seesDomain(grant, ask.domainId)) return deny('not_found', 'domain not found');
  if (ask.mailboxId != null && !seesMailbox(grant, ask.mailboxId)) return deny('not_found', 'mailbox not found');
  return null;
}

/** A constrained token sees other domains as nonexistent. */
export const seesDomain = (grant: TokenGrant, domainId: string): boolean =>
  grant.domains === null || grant.domains.has(domainId);

export const seesMailbox = (grant: TokenGrant, mailboxId: string): boolean =>
  grant.mailboxId === null || grant.mailboxId === mailboxId;
