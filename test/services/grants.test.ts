import { describe, expect, it } from 'vitest';
import { compileGrant, type GrantSource } from '../../src/services/grants.js';

const source = (over: Partial<GrantSource> = {}): GrantSource => ({
  id: 'tok_2', account_id: 'acc_1', name: 'deploy', type: 'api', lineage_id: 'tok_1', ancestry: [], scopes: ["domains:full","tokens:full"],
  domains: null, mailbox_id: null, ip_allowlist: null, revoked_at: null, paused_at: null, expires_at: null, deleted_at: null, rate_limit: null, audience: null, ...over,
});

describe('a stored token compiled for the policy', () => {
  it('carries its identity, instants and mailbox as stored', () => {
    const grant = compileGrant(source({ expires_at: 9000, mailbox_id: 'mbx_1', type: 'message', scopes: ["messages:read"] }), 'pro', 1234);
    expect(grant).toMatchObject({
      loadedAt: 1234, id: 'tok_2', accountId: 'acc_1', name: 'deploy', type: 'message', plan: 'pro', mailboxId: 'mbx_1',
      revokedAt: null, pausedAt: null, expiresAt: 9000, planApiAccess: true, domains: null, ipAllowlist: null,
    });
  });

  it('holds its granted scopes with what they imply, and the plan’s cut of them as effective', () => {
    const onStarter = compileGrant(source(), 'starter', 0);
    expect([...onStarter.granted].sort()).toEqual(['domains:full', 'domains:read', 'tokens:full']);
    expect([...onStarter.effective]).toEqual(['domains:read']);
    const onPro = compileGrant(source(), 'pro', 0);
    expect([...onPro.effective].sort()).toEqual(['domains:full', 'domains:read', 'tokens:full']);
    expect(compileGrant(source(), 'basic', 0).planApiAccess).toBe(false);
  });

  it('counts a deleted token as revoked, and a revocation as the earlier word', () => {
    expect(compileGrant(source({ deleted_at: 50 }), 'pro', 0).revokedAt).toBe(50);
    expect(compileGrant(source({ revoked_at: 40, deleted_at: 50 }), 'pro', 0).revokedAt).toBe(40);
  });

  it('is paused when it is, or when any lineage above it is', () => {
    expect(compileGrant(source({ paused_at: 5 }), 'pro', 0).pausedAt).toBe(5);
    const above = [{ lineage: 'tok_r', rateLimit: null, pausedAt: null }, { lineage: 'tok_p', rateLimit: null, pausedAt: 8 }];
    expect(compileGrant(source(), 'pro', 0, above).pausedAt).toBe(8);
    expect(compileGrant(source({ paused_at: 5 }), 'pro', 0, above).pausedAt).toBe(5);
    expect(compileGrant(source(), 'pro', 0, [{ lineage: 'tok_r', rateLimit: null, pausedAt: null }]).pausedAt).toBeNull();
  });

  it('compiles its domains and allowlist, sharing one compiled object among tokens that share the stored list', () => {
    // The store hands out one list object for each distinct stored list (lookups.ts).
    const domains = ['dom_a', 'dom_b'];
    const allowlist = ['10.0.0.0/8'];
    const scopes = ['domains:full', 'tokens:full'];
    const a = compileGrant(source({ scopes, domains, ip_allowlist: allowlist }), 'pro', 0);
    const b = compileGrant(source({ id: 'tok_9', scopes, domains, ip_allowlist: allowlist }), 'pro', 0);
    expect([...a.domains!]).toEqual(['dom_a', 'dom_b']);
    expect(a.ipAllowlist!.allows('10.9.9.9')).toBe(true);
    expect(a.ipAllowlist!.allows('192.0.2.1')).toBe(false);
    expect(b.domains).toBe(a.domains);
    expect(b.ipAllowlist).toBe(a.ipAllowlist);
    expect(b.effective).toBe(a.effective);
    // The same scopes on another plan or type are another entry.
    expect(compileGrant(source({ scopes }), 'starter', 0).effective).not.toBe(compileGrant(source({ scopes }), 'pro', 0).effective);
  });

  it('counts a use against its own limit first, keyed by its lineage, then against each limited lineage above it', () => {
    expect(compileGrant(source(), 'pro', 0).budgets).toEqual([]);
    const above = [
      { lineage: 'tok_r', rateLimit: {"requests":100,"per":"1h"}, pausedAt: null },
      { lineage: 'tok_m', rateLimit: null, pausedAt: null },
      { lineage: 'tok_p', rateLimit: {"requests":20,"per":"1m"}, pausedAt: null },
    ];
    expect(compileGrant(source({ rate_limit: {"requests":5,"per":"10s"} }), 'pro', 0, above).budgets).toEqual([
      { key: 'tok_1', requests: 5, perSeconds: 10, own: true },
      { key: 'tok_r', requests: 100, perSeconds: 3600, own: false },
      { key: 'tok_p', requests: 20, perSeconds: 60, own: false },
    ]);
    expect(compileGrant(source(), 'pro', 0, above).budgets.map((budget) => [budget.key, budget.own])).toEqual([['tok_r', false], ['tok_p', false]]);
  });
});
