import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editOf, type Editable } from '../../src/services/tokens/token-edit.js';

const current: Editable = {
  name: 'ci', description: '', scopes: ['domains:read', 'tokens:read'], domains: ['dom_a', 'dom_b'], ip_allowlist: null,
  expires_at: Date.UTC(2027, 0, 1), rate_limit: { requests: 10, per: '1m' },
};

describe('the edit diff', () => {
  it('writes and records only the fields whose value changes, expiry shown as an instant', () => {
    const { fields, changes } = editOf(current, { name: 'ci', description: 'deploys', expires_at: Date.UTC(2026, 11, 31), rate_limit: { requests: 10, per: '1m' } });
    expect(fields).toEqual({ description: 'deploys', expires_at: Date.UTC(2026, 11, 31) });
    expect(changes).toEqual({
      description: { from: '', to: 'deploys' },
      expires_at: { from: '2027-01-01T00:00:00.000Z', to: '2026-12-31T00:00:00.000Z' },
    });
  });

  it('treats a list in another order as the same list, and null and a list as different', () => {
    expect(editOf(current, { scopes: ['tokens:read', 'domains:read'], domains: ['dom_b', 'dom_a'] }).fields).toEqual({});
    expect(editOf(current, { domains: null }).changes).toEqual({ domains: { from: ['dom_a', 'dom_b'], to: null } });
    expect(editOf(current, { ip_allowlist: ['10.0.0.0/8'] }).changes).toEqual({ ip_allowlist: { from: null, to: ['10.0.0.0/8'] } });
  });

  it('records a rate limit change whichever part moves, and a field left out is never touched', () => {
    expect(editOf(current, { rate_limit: { requests: 10, per: '1h' } }).fields).toEqual({ rate_limit: { requests: 10, per: '1h' } });
    expect(editOf(current, { rate_limit: null }).changes).toEqual({ rate_limit: { from: { requests: 10, per: '1m' }, to: null } });
    expect(editOf(current, { name: undefined })).toEqual({ fields: {}, changes: {} });
  });

  it('is the identity on an unchanged record, and applying its fields leaves nothing to change', () => {
    const list = fc.option(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd')), { nil: null });
    const edit = fc.record({
      name: fc.string(), description: fc.string(), scopes: fc.uniqueArray(fc.constantFrom('x:read', 'x:full', 'y:read')), domains: list, ip_allowlist: list,
      expires_at: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
      rate_limit: fc.option(fc.record({ requests: fc.integer({ min: 1, max: 100 }), per: fc.constantFrom('1s', '1m', '1h') }), { nil: null }),
    }, { requiredKeys: [] });
    fc.assert(fc.property(edit, (next) => {
      expect(editOf(current, current)).toEqual({ fields: {}, changes: {} });
      const { fields, changes } = editOf(current, next);
      expect(Object.keys(fields).sort()).toEqual(Object.keys(changes).sort());
      expect(editOf({ ...current, ...fields }, next).fields).toEqual({});
    }));
  });
});
