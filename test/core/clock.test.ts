import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iso } from '../../src/core/clock.js';

describe('iso', () => {
  it('is toISOString for any time, in any order of calls', () => {
    const time = fc.integer({ min: -8.64e15, max: 8.64e15 });
    fc.assert(fc.property(fc.array(time, { maxLength: 20 }), fc.integer({ min: 0, max: 5000 }), (times, step) => {
      for (const ms of times.flatMap((t) => [t, t + step, t + 1])) {
        if (Math.abs(ms) <= 8.64e15) expect(iso(ms)).toBe(new Date(ms).toISOString());
      }
    }));
  });
});
