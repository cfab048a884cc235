import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Makes a counter of `points` per `durationSeconds`, keyed under `keyPrefix`. */
export type LimiterFactory = (points: number, durationSeconds: number, keyPrefix: string) => RateLimiterAbstract;

export const memoryLimiters: LimiterFactory = (points, duration, keyPrefix) => new RateLimiterMemory({ points, duration, keyPrefix });

/**
 * Counters shared by every node through Redis. Should Redis be unreachable, each node falls back
 * to counting in its own memory rather than refusing everyone or admitting everyone.
 */
export function redisLimiters(client: Redis, prefix: string): LimiterFactory {
  return (points, duration, keyPrefix) =>
    new RateLimiterRedis({
      storeClient: client,
      points,
      duration,
      keyPrefix: `${prefix}:${keyPrefix}`,
      insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
    });
}

export function connectRedis(url: string): Redis {
  // Fail fast instead of queueing: the insurance limiter takes over while Redis is away. The
  // caller connects once it can report a failure.
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
}
