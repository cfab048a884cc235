import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/core/errors.js';
import type { Budget } from '../../src/core/policy.js';
import { memoryRateStore, type Cell, type RateStore, type Returned } from '../../src/services/rate-store.js';
import { PasswordThrottle } from '../../src/services/throttle.js';
import { TokenRateLimiter } from '../../src/services/token-rate.js';

const SECOND = 1000;

class HandClock {
  constructor(public ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
}

/** The refusal a promise rejects with, or null when it resolves. */
async function refusal(run: () => Promise<unknown>): Promise<{ code: string; message: string; details: unknown } | null> {
  try {
    await run();
    return null;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
}

/** A store that records what it is asked, in front of a memory store. */
function recording(): RateStore & { taken: Cell[][]; returned: Returned[][] } {
  const inner = memoryRateStore();
  const taken: Cell[][] = [];
  const returned: Returned[][] = [];
  return {
    taken,
    returned,
    take: (cells, now) => (taken.push([...cells]), inner.take(cells, now)),
    giveBack: (cells) => (returned.push([...cells]), inner.giveBack(cells)),
  };
}

const own = (requests: number, perSeconds: number, key = 'tok_a'): Budget => ({ key, requests, perSeconds, own: true });
const above = (requests: number, perSeconds: number, key: string): Budget => ({ key, requests, perSeconds, own: false });

describe('a per-token rate limit', () => {
  it('is a cell of one interval per request and a burst of the rest', async () => {
    const store = recording();
    await new TokenRateLimiter(store, new HandClock()).consume([own(3, 60)]);
    expect(store.taken).toEqual([[{ key: 'tok_a', intervalMs: 20 * SECOND, burstMs: 40 * SECOND }]]);
  });

  it('admits its requests at once, then refuses with the whole seconds until one more, naming the limit', async () => {
    const clock = new HandClock();
    const limiter = new TokenRateLimiter(memoryRateStore(), clock);
    for (let i = 0; i < 3; i += 1) expect(await refusal(() => limiter.consume([own(3, 60)]))).toBeNull();
    expect(await refusal(() => limiter.consume([own(3, 60)]))).toEqual({
      code: 'rate_limited', message: 'this token allows 3 requests per 60 s', details: { retry_after: 20 },
    });
    clock.ms += 20 * SECOND - 1500;
    expect((await refusal(() => limiter.consume([own(3, 60)])))?.details).toEqual({ retry_after: 2 });
    clock.ms += 1500;
    expect(await refusal(() => limiter.consume([own(3, 60)]))).toBeNull();
    expect((await refusal(() => limiter.consume([own(3, 60)])))?.code).toBe('rate_limited');
  });

  it('asks a wait of at least one second, however close the next place is', async () => {
    const limiter = new TokenRateLimiter(memoryRateStore(), new HandClock());
    await limiter.consume([own(1000, 1)]);
    for (let i = 1; i < 1000; i += 1) await limiter.consume([own(1000, 1)]);
    expect((await refusal(() => limiter.consume([own(1000, 1)])))?.details).toEqual({ retry_after: 1 });
  });

  it('counts a use against every limit above the token, and says so when one of them refuses', async () => {
    const limiter = new TokenRateLimiter(memoryRateStore(), new HandClock());
    const budgets = [own(10, 60, 'tok_child'), above(2, 60, 'tok_parent')];
    await limiter.consume(budgets);
    await limiter.consume([above(2, 60, 'tok_parent')]);
    expect(await refusal(() => limiter.consume(budgets))).toEqual({
      code: 'rate_limited', message: 'this token, or a token above it, has used its rate limit for now', details: { retry_after: 30 },
    });
    // Only a limit above: the same words, since the token's own is not the one spent.
    expect((await refusal(() => limiter.consume([above(2, 60, 'tok_parent')])))?.message).toBe('this token, or a token above it, has used its rate limit for now');
    // The refused use spent nothing of the child's own limit.
    for (let i = 0; i < 9; i += 1) await limiter.consume([own(10, 60, 'tok_child')]);
    expect((await refusal(() => limiter.consume([own(10, 60, 'tok_child')])))?.message).toBe('this token allows 10 requests per 60 s');
  });
});

describe('the password throttle', () => {
  const limits = { maxFailuresPerAccount: 3, maxFailuresPerIp: 5, windowSeconds: 60 };

  it('takes a place in the account’s budget and the client’s, each of its limit per window', async () => {
    const store = recording();
    await new PasswordThrottle(limits, store, new HandClock()).begin('acc_1', '::ffff:198.51.100.7');
    expect(store.taken).toEqual([[
      { key: 'account:acc_1', intervalMs: 20 * SECOND, burstMs: 40 * SECOND },
      { key: 'ip:198.51.100.7', intervalMs: 12 * SECOND, burstMs: 48 * SECOND },
    ]]);
  });

  it('refuses the attempt past either limit, right or wrong, until a place frees', async () => {
    const clock = new HandClock();
    const throttle = new PasswordThrottle(limits, memoryRateStore(), clock);
    for (let i = 0; i < 3; i += 1) await throttle.begin('acc_1', '203.0.113.1');
    expect(await refusal(() => throttle.begin('acc_1', '203.0.113.2'))).toEqual({
      code: 'rate_limited', message: 'too many failed attempts; try again later', details: { retry_after: 20 },
    });
    // Another account from a fresh address is its own budget; the first client's budget has two places left.
    await throttle.begin('acc_2', '203.0.113.1');
    await throttle.begin('acc_3', '203.0.113.1');
    expect((await refusal(() => throttle.begin('acc_4', '203.0.113.1')))?.details).toEqual({ retry_after: 12 });
    clock.ms += 20 * SECOND;
    await throttle.begin('acc_1', '203.0.113.2');
  });

  it('on success clears the account’s budget and gives the client back its place', async () => {
    const store = recording();
    const throttle = new PasswordThrottle(limits, store, new HandClock());
    for (let i = 0; i < 2; i += 1) await throttle.begin('acc_1', '203.0.113.9');
    const attempt = await throttle.begin('acc_1', '203.0.113.9');
    await attempt.succeeded();
    expect(store.returned).toEqual([[
      { key: 'account:acc_1', intervalMs: 20 * SECOND, burstMs: 40 * SECOND, forget: true },
      { key: 'ip:203.0.113.9', intervalMs: 12 * SECOND, burstMs: 48 * SECOND },
    ]]);
    // The account's three places are whole again; the client has spent two of its five (three, one given back).
    for (let i = 0; i < 3; i += 1) await throttle.begin('acc_1', `198.51.100.${i}`);
    for (const account of ['acc_5', 'acc_6', 'acc_7']) await throttle.begin(account, '203.0.113.9');
    expect((await refusal(() => throttle.begin('acc_8', '203.0.113.9')))?.code).toBe('rate_limited');
  });
});
