import type { Clock } from '../core/clock.js';
import { ApiError } from '../core/errors.js';
import { decide, type Denial, type TokenGrant } from '../core/policy.js';
import type { TokenType } from '../core/token-format.js';
import type { TokenRateLimiter } from './limits.js';
import type { UsageRecorder } from './usage.js';
import type { Verifier } from './verifier.js';

export interface TokenGateDeps {
  verifier: Verifier;
  clock: Clock;
  usage: UsageRecorder;
  rateLimiter: TokenRateLimiter;
  onDecision?: (result: string) => void;
}

export interface TokenCheck {
  /**
   * The scope needed: one for every token type, or one per type (a type that is absent may not
   * use the route). null: no scope.
   */
  scope: string | null | Partial<Record<TokenType, string | null>>;
  /** The client address; null when the asking service did not say (an allowlist then refuses). */
  ip: string | null;
  domainId?: string | null;
}

/** `grant` is set whenever the token was recognised, even if it was then refused. */
export type GateResult = { grant: TokenGrant | null; denial: Denial | null };

const UNKNOWN: GateResult = { grant: null, denial: { code: 'unauthorized', message: 'a valid token or session is required' } };

/**
 * The one path a token takes, whether a platform route or another service (`/v1/verify`) asks:
 * resolve it, decide, count it against its rate limit, and record the use.
 */
export class TokenGate {
  constructor(private readonly deps: TokenGateDeps) {}

  async check(secret: string, check: TokenCheck): Promise<GateResult> {
    const resolved = this.deps.verifier.resolve(secret);
    const grant = resolved instanceof Promise ? await resolved : resolved;
    if (grant === null) return UNKNOWN;
    const scope = check.scope === null || typeof check.scope === 'string' ? check.scope : check.scope[grant.type];
    let denial = decide(grant, { scope, ip: check.ip ?? '', now: this.deps.clock.now(), domainId: check.domainId ?? null });
    if (denial === null && grant.rateLimit !== null) {
      try {
        await this.deps.rateLimiter.consume(grant.id, grant.rateLimit);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        denial = { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
      }
    }
    this.deps.onDecision?.(denial === null ? 'ok' : denial.code);
    if (denial === null) this.deps.usage.touch(grant.id, check.ip);
    return { grant, denial };
  }
}
