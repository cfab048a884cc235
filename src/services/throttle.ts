import type { Clock } from '../core/clock.js';
import { ApiError } from '../core/errors.js';
import { clientKeyOf } from '../core/ip-allowlist.js';
import type { Cell, RateStore } from './rate-store.js';

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
 * address however written, an IPv6 one by its /64: `clientKeyOf`), each a budget of its limit per
 * window that refills one place every window / limit.
 * Each attempt takes its place in both budgets before the password is checked, atomically (in
 * memory, or in Redis for every node), so that guesses sent at once cannot all pass the count
 * while the slow hash runs: of any number sent together, no more than the limit reach the hash.
 * When either budget is spent, every attempt, right or wrong, is refused with 429 until a place
 * frees. A success clears the account's budget and gives the address back its place.
 */
export class PasswordThrottle {
  constructor(private readonly limits: ThrottleLimits, private readonly store: RateStore, private readonly clock: Clock) {}

  private cell(key: string, limit: number): Cell {
    const intervalMs = (this.limits.windowSeconds * 1000) / limit;
    return { key, intervalMs, burstMs: intervalMs * (limit - 1) };
  }

  /** Takes a place for one password check; throws `rate_limited` (with `retry_after` seconds) when either budget is spent. */
  async begin(account: string, ip: string): Promise<PasswordAttempt> {
    const perAccount = this.cell(`account:${account}`, this.limits.maxFailuresPerAccount);
    const perClient = this.cell(`ip:${clientKeyOf(ip)}`, this.limits.maxFailuresPerIp);
    const wait = await this.store.take([perAccount, perClient], this.clock.now());
    if (wait > 0) throw new ApiError('rate_limited', 'too many failed attempts; try again later', { retry_after: Math.max(1, Math.ceil(wait / 1000)) });
    return { succeeded: () => this.store.giveBack([{ ...perAccount, forget: true }, perClient]) };
  }
}
