import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateLimitWithin, type Access, type RateLimit } from '../../src/core/access.js';
import { ACCOUNT_READER, checkOutcome, permit, relationOf, type Manager, type TokenPlace } from '../../src/core/authority.js';
import { ApiError } from '../../src/core/errors.js';
import { compileAllowlist } from '../../src/core/ip-allowlist.js';

const place = (id: string, lineageId: string, ancestry: string[], supersededBy: string | null = null): TokenPlace => ({ id, lineageId, ancestry, supersededBy, type: 'api' });
const access = (over: Partial<Access> = {}): Access => ({
  type: 'api', scopes: new Set(['tokens:full', 'domains:read']), domains: null, ipAllowlist: null, expiresAt: null, rateLimit: null, ...over,
});
const tokenManager = (at: TokenPlace, held = access()): Manager => ({ kind: 'token', place: at, access: held });
const refusal = (run: () => void): string | null => {
  try {
    run();
    return null;
  } catch (error) {
    return (error as ApiError).code;
  }
};

describe('the authority rule', () => {
  const root = place('tok_r', 'tok_r', []);
  const child = place('tok_c', 'tok_c', ['tok_r']);
  const grandchild = place('tok_g', 'tok_g', ['tok_r', 'tok_c']);
  const sibling = place('tok_s', 'tok_s', ['tok_r']);
  const rootSuccessor = place('tok_r2', 'tok_r', []);
  const rootPredecessor = place('tok_r', 'tok_r', [], 'tok_r2');

  it('relates a token to itself, to what is below it, and to nothing else', () => {
    expect(relationOf(tokenManager(child), child)).toBe('self');
    expect(relationOf(tokenManager(child), grandchild)).toBe('descendant');
    expect(relationOf(tokenManager(root), grandchild)).toBe('descendant');
    expect(relationOf(tokenManager(rootSuccessor), child)).toBe('descendant');
    for (const other of [root, sibling]) expect(relationOf(tokenManager(child), other)).toBe('unrelated');
    expect(relationOf(tokenManager(rootSuccessor), rootPredecessor)).toBe('self');
    expect(relationOf(tokenManager(rootPredecessor), rootSuccessor)).toBe('unrelated');
    expect(relationOf(ACCOUNT_READER, root)).toBe('account');
  });

  it('hides what a token may not manage, and forbids what it may see but not do', () => {
    const at = (target: TokenPlace, held: Partial<Access> = {}) => ({ place: target, access: access(held) });
    expect(refusal(() => permit(tokenManager(child), 'read', at(root)))).toBe('not_found');
    expect(refusal(() => permit(tokenManager(child), 'rotate', at(child)))).toBe('forbidden');
    expect(refusal(() => permit(tokenManager(child), 'revoke', at(child)))).toBeNull();
    expect(refusal(() => permit(tokenManager(child), 'rotate', at(grandchild)))).toBeNull();
    const message = { ...grandchild, type: 'message' as const };
    expect(refusal(() => permit(tokenManager(child), 'read', at(message)))).toBe('not_found');
    expect(refusal(() => permit(tokenManager(child, access({ scopes: new Set(['tokens:full', 'message_tokens:full']) })), 'read', at(message)))).toBeNull();
    // A domain-constrained token sees nothing below it that reaches another domain.
    const inA = tokenManager(child, access({ domains: new Set(['dom_a']) }));
    expect(refusal(() => permit(inA, 'read', at(grandchild, { domains: new Set(['dom_b']) })))).toBe('not_found');
    expect(refusal(() => permit(inA, 'read', at(grandchild, { domains: null })))).toBe('not_found');
    expect(refusal(() => permit(inA, 'read', at(grandchild, { domains: new Set(['dom_a']) })))).toBeNull();
    // A rotated-out secret manages nothing but itself.
    const old = place('tok_c', 'tok_c', ['tok_r'], 'tok_c2');
    expect(relationOf(tokenManager(old), grandchild)).toBe('unrelated');
    expect(relationOf(tokenManager(old), old)).toBe('self');
  });

  it('keeps every outcome inside the manager, and a token’s changes to itself narrowing', () => {
    const held = access({ domains: new Set(['dom_a']), ipAllowlist: compileAllowlist(['10.0.0.0/8']), expiresAt: 1000, rateLimit: { requests: 10, perSeconds: 60 } });
    const manager = tokenManager(child, held);
    const target = { place: grandchild, access: held };
    const outcome = (over: Partial<Access>) => refusal(() => checkOutcome(manager, 'edit', target, { ...held, ...over }));
    expect(outcome({})).toBeNull();
    expect(outcome({ scopes: new Set(['domains:full']) })).toBe('insufficient_scope');
    expect(outcome({ domains: null })).toBe('forbidden');
    expect(outcome({ domains: new Set(['dom_b']) })).toBe('invalid_request');
    expect(outcome({ ipAllowlist: null })).toBe('forbidden');
    expect(outcome({ expiresAt: 1001 })).toBe('forbidden');
    expect(outcome({ expiresAt: null })).toBe('forbidden');
    expect(outcome({ rateLimit: null })).toBe('forbidden');
    expect(outcome({ rateLimit: { requests: 11, perSeconds: 60 } })).toBe('forbidden');
    expect(refusal(() => checkOutcome(ACCOUNT_READER, 'edit', target, access()))).toBeNull();
    // On itself a token may only narrow, even where a wider value would still lie inside what it holds now.
    const narrowed = { ...held, expiresAt: 500 };
    const itself = (over: Partial<Access>) =>
      refusal(() => checkOutcome(tokenManager(child, narrowed), 'edit', { place: child, access: narrowed }, { ...narrowed, ...over }));
    expect(itself({ expiresAt: 400 })).toBeNull();
    expect(itself({ expiresAt: 800 })).toBe('forbidden');
    expect(itself({ scopes: new Set(['tokens:full']) })).toBeNull();
    // Said as what it is, a widening of itself, rather than as a ceiling it happens to meet.
    let thrown: unknown;
    try {
      checkOutcome(tokenManager(child, narrowed), 'edit', { place: child, access: narrowed }, { ...narrowed, expiresAt: 800 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'forbidden', message: 'a token can only narrow itself; this would widen its expires_at', details: { field: 'expires_at' } });
  });
});

describe('rate limits, compared', () => {
  const limit = fc.record({ requests: fc.integer({ min: 1, max: 10_000 }), perSeconds: fc.integer({ min: 1, max: 86_400 }) });

  it('calls a limit no more permissive when it allows no bigger burst and no higher rate', () => {
    const within = (a: RateLimit | null, b: RateLimit | null) => rateLimitWithin(a, b);
    expect(within({ requests: 10, perSeconds: 1 }, { requests: 6000, perSeconds: 60 })).toBe(true);
    expect(within({ requests: 6000, perSeconds: 60 }, { requests: 100, perSeconds: 1 })).toBe(false);
    expect(within({ requests: 600, perSeconds: 3600 }, { requests: 10, perSeconds: 60 })).toBe(false);
    expect(within({ requests: 1, perSeconds: 1 }, { requests: 10, perSeconds: 60 })).toBe(false);
    expect(within(null, { requests: 1, perSeconds: 1 })).toBe(false);
    expect(within({ requests: 1, perSeconds: 1 }, null)).toBe(true);
  });

  it('is reflexive and transitive, and in any window of the outer length lets through no more than the outer does', () => {
    fc.assert(fc.property(limit, (a) => rateLimitWithin(a, a)));
    // Counted, so that the premises are seen to hold often enough for the implications to mean something.
    let chains = 0;
    fc.assert(
      fc.property(limit, limit, limit, (a, b, c) => {
        if (!(rateLimitWithin(a, b) && rateLimitWithin(b, c))) return true;
        chains += 1;
        return rateLimitWithin(a, c);
      }),
      { numRuns: 3000 },
    );
    expect(chains).toBeGreaterThan(50);
    let nested = 0;
    fc.assert(
      fc.property(limit, limit, (inner, outer) => {
        if (!rateLimitWithin(inner, outer)) return true;
        nested += 1;
        // Over n outer windows the inner limit allows at most what the outer allows, plus one window's burst.
        const windows = 10;
        const innerAllows = Math.ceil((windows * outer.perSeconds) / inner.perSeconds) * inner.requests;
        return innerAllows <= windows * outer.requests + inner.requests;
      }),
      { numRuns: 1000 },
    );
    expect(nested).toBeGreaterThan(50);
  });
});
