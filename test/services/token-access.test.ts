import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstWidening, rateLimitWithin } from '../../src/core/access.js';
import type { StoredRateLimit, TokenRecord } from '../../src/store/token-codec.js';
import {
  accessOf, accessOfSpec, factsOf, isEmpty, narrowedInto, parseRateLimit, placeOf, specOf, type AccessSpec,
} from '../../src/services/tokens/token-access.js';

const spec = (over: Partial<AccessSpec> = {}): AccessSpec => ({
  type: 'api', scopes: ['domains:read'], domains: null, ipAllowlist: null, expiresAt: null, rateLimit: null, ...over,
});

const row = (over: Partial<TokenRecord> = {}): TokenRecord => ({
  id: 'tok_2', account_id: 'acc_1', name: 'n', description: '', type: 'api', hash: 'h', visible_prefix: 'lk_live_', last4: 'abcd',
  scopes: ["domains:full"], domains: ["dom_a"], mailbox_id: null, ip_allowlist: ["10.0.0.0/8"], created_at: 1, created_by_type: 'user',
  created_by_id: 'usr_1', created_by_name: 'o', lineage_id: 'tok_1', ancestry: ['tok_r', 'tok_p'], expires_at: 5000, paused_at: 7, revoked_at: null,
  revoke_reason: null, deleted_at: null, first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: 'tok_1', rotated_to: 'tok_3',
  rate_limit: {"requests":10,"per":"1m"}, audience: null, ...over,
});

const limit = (requests: number, per: string) => ({ requests, per });

describe('a stored token, as the rules read it', () => {
  it('reads a rate limit as requests per seconds, none as null, an unreadable window as one second', () => {
    expect(parseRateLimit(null)).toBeNull();
    expect(parseRateLimit(limit(10, '1m'))).toEqual({ requests: 10, perSeconds: 60 });
    expect(parseRateLimit(limit(3, '2h'))).toEqual({ requests: 3, perSeconds: 7200 });
    expect(parseRateLimit(limit(3, 'soon'))).toEqual({ requests: 3, perSeconds: 1 });
  });

  it('reads access: scopes with what they imply, domains and allowlist compiled, expiry and limit as stored', () => {
    const access = accessOf(row());
    expect(access.type).toBe('api');
    expect([...access.scopes].sort()).toEqual(['domains:full', 'domains:read']);
    expect([...access.domains!]).toEqual(['dom_a']);
    expect(access.ipAllowlist!.entries).toEqual(['10.0.0.0/8']);
    expect(access.ipAllowlist!.allows('10.1.2.3')).toBe(true);
    expect(access.ipAllowlist!.allows('11.0.0.1')).toBe(false);
    expect(access.expiresAt).toBe(5000);
    expect(access.rateLimit).toEqual({ requests: 10, perSeconds: 60 });
    const open = accessOfSpec(spec());
    expect(open.domains).toBeNull();
    expect(open.ipAllowlist).toBeNull();
    expect(open.rateLimit).toBeNull();
    expect(specOf(row())).toEqual({
      type: 'api', scopes: ['domains:full'], domains: ['dom_a'], ipAllowlist: ['10.0.0.0/8'], expiresAt: 5000, rateLimit: {"requests":10,"per":"1m"},
    });
  });

  it('reads its place in the tree and its lifecycle facts; deleted counts as revoked', () => {
    expect(placeOf(row())).toEqual({ id: 'tok_2', lineageId: 'tok_1', ancestry: ['tok_r', 'tok_p'], supersededBy: 'tok_3', type: 'api' });
    expect(placeOf(row({ ancestry: [] })).ancestry).toEqual([]);
    expect(factsOf(row())).toEqual({ revokedAt: null, expiresAt: 5000, pausedAt: 7, supersededBy: 'tok_3' });
    expect(factsOf(row({ deleted_at: 9 })).revokedAt).toBe(9);
    expect(factsOf(row({ revoked_at: 8, deleted_at: 9 })).revokedAt).toBe(8);
  });
});

describe('narrowing one access into another', () => {
  it('keeps the scopes both hold, a full level falling back to the read the outer holds', () => {
    expect(narrowedInto(spec({ scopes: ['domains:full', 'mailboxes:read'] }), spec({ scopes: ['domains:read'] })).scopes).toEqual(['domains:read']);
    expect(narrowedInto(spec({ scopes: ['domains:read'] }), spec({ scopes: ['domains:full'] })).scopes).toEqual(['domains:read']);
    expect(narrowedInto(spec({ type: 'message', scopes: ['messages:send'] }), spec({ scopes: ['submission:full'] }))).toMatchObject({ type: 'message', scopes: ['messages:send'] });
  });

  it('keeps the domains and addresses both allow; an unconstrained side takes the other’s', () => {
    const narrowed = narrowedInto(spec({ domains: ['dom_a', 'dom_b'] }), spec({ domains: ['dom_b', 'dom_c'] }));
    expect(narrowed.domains).toEqual(['dom_b']);
    expect(narrowedInto(spec({ domains: ['dom_a'] }), spec()).domains).toEqual(['dom_a']);
    const outer = ['dom_c'];
    const taken = narrowedInto(spec(), spec({ domains: outer })).domains;
    expect(taken).toEqual(['dom_c']);
    expect(taken).not.toBe(outer);
    expect(narrowedInto(spec({ ipAllowlist: ['10.1.0.0/16', '192.0.2.1'] }), spec({ ipAllowlist: ['10.0.0.0/8'] })).ipAllowlist).toEqual(['10.1.0.0/16']);
    expect(narrowedInto(spec(), spec({ ipAllowlist: ['10.0.0.0/8'] })).ipAllowlist).toEqual(['10.0.0.0/8']);
    expect(narrowedInto(spec({ ipAllowlist: ['10.0.0.0/8'] }), spec()).ipAllowlist).toEqual(['10.0.0.0/8']);
  });

  it('takes the earlier expiry, none only when neither expires', () => {
    expect(narrowedInto(spec({ expiresAt: 5 }), spec({ expiresAt: 9 })).expiresAt).toBe(5);
    expect(narrowedInto(spec({ expiresAt: 9 }), spec({ expiresAt: 5 })).expiresAt).toBe(5);
    expect(narrowedInto(spec({ expiresAt: null }), spec({ expiresAt: 5 })).expiresAt).toBe(5);
    expect(narrowedInto(spec({ expiresAt: 5 }), spec({ expiresAt: null })).expiresAt).toBe(5);
    expect(narrowedInto(spec(), spec()).expiresAt).toBeNull();
  });

  it('keeps a rate limit that lies inside the other, else the smaller burst at the slower rate, rounded the slower way', () => {
    const narrow = (inner: StoredRateLimit | null, outer: StoredRateLimit | null) => narrowedInto(spec({ rateLimit: inner }), spec({ rateLimit: outer })).rateLimit;
    expect(narrow(limit(5, '1m'), limit(10, '1m'))).toEqual(limit(5, '1m'));
    expect(narrow(limit(10, '1m'), limit(5, '1m'))).toEqual(limit(5, '1m'));
    expect(narrow(null, limit(5, '1m'))).toEqual(limit(5, '1m'));
    expect(narrow(limit(5, '1m'), null)).toEqual(limit(5, '1m'));
    expect(narrow(null, null)).toBeNull();
    // 10 a second against 100 a minute: 10 at once, then no faster than 100 a minute, one every 0.6 s.
    expect(narrow(limit(10, '1s'), limit(100, '1m'))).toEqual(limit(10, '6s'));
    expect(narrow(limit(100, '1m'), limit(10, '1s'))).toEqual(limit(10, '6s'));
    // 7 in 10 s against 3 a second: 3 at once, and 3 per ceil(30 / 7) = 5 s.
    expect(narrow(limit(7, '10s'), limit(3, '1s'))).toEqual(limit(3, '5s'));
  });

  it('always lies inside both, whatever the two limits', () => {
    const arbitraryLimit = fc.record({ requests: fc.integer({ min: 1, max: 1000 }), per: fc.constantFrom('1s', '7s', '1m', '90s', '1h', '1d') });
    fc.assert(
      fc.property(arbitraryLimit, arbitraryLimit, (a, b) => {
        const met = parseRateLimit(narrowedInto(spec({ rateLimit: a }), spec({ rateLimit: b })).rateLimit);
        expect(rateLimitWithin(met, parseRateLimit(a))).toBe(true);
        expect(rateLimitWithin(met, parseRateLimit(b))).toBe(true);
      }),
    );
  });

  it('leaves nothing wider than the outer access', () => {
    const inner = spec({ scopes: ['domains:full', 'tokens:full'], domains: ['dom_a', 'dom_b'], ipAllowlist: ['10.0.0.0/8'], expiresAt: 9, rateLimit: limit(50, '1s') });
    const outer = spec({ scopes: ['domains:read'], domains: ['dom_b'], ipAllowlist: ['10.2.0.0/16'], expiresAt: 5, rateLimit: limit(10, '1m') });
    const narrowed = narrowedInto(inner, outer);
    expect(firstWidening(accessOfSpec(narrowed), accessOfSpec(outer))).toBeNull();
    expect(narrowed).toEqual({ type: 'api', scopes: ['domains:read'], domains: ['dom_b'], ipAllowlist: ['10.2.0.0/16'], expiresAt: 5, rateLimit: limit(10, '1m') });
  });
});

describe('an empty access', () => {
  it('is one with no scope, no domain or no address left', () => {
    expect(isEmpty(spec())).toBe(false);
    expect(isEmpty(spec({ domains: ['dom_a'], ipAllowlist: ['10.0.0.0/8'] }))).toBe(false);
    expect(isEmpty(spec({ scopes: [] }))).toBe(true);
    expect(isEmpty(spec({ domains: [] }))).toBe(true);
    expect(isEmpty(spec({ ipAllowlist: [] }))).toBe(true);
  });
});
