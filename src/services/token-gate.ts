import type { Clock } from '../core/clock.js';
import { ApiError } from '../core/errors.js';
import { decide, type Denial, type TokenGrant } from '../core/policy.js';
import type { TokenType } from '../core/token-format.js';
import type { DomainDirectory } from './domain-directory.js';
import type { TokenRateLimiter } from './token-rate.js';
import type { UsageRecorder } from './usage.js';
import type { Verifier } from './verifier.js';

export interface TokenGateDeps {
  verifier: Verifier;
  clock: Clock;
  usage: UsageRecorder;
  rateLimiter: TokenRateLimiter;
  domains: DomainDirectory;
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
  /** The resource the token is presented to (`Ask.audience`): null for the platform API. */
  audience: string | null;
  /** A domain the request acts on: it must be a live domain of the token's account, inside its constraint. */
  domainId?: string | null;
}

/** `grant` is set whenever the token was recognised, even if it was then refused. */
export type GateResult = { grant: TokenGrant | null; denial: Denial | null };

const UNKNOWN: GateResult = { grant: null, denial: { code: 'unauthorized', message: 'a valid token or session is required' } };
/** The same answer a domain outside the token's constraint gets (`decide`): absent is absent. */
const NO_SUCH_DOMAIN: Denial = { code: 'not_found', message: 'domain not found' };

/**
 * The one path a token takes, whether a platform route or another service (`/v1/verify`) asks:
 * resolve it, decide, count it against its rate limit, and record the use. A cached token without
 * a rate limit is answered synchronously: the common case allocates no promise and waits for no
 * turn of the event loop.
 */
export class TokenGate {
  constructor(private readonly deps: TokenGateDeps) {}

  check(secret: string, check: TokenCheck): GateResult | Promise<GateResult> {
    const resolved = this.deps.verifier.resolve(secret);
    return resolved instanceof Promise ? resolved.then((grant) => this.decideFor(grant, check)) : this.decideFor(resolved, check);
  }

  private decideFor(grant: TokenGrant | null, check: TokenCheck): GateResult | Promise<GateResult> {
    if (grant === null) return UNKNOWN;
    const scope = check.scope === null || typeof check.scope === 'string' ? check.scope : check.scope[grant.type];
    const denial = decide(grant, { scope, ip: check.ip ?? '', now: this.deps.clock.now(), audience: check.audience, domainId: check.domainId ?? null });
    if (denial === null && check.domainId != null) {
      const live = this.deps.domains.isLiveIn(grant.accountId, check.domainId);
      if (live instanceof Promise) return live.then((found) => this.admitted(grant, found ? null : NO_SUCH_DOMAIN, check.ip));
      return this.admitted(grant, live ? null : NO_SUCH_DOMAIN, check.ip);
    }
    return this.admitted(grant, denial, check.ip);
  }

  private admitted(grant: TokenGrant, denial: Denial | null, ip: string | null): GateResult | Promise<GateResult> {
    if (denial === null && grant.budgets.length > 0) return this.limited(grant, ip);
    return this.settle(grant, denial, ip);
  }

  private async limited(grant: TokenGrant, ip: string | null): Promise<GateResult> {
    return this.settle(grant, await this.chargeAgain(grant), ip);
  }

  /**
   * One more use, against its rate limit, of a grant this request already admitted: each further
   * call of a batch that carries several (an MCP batch of tool calls) costs what a request costs.
   */
  async chargeAgain(grant: TokenGrant): Promise<Denial | null> {
    if (grant.budgets.length === 0) return null;
    try {
      await this.deps.rateLimiter.consume(grant.budgets);
      return null;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
    }
  }

  private settle(grant: TokenGrant, denial: Denial | null, ip: string | null): GateResult {
    this.deps.onDecision?.(denial === null ? 'ok' : denial.code);
    if (denial === null) this.deps.usage.touch(grant.id, ip);
    return { grant, denial };
  }
}
