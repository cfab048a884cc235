import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { ApiError } from '../core/errors.js';
import { gcraStep } from '../core/gcra.js';
import type { Budget } from '../core/policy.js';

/**
 * Per-token rate limits (`rate_limit: {requests, per}`), by the generic cell rate algorithm: each
 * lineage keeps one instant, when its budget is next whole again, and a use is admitted while
 * that instant is less than one window ahead. `requests` may come at once; after that, one every
 * `per / requests`. The state is the same whatever the limit's numbers, so changing a limit never
 * gives a fresh budget, and no window boundary lets twice the limit through.
 */
export interface RateStore {
  /**
   * Admits one use against every one of `budgets` at `now`, or against none: 0, or how many
   * milliseconds until all of them would admit it. Nothing is spent when one refuses.
   */
  take(budgets: readonly Cell[], now: number): Promise<number>;
}

/** A budget as the algorithm reads it. */
export interface Cell {
  key: string;
  intervalMs: number;
  burstMs: number;
}

/** All of `cells` against `read` state, or none: how long to wait, and what to write when admitted. */
function takeAll(cells: readonly Cell[], now: number, read: (key: string) => number | undefined): { wait: number; writes: [string, number][] } {
  const writes: [string, number][] = [];
  let wait = 0;
  for (const cell of cells) {
    const step = gcraStep(read(cell.key), now, cell.intervalMs, cell.burstMs);
    if (step.next === null) wait = Math.max(wait, step.wait);
    else writes.push([cell.key, step.next]);
  }
  return wait > 0 ? { wait, writes: [] } : { wait: 0, writes };
}

/**
 * One node's state, in memory, bounded: when full, the lineage used longest ago is forgotten (its
 * instant has most likely passed, and an instant in the past is as good as none).
 */
export function memoryRateStore(maxKeys = 1_000_000): RateStore {
  const state = new Map<string, number>();
  return {
    async take(cells, now) {
      const { wait, writes } = takeAll(cells, now, (key) => state.get(key));
      for (const [key, next] of writes) {
        state.delete(key);
        if (state.size >= maxKeys) state.delete(state.keys().next().value!);
        state.set(key, next);
      }
      return wait;
    },
  };
}

/** The same in Redis, in one script, so that every node counts the same budgets and a use takes all or none. */
const GCRA_LUA = `
local now = tonumber(ARGV[1])
local wait, due = 0, {}
for i, key in ipairs(KEYS) do
  local interval, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local stored = tonumber(redis.call('GET', key))
  local at = now
  if stored and stored > now then at = stored end
  if at - burst > now then
    if at - burst - now > wait then wait = at - burst - now end
  else
    due[i] = at + interval
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(due[i]), 'PX', math.ceil(due[i] - now) + 1000)
end
return '0'
`;

/**
 * State shared by every node through Redis. Should Redis be unreachable, each node counts in its
 * own memory rather than refusing everyone or admitting everyone.
 */
export function redisRateStore(client: Redis, prefix: string, fallback: RateStore = memoryRateStore()): RateStore {
  return {
    async take(cells, now) {
      try {
        const keys = cells.map((cell) => `${prefix}:token-rate:${cell.key}`);
        const args = cells.flatMap((cell) => [cell.intervalMs, cell.burstMs]);
        return Number(await client.eval(GCRA_LUA, keys.length, ...keys, now, ...args));
      } catch {
        return fallback.take(cells, now);
      }
    },
  };
}

/**
 * A use counts against the token's own limit and against every limit above it, each kept per
 * lineage, so minting children or rotating does not multiply a budget or reset it.
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
