import { describe, expect, it } from 'vitest';
import { LATEST_INSTANT } from '../../src/core/clock.js';
import { refusal } from '../helpers/refusal.js';
import type { Principal } from '../../src/services/context.js';
import {
  defaultExpiry, parseExpiry, requireFreshAuth, resolveAllowlist, resolveDomains, resolveRateLimit, storedRateLimit,
} from '../../src/services/tokens/token-input.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const SECOND = 1000;
const DAY = 86_400 * SECOND;


describe('a fresh password check', () => {
  const principal = (freshAuth: boolean) => ({ freshAuth }) as Principal;

  it('passes a fresh principal and refuses a stale one, naming the action', () => {
    expect(refusal(() => requireFreshAuth(principal(true), 'rotate a token'))).toBeNull();
    expect(refusal(() => requireFreshAuth(principal(false), 'rotate a token'))).toEqual({
      code: 'reauth_required', message: 'confirm your password to rotate a token', details: { action: 'rotate a token' },
    });
  });
});

describe('a per-token rate limit as given', () => {
  it('is kept as exactly its two fields; absent and null pass through', () => {
    expect(storedRateLimit({ requests: 5, per: '1m' })).toEqual({ requests: 5, per: '1m' });
    expect(storedRateLimit({ requests: 5, per: '1m', burst: 9 } as never)).toEqual({ requests: 5, per: '1m' });
    expect(storedRateLimit(undefined)).toBeUndefined();
    expect(storedRateLimit(null)).toBeNull();
  });

  it('takes a window from one second to one day, and nothing else', () => {
    for (const per of ['1s', '1d', '86400s', '1440m']) expect(storedRateLimit({ requests: 1, per }), per).toEqual({ requests: 1, per });
    for (const per of ['0s', '86401s', '2d', '1w', 'soon', '', '1 m']) {
      expect(refusal(() => storedRateLimit({ requests: 1, per })), per).toEqual({
        code: 'invalid_request', message: 'rate_limit.per must be a duration from 1s to 1d, such as 1m', details: { field: 'rate_limit.per' },
      });
    }
  });

  it('is inherited when not given, dropped when null, else this one', () => {
    const inherited = { requests: 9, per: '1s' };
    expect(resolveRateLimit(undefined, inherited)).toBe(inherited);
    expect(resolveRateLimit(undefined, null)).toBeNull();
    expect(resolveRateLimit(null, inherited)).toBeNull();
    expect(resolveRateLimit({ requests: 2, per: '1h' }, inherited)).toEqual({ requests: 2, per: '1h' });
    expect(refusal(() => resolveRateLimit({ requests: 2, per: '3d' }, inherited))?.details).toEqual({ field: 'rate_limit.per' });
  });
});

describe('an expiry as given', () => {
  const parse = (input: { expires_in?: string; expires_at?: string | null }, max: number | null = null) => parseExpiry(input, NOW, max);

  it('reads expires_in as a duration from now, "never" as no expiry, and neither field as undefined', () => {
    expect(parse({ expires_in: '7d' })).toBe(NOW + 7 * DAY);
    expect(parse({ expires_in: '45s' })).toBe(NOW + 45 * SECOND);
    expect(parse({ expires_in: 'never' })).toBeNull();
    expect(parse({})).toBeUndefined();
    expect(parse({}, 30 * 86_400)).toBeUndefined();
  });

  it('refuses a zero or malformed expires_in, and both fields at once', () => {
    for (const expires_in of ['0s', '0d', '7 days', 'forever', '']) {
      expect(refusal(() => parse({ expires_in })), expires_in).toEqual({
        code: 'invalid_request', message: 'expires_in must be a duration such as 7d, 30d, 90d, 12h, or "never"', details: { field: 'expires_in' },
      });
    }
    expect(refusal(() => parse({ expires_in: '7d', expires_at: '2027-01-01T00:00:00Z' }))).toEqual({
      code: 'invalid_request', message: 'give expires_in or expires_at, not both', details: { field: 'expires_in' },
    });
    expect(refusal(() => parse({ expires_in: '7d', expires_at: null }))?.details).toEqual({ field: 'expires_in' });
  });

  it('reads expires_at as an instant strictly after now, or null for none', () => {
    expect(parse({ expires_at: '2027-01-01T00:00:00Z' })).toBe(Date.parse('2027-01-01T00:00:00Z'));
    expect(parse({ expires_at: new Date(NOW + 1).toISOString() })).toBe(NOW + 1);
    expect(parse({ expires_at: null })).toBeNull();
    for (const past of [NOW, NOW - 1, 0]) {
      expect(refusal(() => parse({ expires_at: new Date(past).toISOString() }))).toEqual({
        code: 'invalid_request', message: 'expires_at must be in the future', details: { field: 'expires_at' },
      });
    }
    expect(refusal(() => parse({ expires_at: 'tomorrow' }))).toEqual({
      code: 'invalid_request', message: 'expires_at must be an ISO-8601 date-time', details: { field: 'expires_at' },
    });
  });

  it('accepts the last instant of 9999 and nothing later, naming the field given', () => {
    expect(parse({ expires_at: new Date(LATEST_INSTANT).toISOString() })).toBe(LATEST_INSTANT);
    expect(refusal(() => parse({ expires_at: '+010000-01-01T00:00:00.000Z' }))).toEqual({
      code: 'invalid_request', message: 'expires_at lies beyond 9999-12-31, the latest expiry there is', details: { field: 'expires_at' },
    });
    expect(refusal(() => parse({ expires_in: '999999w' }))).toEqual({
      code: 'invalid_request', message: 'expires_in lies beyond 9999-12-31, the latest expiry there is', details: { field: 'expires_in' },
    });
    // Just inside: a duration that ends exactly at the last instant.
    expect(parseExpiry({ expires_in: '1s' }, LATEST_INSTANT - SECOND, null)).toBe(LATEST_INSTANT);
    expect(refusal(() => parseExpiry({ expires_in: '1s' }, LATEST_INSTANT - SECOND + 1, null))?.details).toEqual({ field: 'expires_in' });
  });

  it('under a maximum lifetime, admits exactly the maximum and refuses a millisecond more, or no expiry', () => {
    const max = 30 * 86_400;
    expect(parse({ expires_in: '30d' }, max)).toBe(NOW + 30 * DAY);
    expect(parse({ expires_at: new Date(NOW + 30 * DAY).toISOString() }, max)).toBe(NOW + 30 * DAY);
    expect(refusal(() => parse({ expires_at: new Date(NOW + 30 * DAY + 1).toISOString() }, max))).toEqual({
      code: 'invalid_request', message: 'this deployment lets tokens live at most 30 days', details: { field: 'expires_at', max_lifetime_seconds: max },
    });
    expect(refusal(() => parse({ expires_in: '31d' }, max))).toEqual({
      code: 'invalid_request', message: 'this deployment lets tokens live at most 30 days', details: { field: 'expires_in', max_lifetime_seconds: max },
    });
    expect(refusal(() => parse({ expires_in: 'never' }, max))).toEqual({
      code: 'invalid_request', message: 'this deployment requires tokens to expire, within 30 days', details: { field: 'expires_in', max_lifetime_seconds: max },
    });
    expect(refusal(() => parse({ expires_at: null }, max))).toEqual({
      code: 'invalid_request', message: 'this deployment requires tokens to expire, within 30 days', details: { field: 'expires_at', max_lifetime_seconds: max },
    });
  });

  it('names a maximum that is no whole number of days in seconds', () => {
    expect(refusal(() => parse({ expires_in: '2d' }, 90_000))?.message).toBe('this deployment lets tokens live at most 90000 seconds');
    expect(refusal(() => parse({ expires_in: 'never' }, 3600))?.message).toBe('this deployment requires tokens to expire, within 3600 seconds');
    expect(parse({ expires_in: '25h' }, 90_000)).toBe(NOW + 25 * 3600 * SECOND);
  });
});

describe('the expiry of a token whose request names none', () => {
  it('is the acting token’s, cut to the deployment’s maximum, or the maximum, or none', () => {
    const max = 30 * 86_400;
    expect(defaultExpiry(null, NOW, null)).toBeNull();
    expect(defaultExpiry(null, NOW, max)).toBe(NOW + 30 * DAY);
    expect(defaultExpiry(NOW + 5 * DAY, NOW, null)).toBe(NOW + 5 * DAY);
    expect(defaultExpiry(NOW + 5 * DAY, NOW, max)).toBe(NOW + 5 * DAY);
    expect(defaultExpiry(NOW + 40 * DAY, NOW, max)).toBe(NOW + 30 * DAY);
  });

  it('never lies past the last instant of 9999', () => {
    expect(defaultExpiry(null, LATEST_INSTANT - SECOND, 86_400)).toBe(LATEST_INSTANT);
    expect(defaultExpiry(LATEST_INSTANT, LATEST_INSTANT - SECOND, 86_400)).toBe(LATEST_INSTANT);
  });
});

describe('domains and allowlists as given', () => {
  const existing = new Set(['dom_a', 'dom_b', 'dom_c']);

  it('inherit the acting token’s when not given (a sorted copy), every domain when null, else these, deduplicated and sorted', () => {
    const inherited = new Set(['dom_c', 'dom_a']);
    expect(resolveDomains(undefined, existing, inherited)).toEqual(['dom_a', 'dom_c']);
    expect(resolveDomains(undefined, existing, null)).toBeNull();
    expect(resolveDomains(null, existing, inherited)).toBeNull();
    expect(resolveDomains(['dom_b', 'dom_a', 'dom_b'], existing, inherited)).toEqual(['dom_a', 'dom_b']);
  });

  it('refuse an empty list and a domain that does not exist', () => {
    expect(refusal(() => resolveDomains([], existing, null))).toEqual({
      code: 'invalid_request', message: 'give at least one domain id, or null for every domain', details: { field: 'domains' },
    });
    expect(refusal(() => resolveDomains(['dom_a', 'dom_x'], existing, null))).toEqual({
      code: 'invalid_request', message: "unknown domain 'dom_x'", details: { field: 'domains', value: 'dom_x' },
    });
  });

  it('take an allowlist as inherited, none when null or empty, else in canonical form', () => {
    const inherited = ['10.0.0.0/8'];
    const copy = resolveAllowlist(undefined, inherited);
    expect(copy).toEqual(inherited);
    expect(copy).not.toBe(inherited);
    expect(resolveAllowlist(undefined, null)).toBeNull();
    expect(resolveAllowlist(null, inherited)).toBeNull();
    expect(resolveAllowlist([], inherited)).toBeNull();
    expect(resolveAllowlist([' 192.0.2.7/24 ', '2001:DB8::1'], null)).toEqual(['192.0.2.0/24', '2001:db8::1']);
    expect(refusal(() => resolveAllowlist(['example.com'], null))?.details).toEqual({ field: 'ip_allowlist', value: 'example.com' });
  });
});
