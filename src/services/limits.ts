import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../core/errors.js';

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

export interface TokenRateLimit {
  requests: number;
  perSeconds: number;
}

/** The optional per-token limit (`rate_limit: {requests, per}`): 429 with Retry-After past it. */
export class TokenRateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly make: LimiterFactory) {}

  async consume(tokenId: string, limit: TokenRateLimit): Promise<void> {
    const key = `${limit.requests}/${limit.perSeconds}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = this.make(limit.requests, limit.perSeconds, `token-rate-${key}`);
      this.limiters.set(key, limiter);
    }
    try {
      await limiter.consume(tokenId, 1);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ApiError('rate_limited', `this token allows ${limit.requests} requests per ${limit.perSeconds} s`, { retry_after: retryAfter });
    }
  }
}
