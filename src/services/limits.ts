import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../core/errors.js';
import type { Budget } from '../core/policy.js';

/** Makes a counter of `points` per `durationSeconds`, keyed under `keyPrefix`. */
export type LimiterFactory = (points: number, durationSeconds: number, keyPrefix: string) => RateLimiterAbstract;

export const memoryLimiters: LimiterFactory = (points, duration, keyPrefix) => new RateLimiterMemory({ points, duration, keyPrefix });

/**
 * Counters shared by every node through Redis. Should Redis be unreachable, each node falls back
 * to counting in its own memory rather than refusing everyone or admitting everyone.
 */
export function redisLimiters(client: Redis): LimiterFactory {
  return (points, duration, keyPrefix) =>
    new RateLimiterRedis({
      storeClient: client,
      points,
      duration,
      keyPrefix: `latchkey:${keyPrefix}`,
      insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
    });
}

export function connectRedis(url: string): Redis {
  // Fail fast instead of queueing: the insurance limiter takes over while Redis is away. The
  // caller connects once it can report a failure.
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
}

/**
 * Per-token rate limits (`rate_limit: {requests, per}`): 429 with Retry-After past one. A use
 * counts against the token's own limit and against every limit above it, each counted per lineage,
 * so minting children or rotating does not multiply a budget or reset it.
 */
export class TokenRateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly make: LimiterFactory) {}

  private limiterFor(budget: Budget): RateLimiterAbstract {
    const key = `${budget.requests}/${budget.perSeconds}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = this.make(budget.requests, budget.perSeconds, `token-rate-${key}`);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  async consume(budgets: readonly Budget[]): Promise<void> {
    for (const budget of budgets) {
      try {
        await this.limiterFor(budget).consume(budget.key, 1);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        const whose = budget.own ? 'this token allows' : 'a token above this one allows, for itself and everything below it,';
        throw new ApiError('rate_limited', `${whose} ${budget.requests} requests per ${budget.perSeconds} s`, { retry_after: retryAfter });
      }
    }
  }
}
