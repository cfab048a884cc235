import { describe, expect, it } from 'vitest';
import type { TokenGrant } from '../../src/core/policy.js';
import { compileGrant, type GrantSource } from '../../src/services/grants.js';
import type { DomainDirectory } from '../../src/services/domain-directory.js';
import { memoryRateStore } from '../../src/services/rate-store.js';
import { TokenGate, type GateResult, type TokenCheck } from '../../src/services/token-gate.js';
import { TokenRateLimiter } from '../../src/services/token-rate.js';
import type { UsageRecorder } from '../../src/services/usage.js';
import type { Verifier } from '../../src/services/verifier.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');

const grantOf = (over: Partial<GrantSource> = {}): TokenGrant =>
  compileGrant({
    id: 'tok_1', account_id: 'acc_1', name: 'svc', type: 'api', lineage_id: 'tok_1', ancestry: [], scopes: ["domains:read"], domains: null,
    mailbox_id: null, ip_allowlist: null, revoked_at: null, paused_at: null, expires_at: null, deleted_at: null, rate_limit: null, audience: null, ...over,
  }, 'pro', NOW);

interface World {
  gate: TokenGate;
  touched: [string, string | null][];
  decisions: string[];
  liveAsked: [string, string][];
}

/** A gate over one known secret, `known`, resolving to `grant`; the directory answers `live` for every domain. */
function world(grant: TokenGrant, { async = false, live = true, liveAsync = false } = {}): World {
  const touched: [string, string | null][] = [];
  const decisions: string[] = [];
  const liveAsked: [string, string][] = [];
  const verifier = { resolve: (secret: string) => (async ? Promise.resolve(secret === 'known' ? grant : null) : secret === 'known' ? grant : null) } as unknown as Verifier;
  const domains = {
    isLiveIn: (accountId: string, domainId: string) => (liveAsked.push([accountId, domainId]), liveAsync ? Promise.resolve(live) : live),
  } as unknown as DomainDirectory;
  const usage = { touch: (id: string, ip: string | null) => void touched.push([id, ip]) } as unknown as UsageRecorder;
  const clock = { now: () => NOW };
  const gate = new TokenGate({ verifier, clock, usage, rateLimiter: new TokenRateLimiter(memoryRateStore(), clock), domains, onDecision: (result) => void decisions.push(result) });
  return { gate, touched, decisions, liveAsked };
}

const ask = (over: Partial<TokenCheck> = {}): TokenCheck => ({ scope: 'domains:read', ip: '192.0.2.1', audience: null, ...over });

describe('the token gate', () => {
  it('answers an unknown secret as unauthorized, records nothing and reports no decision', async () => {
    for (const async of [false, true]) {
      const w = world(grantOf(), { async });
      expect(await w.gate.check('unknown', ask())).toEqual({ grant: null, denial: { code: 'unauthorized', message: 'a valid token or session is required' } });
      expect(w.touched).toEqual([]);
      expect(w.decisions).toEqual([]);
    }
  });

  it('admits a cached token without a rate limit synchronously, records its use and reports ok', () => {
    const grant = grantOf();
    const w = world(grant);
    const result = w.gate.check('known', ask());
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toEqual({ grant, denial: null });
    expect(w.touched).toEqual([['tok_1', '192.0.2.1']]);
    expect(w.decisions).toEqual(['ok']);
  });

  it('asks the scope of the token’s own type, and refuses a type the route does not name', async () => {
    const w = world(grantOf({ type: 'mcp', scopes: ["mcp:read"] }));
    expect((w.gate.check('known', ask({ scope: { mcp: 'mcp:read', api: 'domains:read' } })) as GateResult).denial).toBeNull();
    expect((w.gate.check('known', ask({ scope: { mcp: 'mcp:write' } })) as GateResult).denial?.code).toBe('insufficient_scope');
    expect((w.gate.check('known', ask({ scope: { api: 'domains:read' } })) as GateResult).denial?.code).toBe('forbidden');
    expect((w.gate.check('known', ask({ scope: null })) as GateResult).denial).toBeNull();
  });

  it('refuses what the policy refuses, records no use, and reports the code', () => {
    const w = world(grantOf({ revoked_at: NOW - 1 }));
    const result = w.gate.check('known', ask()) as GateResult;
    expect(result.denial?.code).toBe('token_revoked');
    expect(result.grant?.id).toBe('tok_1');
    expect(w.touched).toEqual([]);
    expect(w.decisions).toEqual(['token_revoked']);
  });

  it('reads a missing address as none, which an allowlist refuses', () => {
    const w = world(grantOf({ ip_allowlist: ["192.0.2.0/24"] }));
    expect((w.gate.check('known', ask({ ip: null })) as GateResult).denial?.code).toBe('ip_not_allowed');
    expect((w.gate.check('known', ask()) as GateResult).denial).toBeNull();
  });

  it('admits a domain only when it is live in the token’s account, asked only after the policy admits', async () => {
    for (const liveAsync of [false, true]) {
      const live = world(grantOf(), { liveAsync });
      expect((await live.gate.check('known', ask({ domainId: 'dom_a' }))).denial).toBeNull();
      expect(live.liveAsked).toEqual([['acc_1', 'dom_a']]);
      expect(live.touched).toEqual([['tok_1', '192.0.2.1']]);

      const gone = world(grantOf(), { live: false, liveAsync });
      expect((await gone.gate.check('known', ask({ domainId: 'dom_a' }))).denial).toEqual({ code: 'not_found', message: 'domain not found' });
      expect(gone.touched).toEqual([]);
      expect(gone.decisions).toEqual(['not_found']);
    }
    const refused = world(grantOf({ revoked_at: 1 }));
    expect((await refused.gate.check('known', ask({ domainId: 'dom_a' }))).denial?.code).toBe('token_revoked');
    expect(refused.liveAsked).toEqual([]);
    const none = world(grantOf());
    await none.gate.check('known', ask({ domainId: null }));
    await none.gate.check('known', ask());
    expect(none.liveAsked).toEqual([]);
  });

  it('counts an admitted use against the token’s rate limit, and only an admitted one', async () => {
    const w = world(grantOf({ rate_limit: {"requests":2,"per":"1m"} }));
    // Refused by the policy: spends nothing.
    for (let i = 0; i < 3; i += 1) expect((await w.gate.check('known', ask({ scope: 'domains:full' }))).denial?.code).toBe('insufficient_scope');
    const first = w.gate.check('known', ask());
    expect(first).toBeInstanceOf(Promise);
    expect((await first).denial).toBeNull();
    expect((await w.gate.check('known', ask())).denial).toBeNull();
    expect((await w.gate.check('known', ask())).denial).toEqual({
      code: 'rate_limited', message: 'this token allows 2 requests per 60 s', details: { retry_after: 30 },
    });
    expect(w.touched).toHaveLength(2);
    expect(w.decisions).toEqual(['insufficient_scope', 'insufficient_scope', 'insufficient_scope', 'ok', 'ok', 'rate_limited']);
  });

  it('lets an error that is no refusal through, reporting no decision', async () => {
    const grant = grantOf({ rate_limit: {"requests":2,"per":"1m"} });
    const decisions: string[] = [];
    const broken = new TokenGate({
      verifier: { resolve: () => grant } as unknown as Verifier, clock: { now: () => NOW }, usage: { touch: () => undefined } as unknown as UsageRecorder,
      rateLimiter: { consume: () => Promise.reject(new Error('store down')) } as unknown as TokenRateLimiter, domains: {} as DomainDirectory,
      onDecision: (result) => void decisions.push(result),
    });
    await expect(broken.check('known', ask())).rejects.toThrow('store down');
    expect(decisions).toEqual([]);
  });
});
