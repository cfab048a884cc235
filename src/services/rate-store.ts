import { Redis } from 'ioredis';
import { gcraStep } from '../core/gcra.js';

/**
 * Budgets kept by the generic cell rate algorithm: each key keeps one instant, when its budget is
 * next whole again, and a use is admitted while that instant is less than a burst ahead. Per-token
 * rate limits and the password throttle each count in a store of their own (so that a flood of one
 * cannot push the other's keys out of a bounded memory), on the injected clock, so a test can move
 * time and watch a refusal end.
 */
export interface RateStore {
  /**
   * Admits one use against every one of `cells` at `now`, or against none: 0, or how many
   * milliseconds until all of them would admit it. Nothing is spent when one refuses.
   */
  take(cells: readonly Cell[], now: number): Promise<number>;
  /** Gives back one use of each cell taken earlier; `forget` gives back every use the key holds. */
  giveBack(cells: readonly Returned[]): Promise<void>;
}

/** A budget as the algorithm reads it. */
export interface Cell {
  key: string;
  intervalMs: number;
  burstMs: number;
}

export interface Returned {
  key: string;
  intervalMs: number;
  forget?: boolean;
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
 * One node's state, in memory, bounded: when full, the key used longest ago is forgotten (its
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
    async giveBack(cells) {
      for (const { key, intervalMs, forget } of cells) {
        const stored = state.get(key);
        if (stored !== undefined) state.set(key, forget ? 0 : stored - intervalMs);
      }
    },
  };
}

/** `take` in one script, so that every node counts the same budgets and a use takes all or none. */
const TAKE_LUA = `
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

/** `giveBack` in one script: an interval of -1 forgets the key. */
const GIVE_BACK_LUA = `
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i])
  if interval < 0 then
    redis.call('DEL', key)
  else
    local stored = tonumber(redis.call('GET', key))
    if stored then redis.call('SET', key, tostring(stored - interval), 'KEEPTTL') end
  end
end
return 0
`;

/**
 * State shared by every node through Redis, its keys under `prefix` (the deployment's, and what
 * counts there). Should Redis be unreachable, each node counts in its own memory rather than
 * refusing everyone or admitting everyone.
 */
export function redisRateStore(client: Redis, prefix: string, fallback: RateStore = memoryRateStore()): RateStore {
  const keyOf = (key: string) => `${prefix}:${key}`;
  return {
    async take(cells, now) {
      try {
        const args = cells.flatMap((cell) => [cell.intervalMs, cell.burstMs]);
        return Number(await client.eval(TAKE_LUA, cells.length, ...cells.map((cell) => keyOf(cell.key)), now, ...args));
      } catch {
        return fallback.take(cells, now);
      }
    },
    async giveBack(cells) {
      try {
        await client.eval(GIVE_BACK_LUA, cells.length, ...cells.map((cell) => keyOf(cell.key)), ...cells.map((cell) => (cell.forget ? -1 : cell.intervalMs)));
      } catch {
        await fallback.giveBack(cells);
      }
    },
  };
}

export function connectRedis(url: string): Redis {
  // Fail fast instead of queueing: each node counts in memory while Redis is away. The caller
  // connects once it can report a failure.
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
}
