import { describe, expect, it } from 'vitest';
import { compileAllowlist } from '../../src/core/ip-allowlist.js';
import { decide, seesDomain, seesMailbox, statusOf, type Ask, type TokenGrant } from '../../src/core/policy.js';

const NOW = 1_000_000;

const grant = (over: Partial<TokenGrant> = {}): TokenGrant => ({
  loadedAt: 0, id: 'tok_1', accountId: 'acc_1', name: 'svc', type: 'api', plan: 'starter', planApiAccess: true,
  granted: new Set(['domains:full', 'domains:read', 'activity:read']), effective: new Set(['domains:read', 'activity:read']),
  domains: null, mailboxId: null, ipAllowlist: null, revokedAt: null, pausedAt: null, expiresAt: null, budgets: [], audience: null, ...over,
});
const ask = (over: Partial<Ask> = {}): Ask => ({ scope: 'domains:read', ip: '192.0.2.1', now: NOW, audience: null, ...over });

describe('the decision on one use of a token', () => {
  it('admits a live token holding the scope', () => {
    expect(decide(grant(), ask())).toBeNull();
    expect(decide(grant(), ask({ scope: null }))).toBeNull();
  });

  it('refuses a revoked, expired (at its instant) or paused token, in that order', () => {
    expect(decide(grant({ revokedAt: 1, expiresAt: 1, pausedAt: 1 }), ask())).toEqual({ code: 'token_revoked', message: 'this token has been revoked' });
    expect(decide(grant({ revokedAt: 0 }), ask())?.code).toBe('token_revoked');
    expect(decide(grant({ expiresAt: NOW, pausedAt: 1 }), ask())).toEqual({ code: 'token_expired', message: 'this token has expired' });
    expect(decide(grant({ expiresAt: NOW - 1 }), ask())?.code).toBe('token_expired');
    expect(decide(grant({ expiresAt: NOW + 1 }), ask())).toBeNull();
    expect(decide(grant({ pausedAt: 5, planApiAccess: false }), ask())).toEqual({ code: 'token_paused', message: 'this token is paused' });
    expect(decide(grant({ pausedAt: 0 }), ask())?.code).toBe('token_paused');
  });

  it('admits a token bound to a resource only at that resource, after its status and before its plan', () => {
    const bound = grant({ audience: 'https://mail.example/mcp' });
    expect(decide(bound, ask({ audience: 'https://mail.example/mcp' }))).toBeNull();
    for (const audience of [null, 'https://mail.example/mcp/', 'https://other.example/mcp']) {
      expect(decide(bound, ask({ audience }))).toEqual({ code: 'unauthorized', message: 'this token was issued for another resource' });
    }
    expect(decide(grant({ audience: 'https://mail.example/mcp', expiresAt: NOW }), ask())?.code).toBe('token_expired');
    expect(decide(grant({ audience: 'https://mail.example/mcp', planApiAccess: false }), ask())?.code).toBe('unauthorized');
    expect(decide(grant(), ask({ audience: 'https://mail.example/mcp' }))).toBeNull();
  });

  it('refuses every use on a plan without API access, naming the plan', () => {
    expect(decide(grant({ plan: 'basic', planApiAccess: false }), ask({ scope: null }))).toEqual({
      code: 'plan_restricted', message: 'the basic plan has no API access', details: { plan: 'basic' },
    });
  });

  it('refuses an address outside the allowlist, naming it, before looking at scopes', () => {
    const fenced = grant({ ipAllowlist: compileAllowlist(['10.0.0.0/8']) });
    expect(decide(fenced, ask({ ip: '10.1.2.3' }))).toBeNull();
    expect(decide(fenced, ask({ ip: '192.0.2.1', scope: 'mailboxes:full' }))).toEqual({
      code: 'ip_not_allowed', message: 'this token may not be used from this IP address', details: { ip: '192.0.2.1' },
    });
  });

  it('refuses a route its type may not use', () => {
    expect(decide(grant({ type: 'mcp' }), ask({ scope: undefined }))).toEqual({
      code: 'forbidden', message: 'mcp tokens cannot use this endpoint', details: { token_type: 'mcp' },
    });
  });

  it('tells a scope the plan cuts from one never granted', () => {
    expect(decide(grant(), ask({ scope: 'domains:full' }))).toEqual({
      code: 'plan_restricted', message: "scope 'domains:full' is not available on the starter plan", details: { scope: 'domains:full', plan: 'starter' },
    });
    expect(decide(grant(), ask({ scope: 'mailboxes:read' }))).toEqual({
      code: 'insufficient_scope', message: "this token lacks the 'mailboxes:read' scope", details: { scope: 'mailboxes:read' },
    });
  });

  it('reads a domain or mailbox outside the token’s as absent', () => {
    const inA = grant({ domains: new Set(['dom_a']), mailboxId: 'mbx_1' });
    expect(decide(inA, ask({ domainId: 'dom_a', mailboxId: 'mbx_1' }))).toBeNull();
    expect(decide(inA, ask({ domainId: 'dom_b' }))).toEqual({ code: 'not_found', message: 'domain not found' });
    expect(decide(inA, ask({ mailboxId: 'mbx_2' }))).toEqual({ code: 'not_found', message: 'mailbox not found' });
    expect(decide(inA, ask({ domainId: null, mailboxId: null }))).toBeNull();
    expect(decide(grant(), ask({ domainId: 'dom_z', mailboxId: 'mbx_z' }))).toBeNull();
    expect(seesDomain(grant(), 'dom_z')).toBe(true);
    expect(seesDomain(inA, 'dom_z')).toBe(false);
    expect(seesMailbox(grant(), 'mbx_z')).toBe(true);
    expect(seesMailbox(inA, 'mbx_1')).toBe(true);
    expect(seesMailbox(inA, 'mbx_2')).toBe(false);
  });
});

describe('the status a token is listed with', () => {
  it('is revoked, then expired (at its instant), then paused, else active', () => {
    const token = (over: Partial<Parameters<typeof statusOf>[0]> = {}) => ({ revokedAt: null, expiresAt: null, pausedAt: null, ...over });
    expect(statusOf(token(), NOW)).toBe('active');
    expect(statusOf(token({ pausedAt: 0 }), NOW)).toBe('paused');
    expect(statusOf(token({ pausedAt: 1, expiresAt: NOW }), NOW)).toBe('expired');
    expect(statusOf(token({ expiresAt: NOW + 1 }), NOW)).toBe('active');
    expect(statusOf(token({ pausedAt: 1, expiresAt: NOW, revokedAt: 0 }), NOW)).toBe('revoked');
  });
});
