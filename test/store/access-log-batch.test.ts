import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessLogBatch, entriesOf, ROWS_PER_BATCH, type AccessLogEntry } from '../../src/store/access-log-batch.js';

// Few distinct texts, so that entries share them as real traffic does; any text at all, too.
const text = fc.oneof(fc.constantFrom('', 'GET', '/v1/domains', '127.0.0.1'), fc.string({ unit: 'grapheme', maxLength: 40 }));
const entry: fc.Arbitrary<AccessLogEntry> = fc.record({
  at: fc.integer({ min: 0, max: 2 ** 47 }),
  status: fc.integer({ min: 100, max: 599 }),
  duration_ms: fc.double({ min: 0, max: 1e6, noNaN: true }),
  account_id: text, token_id: text, token_name: text, method: text, route: text, path: text, ip: text, user_agent: text,
  error_code: fc.option(text, { nil: null }),
  request_summary: text,
});

describe('access-log batch', () => {
  it('gives back every entry appended, in order, whatever its texts', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: ROWS_PER_BATCH }), (entries) => {
        const batch = new AccessLogBatch();
        for (const e of entries) batch.append(e);
        expect(batch.full).toBe(entries.length === ROWS_PER_BATCH);
        expect(entriesOf(structuredClone(batch.seal()))).toEqual(entries);
      }),
    );
  });

  it('stores a text that repeats once per batch', () => {
    const batch = new AccessLogBatch();
    const e: AccessLogEntry = {
      at: 1, status: 200, duration_ms: 0.5, account_id: 'acc', token_id: 'tok', token_name: 'ci', method: 'GET', route: '/v1/domains',
      path: '/v1/domains', ip: '127.0.0.1', user_agent: 'bot', error_code: null, request_summary: '',
    };
    for (let i = 0; i < 100; i += 1) batch.append(e);
    expect(batch.seal().strings).toEqual(['acc', 'tok', 'ci', 'GET', '/v1/domains', '127.0.0.1', 'bot', '']);
  });
});
