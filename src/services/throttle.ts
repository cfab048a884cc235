import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../core/errors.js';
import { clientKeyOf } from '../core/ip-allowlist.js';
import { memoryLimiters, type LimiterFactory } from './limits.js';

export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

/** A password check under way: spent as a failure unless it turns out right. */
export interface PasswordAttempt {
  succeeded(): Promise<void>;
}

/**
 * Failed password checks (logins and re-auths alike), counted per account and per client (its
 * address however written, an IPv6 one by its /64: `clientKeyOf`).
 * Each attempt takes its place in both counts before the password is checked, atomically (in
 * memory, or in Redis for every node), so that guesses sent at once cannot all pass the count
 * while the slow hash runs: of any number sent together, no more than the limit reach the hash.
 * When either count is spent, every attempt, right or wrong, is refused with 429 until the window
 * ends. A success clears the account's count and gives the address back its place.
 */
export class PasswordThrottle {
  private readonly perAccount: RateLimiterAbstract;
  private readonly perIp: RateLimiterAbstract;

  constructor(limits: ThrottleLimits, make: LimiterFactory = memoryLimiters) {
    this.perAccount = make(limits.maxFailuresPerAccount, limits.windowSeconds, 'pw-account');
    this.perIp = make(limits.maxFailuresPerIp, limits.windowSeconds, 'pw-ip');
  }

  /** Takes a place for one password check; throws `rate_limited` (with `retry_after` seconds) when either count is spent. */
  async begin(account: string, ip: string): Promise<PasswordAttempt> {
    const client = clientKeyOf(ip);
    const counts = [{ limiter: this.perAccount, key: account }, { limiter: this.perIp, key: client }];
    const taken = await Promise.allSettled(counts.map(({ limiter, key }) => limiter.consume(key, 1)));
    const refusals = taken.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (refusals.length > 0) {
      // A check that never ran is no failure: give back the place it took in the other count.
      await Promise.all(taken.map((result, i) => (result.status === 'fulfilled' ? counts[i]!.limiter.reward(counts[i]!.key, 1) : undefined)));
      const broken = refusals.find((reason) => !(reason instanceof RateLimiterRes));
      if (broken !== undefined) throw broken;
      const retryAfter = Math.max(1, Math.ceil(Math.max(...(refusals as RateLimiterRes[]).map((r) => r.msBeforeNext)) / 1000));
      throw new ApiError('rate_limited', 'too many failed attempts; try again later', { retry_after: retryAfter });
    }
    return {
      succeeded: async () => {
        await Promise.all([this.perAccount.delete(account), this.perIp.reward(client, 1)]);
      },
    };
  }
}
