import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcraStep } from '../../src/core/gcra.js';

/** Runs uses at `times` against `requests` per `perMs`; returns the instants admitted. */
function admitted(times: number[], requests: number, perMs: number): number[] {
  const interval = perMs / requests;
  let stored: number | undefined;
  const out: number[] = [];
  for (const now of times) {
    const { next } = gcraStep(stored, now, interval, interval * (requests - 1));
    if (next !== null) {
      stored = next;
      out.push(now);
    }
  }
  return out;
}

describe('the rate algorithm', () => {
  it('admits a burst of the limit at once, then one each interval, and says how long to wait', () => {
    expect(admitted([0, 0, 0, 0], 3, 60_000)).toEqual([0, 0, 0]);
    expect(gcraStep(60_000, 0, 20_000, 40_000)).toEqual({ wait: 20_000, next: null });
    expect(admitted([0, 0, 0, 0, 19_999, 20_000, 20_001], 3, 60_000)).toEqual([0, 0, 0, 20_000]);
  });

  it('never lets more through over any span than the burst and the rate allow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1_000, max: 3_600_000 }), fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 300 }), (requests, perMs, raw) => {
        const times = [...raw].sort((a, b) => a - b);
        const ok = admitted(times, requests, perMs);
        if (ok.length === 0) return true;
        const span = ok[ok.length - 1]! - ok[0]!;
        return ok.length <= requests + (span * requests) / perMs + 1e-9;
      }),
    );
  });
});
