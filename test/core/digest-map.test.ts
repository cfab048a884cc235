import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestMap } from '../../src/core/digest-map.js';
import { hashSecret } from '../../src/core/token-format.js';

/**
 * Digests that crowd together: few distinct leading characters (the home slot comes from them), so
 * probe runs are long, wrap around the table's end ('_' is all ones) and differ only late; and few
 * keys in all, so that gets and deletes find what earlier sets stored.
 */
const TAILS = Array.from({ length: 6 }, (_, i) => hashSecret(`tail ${i}`).slice(0, 38));
const crowdedDigest = fc
  .tuple(fc.constantFrom('AAAAA', 'AAAAB', 'AAAAC', '_____', '____-', 'zzzzz'), fc.constantFrom(...TAILS))
  .map(([head, tail]) => head + tail);

type Command =
  | { op: 'set'; key: string; value: number }
  | { op: 'get'; key: string }
  | { op: 'delete'; key: string }
  | { op: 'deleteWhere'; modulo: number }
  | { op: 'clear' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), key: crowdedDigest, value: fc.nat(100) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key: crowdedDigest }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key: crowdedDigest }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteWhere' as const), modulo: fc.integer({ min: 2, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

describe('DigestMap', () => {
  it('behaves exactly like a Map while under its bound, through collisions, wrap-around, deletions and growth', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 200 }), (commands) => {
        const map = new DigestMap<number>(100_000);
        const model = new Map<string, number>();
        for (const c of commands) {
          if (c.op === 'set') {
            expect(map.set(c.key, c.value)).toBe(true);
            model.set(c.key, c.value);
          } else if (c.op === 'get') {
            expect(map.get(c.key)).toBe(model.get(c.key));
          } else if (c.op === 'delete') {
            expect(map.delete(c.key)).toBe(model.delete(c.key));
          } else if (c.op === 'deleteWhere') {
            const doomed = [...model].filter(([, v]) => v % c.modulo === 0);
            expect(map.deleteWhere((v) => v % c.modulo === 0)).toBe(doomed.length);
            for (const [k] of doomed) model.delete(k);
          } else {
            map.clear();
            model.clear();
          }
          expect(map.size).toBe(model.size);
        }
        for (const [key, value] of model) expect(map.get(key)).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('finds an entry in its home slot right after a probe run that wrapped past the last slot', () => {
    // '_' is six one-bits, so this digest's home is the last slot; 'A' is zero, the first.
    const last = '_'.repeat(5) + TAILS[0];
    const first = 'A'.repeat(5) + TAILS[1];
    const map = new DigestMap<string>(100);
    map.set(last, 'last');
    map.set(first, 'first');
    map.delete(last);
    expect(map.get(first)).toBe('first');
  });

  it('holds real digests past several doublings', () => {
    // Fewer under mutation testing, whose instrumented code runs many times slower: still four doublings.
    const count = process.env.LATCHKEY_MUTATION === '1' ? 6_000 : 20_000;
    const map = new DigestMap<number>(1_000_000);
    const digests = Array.from({ length: count }, (_, i) => hashSecret(`token ${i}`));
    digests.forEach((digest, i) => map.set(digest, i));
    expect(map.size).toBe(count);
    digests.forEach((digest, i) => expect(map.get(digest)).toBe(i));
    expect(map.get(hashSecret(`token ${count}`))).toBeUndefined();
    digests.forEach((digest, i) => i % 2 === 0 && map.delete(digest));
    expect(map.size).toBe(count / 2);
    digests.forEach((digest, i) => expect(map.get(digest)).toBe(i % 2 === 0 ? undefined : i));
  });

  it('never exceeds its bound, keeps what was just added, and never answers with another key’s value', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(crowdedDigest, fc.nat()), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (pairs, bound) => {
        const map = new DigestMap<number>(bound);
        const latest = new Map<string, number>();
        for (const [key, value] of pairs) {
          map.set(key, value);
          latest.set(key, value);
          expect(map.size).toBeLessThanOrEqual(bound);
          expect(map.get(key)).toBe(value);
        }
        for (const [key, value] of latest) expect([undefined, value]).toContain(map.get(key));
      }),
    );
  });

  it('stores nothing under a string that is not a digest, and does not confuse one with a digest', () => {
    const map = new DigestMap<string>(10);
    const digest = 'A'.repeat(43);
    map.set(digest, 'real');
    for (const other of ['!' + 'A'.repeat(42), 'A'.repeat(42) + 'é', 'A'.repeat(42), 'A'.repeat(44), '']) {
      expect(map.set(other, 'fake')).toBe(false);
      expect(map.get(other)).toBeUndefined();
      expect(map.delete(other)).toBe(false);
    }
    expect(map.get(digest)).toBe('real');
    expect(map.size).toBe(1);
  });
});
