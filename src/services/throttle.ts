import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../core/errors.js';
import { memoryLimiters, type LimiterFactory } from './limits.js';

export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

/**
 * Failed password checks (logins and re-auths), counted per account and per client address. When
 * either count is spent, every attempt, right or wrong, is refused with 429 until the window ends,
 * so guessing cannot continue by luck. A success clears the account's count, not the address's.
 */
export class PasswordThrottle {
  private readonly perAccount: RateLimiterAbstract;
  private readonly perIp: RateLimiterAbstract;

  constructor(limits: ThrottleLimits, make: LimiterFactory = memoryLimiters) {
    this.perAccount = make(limits.maxFailuresPerAccount, limits.windowSeconds, 'pw-account');
    this.perIp = make(limits.maxFailuresPerIp, limits.windowSeconds, 'pw-ip');
  }

  /** Throws `rate_limited` (with `retry_after` seconds) when either count is spent. */
  async check(account: string, ip: string): Promise<void> {
    const [byAccount, byIp] = await Promise.all([this.perAccount.get(account), this.perIp.get(ip)]);
    const spent = [
      byAccount && byAccount.remainingPoints <= 0 ? byAccount : null,
      byIp && byIp.remainingPoints <= 0 ? byIp : null,
    ].filter((r): r is RateLimiterRes => r !== null);
    if (spent.length === 0) return;
    const retryAfter = Math.max(1, Math.ceil(Math.max(...spent.map((r) => r.msBeforeNext)) / 1000));
    throw new ApiError('rate_limited', 'too many failed attempts; try again later', { retry_after: retryAfter });
  }

  async failed(account: string, ip: string): Promise<void> {
    await Promise.all([this.perAccount.penalty(account, 1), this.perIp.penalty(ip, 1)]);
  }

  async succeeded(account: string): Promise<void> {
    await this.perAccount.delete(account);
  }
}
