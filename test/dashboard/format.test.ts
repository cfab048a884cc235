import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDay } from '../../dashboard/src/format.js';

const ZONE = process.env.TZ;
afterAll(() => {
  if (ZONE === undefined) delete process.env.TZ;
  else process.env.TZ = ZONE;
});

/** The calendar date of an instant where the test runs, as text. */
const dateOf = (ms: number) => new Date(ms).toLocaleDateString('en-CA');

describe('relative days, as the dashboard says them', () => {
  for (const zone of ['UTC', 'America/New_York', 'Pacific/Auckland']) {
    it(`says "today" only for today's date and "tomorrow" for tomorrow's, however few hours away (${zone})`, () => {
      process.env.TZ = zone;
      const day = 86_400_000;
      fc.assert(fc.property(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }), fc.integer({ min: -40 * day, max: 40 * day }), (now, offset) => {
        const then = now + offset;
        const said = relativeDay(new Date(then).toISOString(), now);
        const tomorrow = dateOf(new Date(now).setHours(36, 0, 0, 0));
        if (dateOf(then) === dateOf(now)) expect(said).toBe('today');
        else if (dateOf(then) === tomorrow) expect(said).toBe('tomorrow');
        else expect(said).not.toMatch(/^(today|tomorrow)$/);
        if (offset > 0) expect(said).not.toMatch(/ago|yesterday/);
      }));
    });
  }

  it('counts calendar days, not 24-hour spans', () => {
    process.env.TZ = 'UTC';
    const now = Date.UTC(2026, 11, 4, 23, 0);
    expect(relativeDay(new Date(Date.UTC(2026, 11, 5, 1, 0)).toISOString(), now)).toBe('tomorrow');
    expect(relativeDay(new Date(Date.UTC(2027, 0, 3, 0, 30)).toISOString(), now)).toBe('in 30 days');
    expect(relativeDay(new Date(Date.UTC(2026, 11, 4, 0, 5)).toISOString(), now)).toBe('today');
  });
});

describe('errors in words', () => {
  it('says what to do, not which JSON Schema rule failed', async () => {
    const { inWords } = await import('../../dashboard/src/format.js');
    expect(inWords({ field: 'expires_at', message: 'expires_at must match format "date-time"' })).toBe('Choose a date.');
    expect(inWords({ field: 'name', message: 'name must NOT have fewer than 1 characters' })).toBe('Fill this in.');
    expect(inWords({ field: 'name', message: 'name must NOT have more than 100 characters' })).toBe('Use at most 100 characters.');
    expect(inWords({ field: 'scopes', message: 'scopes must NOT have fewer than 1 items' })).toBe('Choose at least 1.');
    expect(inWords({ field: 'ip_allowlist', message: 'ip_allowlist must NOT have more than 100 items' })).toBe('Choose at most 100.');
    expect(inWords({ field: 'domains', message: 'domain not found' })).toBe('Domain not found.');
  });
});
