import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLAN_NAMES } from '../../src/core/catalog.js';
import { compileAllowlist, normaliseAllowlist } from '../../src/core/ip-allowlist.js';
import { effectiveScopes, planAllows, scopesOfType } from '../../src/core/scopes.js';

const apiScopes = scopesOfType('api').map((s) => s.scope);

describe('scopes and plans', () => {
  it('never lets a token do more than its plan allows, whatever it was granted', () => {
    fc.assert(
      fc.property(fc.subarray(apiScopes), fc.constantFrom(...PLAN_NAMES), (granted, plan) => {
        const byName = new Map(scopesOfType('api').map((s) => [s.scope, s]));
        return [...effectiveScopes('api', granted, plan)].every((scope) => planAllows(plan, byName.get(scope)!));
      }),
    );
  });
});

describe('IP allowlists', () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.'));

  it('treats an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    fc.assert(fc.property(ipv4, (ip) => compileAllowlist(normaliseAllowlist([ip])).allows(`::ffff:${ip}`)));
  });

  it('agrees with itself: a range it covers admits only addresses it admits', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 8, max: 32 }), fc.integer({ min: 0, max: 32 }), ipv4, (base, outerBits, innerExtra, probe) => {
        const outer = compileAllowlist(normaliseAllowlist([`${base}/${outerBits}`]));
        const innerList = normaliseAllowlist([`${base}/${Math.min(32, outerBits + innerExtra)}`]);
        const inner = compileAllowlist(innerList);
        expect(outer.covers(innerList)).toBe(true);
        return !inner.allows(probe) || outer.allows(probe);
      }),
    );
  });

  it('handles edges: /0, /32, IPv6 ranges, host bits set', () => {
    expect(compileAllowlist(normaliseAllowlist(['0.0.0.0/0'])).allows('203.0.113.5')).toBe(true);
    expect(compileAllowlist(normaliseAllowlist(['0.0.0.0/0'])).allows('2001:db8::1')).toBe(false);
    expect(normaliseAllowlist(['10.1.2.3/8', '2001:DB8::5/32', '::ffff:10.0.0.1'])).toEqual(['10.0.0.0/8', '2001:db8::/32', '10.0.0.1']);
    expect(() => normaliseAllowlist(['10.0.0.1/33'])).toThrow();
    for (const legacy of ['example.com', '42', '0x7f.0.0.1', '127.1', '010.0.0.1/8', '10.0.0.1/+8', '10.0.0.1/']) {
      expect(() => normaliseAllowlist([legacy]), legacy).toThrow();
    }
  });
});
