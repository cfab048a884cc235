import type { Clock } from '../core/clock.js';
import { ApiError } from '../core/errors.js';
import type { Budget } from '../core/policy.js';
import type { RateStore } from './rate-store.js';

/**
 * Per-token rate limits (`rate_limit: {requests, per}`), by the generic cell rate algorithm (see
 * `rate-store.ts`): `requests` may come at once; after that, one every `per / requests`. The state
 * is the same whatever the limit's numbers, so changing a limit never gives a fresh budget, and no
 * window boundary lets twice the limit through. A use counts against the token's own limit and
 * against every limit above it, each kept per lineage, so minting children or rotating does not
 * multiply a budget or reset it.
 */
export class TokenRateLimiter {
  constructor(private readonly store: RateStore, private readonly clock: Clock) {}

  async consume(budgets: readonly Budget[]): Promise<void> {
    const cells = budgets.map((budget) => {
      const intervalMs = (budget.perSeconds * 1000) / budget.requests;
      return { key: budget.key, intervalMs, burstMs: intervalMs * (budget.requests - 1) };
    });
    const wait = await this.store.take(cells, this.clock.now());
    if (wait > 0) {
      const own = budgets[0]!;
      const message = own.own && budgets.length === 1
        ? `this token allows ${own.requests} requests per ${own.perSeconds} s`
        : 'this token, or a token above it, has used its rate limit for now';
      throw new ApiError('rate_limited', message, { retry_after: Math.max(1, Math.ceil(wait / 1000)) });
    }
  }
}
