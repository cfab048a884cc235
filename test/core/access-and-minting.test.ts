import { describe, expect, it } from 'vitest';
import { firstWidening, sourceScope, type Access } from '../../src/core/access.js';
import {
  ACCOUNT_READER, ancestryUnder, authorizeMint, canManageMessageTokens, ceilingError, FRESH_PASSWORD_FOR, holdsTokens, MAX_TREE_DEPTH,
  mayRevokeInPassing, permit, sees, type Manager, type TokenPlace,
} from '../../src/core/authority.js';
import { refusal } from '../helpers/refusal.js';
import { compileAllowlist } from '../../src/core/ip-allowlist.js';

const place = (id: string, lineageId: string, ancestry: string[], supersededBy: string | null = null, type: TokenPlace['type'] = 'api'): TokenPlace => ({
  id, lineageId, ancestry, supersededBy, type,
});
const access = (over: Partial<Access> = {}): Access => ({
  type: 'api', scopes: new Set(['tokens:full', 'domains:read']), domains: null, ipAllowlist: null, expiresAt: null, rateLimit: null, ...over,
});
const token = (at: TokenPlace, held: Partial<Access> = {}): Manager => ({ kind: 'token', place: at, access: access(held) });
const owner: Manager = { kind: 'person', managesTokens: true };
const member: Manager = { kind: 'person', managesTokens: false };


const root = place('tok_r', 'tok_r', []);
const child = place('tok_c', 'tok_c', ['tok_r']);

describe('the first widening', () => {
  it('finds the scope the outer token lacks, naming what it would need', () => {
    expect(firstWidening(access(), access())).toBeNull();
    expect(firstWidening(access({ scopes: new Set(['domains:full']) }), access())).toEqual({ dimension: 'scopes', scope: 'domains:full', needs: 'domains:full' });
    const message = access({ type: 'message', scopes: new Set(['messages:send']) });
    expect(firstWidening(message, access())).toEqual({ dimension: 'scopes', scope: 'messages:send', needs: 'submission:full' });
    expect(firstWidening(message, access({ scopes: new Set(['submission:full']) }))).toBeNull();
    expect(firstWidening(access({ type: 'mcp', scopes: new Set(['mcp:read']) }), access())).toEqual({ dimension: 'scopes', scope: 'mcp:read', needs: 'mcp:read' });
  });

  it('maps a message scope to its api source, and nothing else across types', () => {
    expect(sourceScope('api', 'domains:read', 'api')).toBe('domains:read');
    expect(sourceScope('message', 'messages:read', 'api')).toBe('messages:read');
    expect(sourceScope('message', 'messages:send', 'api')).toBe('submission:full');
    expect(sourceScope('message', 'messages:delete', 'api')).toBeNull();
    expect(sourceScope('message', 'messages:read', 'mcp')).toBeNull();
    expect(sourceScope('mcp', 'mcp:read', 'api')).toBeNull();
    expect(sourceScope('api', 'messages:read', 'message')).toBeNull();
  });

  it('finds a domain outside the outer constraint, or every domain under one', () => {
    const inA = access({ domains: new Set(['dom_a']) });
    expect(firstWidening(access(), inA)).toEqual({ dimension: 'domains', domain: null });
    expect(firstWidening(access({ domains: new Set(['dom_a', 'dom_b']) }), inA)).toEqual({ dimension: 'domains', domain: 'dom_b' });
    expect(firstWidening(inA, inA)).toBeNull();
    expect(firstWidening(inA, access())).toBeNull();
  });

  it('finds an allowlist wider than the outer one, or none under one', () => {
    const outer = access({ ipAllowlist: compileAllowlist(['10.0.0.0/8']) });
    expect(firstWidening(access(), outer)).toEqual({ dimension: 'ip_allowlist' });
    expect(firstWidening(access({ ipAllowlist: compileAllowlist(['11.0.0.0/8']) }), outer)).toEqual({ dimension: 'ip_allowlist' });
    expect(firstWidening(access({ ipAllowlist: compileAllowlist(['10.1.0.0/16']) }), outer)).toBeNull();
    expect(firstWidening(access({ ipAllowlist: compileAllowlist(['10.1.0.0/16']) }), access())).toBeNull();
  });

  it('finds a later expiry, or none under an expiring outer; the same instant lies inside', () => {
    const outer = access({ expiresAt: 1000 });
    expect(firstWidening(access({ expiresAt: 1000 }), outer)).toBeNull();
    expect(firstWidening(access({ expiresAt: 999 }), outer)).toBeNull();
    expect(firstWidening(access({ expiresAt: 1001 }), outer)).toEqual({ dimension: 'expires_at' });
    expect(firstWidening(access(), outer)).toEqual({ dimension: 'expires_at' });
    expect(firstWidening(access({ expiresAt: 1 }), access())).toBeNull();
  });

  it('finds a looser rate limit', () => {
    const outer = access({ rateLimit: { requests: 10, perSeconds: 60 } });
    expect(firstWidening(access(), outer)).toEqual({ dimension: 'rate_limit' });
    expect(firstWidening(access({ rateLimit: { requests: 10, perSeconds: 60 } }), outer)).toBeNull();
    expect(firstWidening(access({ rateLimit: { requests: 11, perSeconds: 60 } }), outer)).toEqual({ dimension: 'rate_limit' });
  });

  it('reports the dimensions in order: scopes, domains, allowlist, expiry, rate limit', () => {
    const outer = access({ domains: new Set(['dom_a']), ipAllowlist: compileAllowlist(['10.0.0.0/8']), expiresAt: 5, rateLimit: { requests: 1, perSeconds: 1 } });
    const wide = { scopes: new Set(['domains:full']), domains: null, ipAllowlist: null, expiresAt: null, rateLimit: null };
    expect(firstWidening(access(wide), outer)?.dimension).toBe('scopes');
    expect(firstWidening(access({ ...wide, scopes: outer.scopes }), outer)?.dimension).toBe('domains');
    expect(firstWidening(access({ ...wide, scopes: outer.scopes, domains: outer.domains }), outer)?.dimension).toBe('ip_allowlist');
    expect(firstWidening(access({ ...wide, scopes: outer.scopes, domains: outer.domains, ipAllowlist: outer.ipAllowlist }), outer)?.dimension).toBe('expires_at');
    expect(firstWidening(access({ ...wide, scopes: outer.scopes, domains: outer.domains, ipAllowlist: outer.ipAllowlist, expiresAt: 5 }), outer)?.dimension).toBe('rate_limit');
  });
});

describe('a refusal for a result wider than its manager', () => {
  it('names the field as the client wrote it, and reads a domain outside the constraint as unknown', () => {
    expect(refusal(() => { throw ceilingError({ dimension: 'scopes', scope: 'domains:full', needs: 'domains:full' }); })).toEqual({
      code: 'insufficient_scope', message: "a token cannot grant 'domains:full', which it does not hold itself", details: { field: 'scopes', scope: 'domains:full' },
    });
    expect(refusal(() => { throw ceilingError({ dimension: 'scopes', scope: 'messages:send', needs: 'submission:full' }); })).toEqual({
      code: 'insufficient_scope', message: "granting 'messages:send' needs 'submission:full', which this token does not hold", details: { field: 'scopes', scope: 'submission:full' },
    });
    expect(refusal(() => { throw ceilingError({ dimension: 'domains', domain: null }); })).toEqual({
      code: 'forbidden', message: 'a domain-constrained token cannot give a token every domain', details: { field: 'domains' },
    });
    expect(refusal(() => { throw ceilingError({ dimension: 'domains', domain: 'dom_b' }); })).toEqual({
      code: 'invalid_request', message: "unknown domain 'dom_b'", details: { field: 'domains', value: 'dom_b' },
    });
    expect(refusal(() => { throw ceilingError({ dimension: 'ip_allowlist' }); })).toEqual({
      code: 'forbidden', message: 'the IP allowlist must lie within the acting token’s own allowlist', details: { field: 'ip_allowlist' },
    });
    expect(refusal(() => { throw ceilingError({ dimension: 'expires_at' }); })).toEqual({
      code: 'forbidden', message: 'a token cannot give a token a life beyond its own', details: { field: 'expires_at' },
    });
    expect(refusal(() => { throw ceilingError({ dimension: 'rate_limit' }); })).toEqual({
      code: 'forbidden', message: 'the rate limit must be no more permissive than the acting token’s own', details: { field: 'rate_limit' },
    });
  });
});

describe('minting', () => {
  it('lets a person who manages tokens mint anything (the plan bounds them elsewhere), and a member nothing', () => {
    expect(refusal(() => authorizeMint(owner, access({ type: 'mcp', scopes: new Set(['mcp:send']) })))).toBeNull();
    expect(refusal(() => authorizeMint(member, access()))).toEqual({ code: 'forbidden', message: 'this user’s role does not manage tokens', details: undefined });
  });

  it('lets only a current api token mint, and only api or message tokens', () => {
    expect(refusal(() => authorizeMint(token(root), access({ scopes: new Set(['domains:read']) })))).toBeNull();
    const mcp = { kind: 'token', place: place('tok_m', 'tok_m', [], null, 'mcp'), access: access({ type: 'mcp', scopes: new Set(['mcp:read']) }) } as Manager;
    expect(refusal(() => authorizeMint(mcp, access({ type: 'mcp', scopes: new Set(['mcp:read']) })))).toEqual({
      code: 'forbidden', message: 'an mcp token cannot create tokens', details: { field: 'type' },
    });
    expect(refusal(() => authorizeMint(token(place('tok_r', 'tok_r', [], 'tok_r2')), access({ scopes: new Set(['domains:read']) })))).toEqual({
      code: 'forbidden', message: 'this secret has been rotated: its successor mints tokens now', details: { rotated_to: 'tok_r2' },
    });
    expect(refusal(() => authorizeMint(token(root), access({ type: 'mcp', scopes: new Set() })))).toEqual({
      code: 'forbidden', message: 'an api token cannot create mcp tokens', details: { field: 'type' },
    });
  });

  it('mints a message token only with message_tokens:full, and inside what the minter holds', () => {
    const message = access({ type: 'message', scopes: new Set(['messages:read']) });
    expect(refusal(() => authorizeMint(token(root, { scopes: new Set(['messages:read']) }), message))).toEqual({
      code: 'insufficient_scope', message: "minting message tokens needs 'message_tokens:full'", details: { scope: 'message_tokens:full' },
    });
    expect(refusal(() => authorizeMint(token(root, { scopes: new Set(['message_tokens:full', 'messages:read']) }), message))).toBeNull();
    expect(refusal(() => authorizeMint(token(root, { scopes: new Set(['message_tokens:full']) }), message))?.code).toBe('insufficient_scope');
  });

  it('nests at most MAX_TREE_DEPTH deep', () => {
    const lineages = (n: number) => Array.from({ length: n }, (_, i) => `tok_${i}`);
    const deepest = place('tok_x', 'tok_x', lineages(MAX_TREE_DEPTH - 2));
    expect(refusal(() => authorizeMint(token(deepest), access({ scopes: new Set(['domains:read']) })))).toBeNull();
    expect(refusal(() => authorizeMint(token(place('tok_x', 'tok_x', lineages(MAX_TREE_DEPTH - 1))), access({ scopes: new Set(['domains:read']) })))).toEqual({
      code: 'conflict', message: `tokens minted by tokens may nest at most ${MAX_TREE_DEPTH} deep`, details: { limit: 'tree_depth', max: MAX_TREE_DEPTH },
    });
    expect(MAX_TREE_DEPTH).toBe(16);
  });

  it('refuses a result wider than the minter in any dimension', () => {
    const held = { expiresAt: 100 };
    expect(refusal(() => authorizeMint(token(root, held), access({ scopes: new Set(['domains:read']), expiresAt: 100 })))).toBeNull();
    expect(refusal(() => authorizeMint(token(root, held), access({ scopes: new Set(['domains:read']), expiresAt: 101 })))?.details).toEqual({ field: 'expires_at' });
    expect(refusal(() => authorizeMint(token(root), access({ scopes: new Set(['domains:full']) })))?.code).toBe('insufficient_scope');
  });

  it('places what a token mints below its own lineage, and what a person mints at the top', () => {
    expect(ancestryUnder(owner)).toEqual([]);
    expect(ancestryUnder(token(root))).toEqual(['tok_r']);
    expect(ancestryUnder(token(place('tok_c2', 'tok_c', ['tok_r'])))).toEqual(['tok_r', 'tok_c']);
  });
});

describe('who sees, holds and revokes in passing', () => {
  const target = (at: TokenPlace, held: Partial<Access> = {}) => ({ place: at, access: access(held) });

  it('lets a token with message_tokens:full, or a person, touch message tokens', () => {
    expect(canManageMessageTokens(owner)).toBe(true);
    expect(canManageMessageTokens(member)).toBe(true);
    expect(canManageMessageTokens(token(root))).toBe(false);
    expect(canManageMessageTokens(token(root, { scopes: new Set(['message_tokens:full']) }))).toBe(true);
  });

  it('sees what is below or itself, a message token only with the scope for it, and under a domain constraint only tokens inside it', () => {
    expect(sees(owner, target(root))).toBe(true);
    expect(sees(token(root), target(child))).toBe(true);
    expect(sees(token(child), target(root))).toBe(false);
    const message = place('tok_msg', 'tok_msg', ['tok_r'], null, 'message');
    expect(sees(token(root), target(message))).toBe(false);
    expect(sees(token(root, { scopes: new Set(['message_tokens:full']) }), target(message))).toBe(true);
    expect(sees(owner, target(message))).toBe(true);
    const inAB = token(root, { domains: new Set(['dom_a', 'dom_b']) });
    expect(sees(inAB, target(child, { domains: new Set(['dom_a']) }))).toBe(true);
    expect(sees(inAB, target(child, { domains: new Set(['dom_a', 'dom_b']) }))).toBe(true);
    expect(sees(inAB, target(child, { domains: new Set(['dom_a', 'dom_c']) }))).toBe(false);
    expect(sees(inAB, target(child))).toBe(false);
  });

  it('lets a member manage nothing, and names why', () => {
    expect(refusal(() => permit(member, 'read', target(root)))).toEqual({ code: 'forbidden', message: 'this user’s role does not manage tokens', details: undefined });
    expect(refusal(() => permit(owner, 'delete', target(root)))).toBeNull();
    expect(refusal(() => permit(ACCOUNT_READER, 'rotate', target(root)))).toBeNull();
  });

  it('lets a token do to itself only what narrows or ends it, and anything to what is below it', () => {
    const self = (action: Parameters<typeof permit>[1]) => refusal(() => permit(token(child), action, target(child)))?.code ?? 'yes';
    expect(Object.fromEntries((['read', 'rename', 'edit', 'pause', 'resume', 'rotate', 'revoke', 'delete'] as const).map((a) => [a, self(a)]))).toEqual({
      read: 'yes', rename: 'yes', edit: 'yes', pause: 'yes', resume: 'forbidden', rotate: 'forbidden', revoke: 'yes', delete: 'forbidden',
    });
    expect(refusal(() => permit(token(child), 'delete', target(child)))).toEqual({ code: 'forbidden', message: 'a token may not delete itself', details: { action: 'delete' } });
    const grandchild = place('tok_g', 'tok_g', ['tok_r', 'tok_c']);
    for (const action of ['read', 'rename', 'edit', 'pause', 'resume', 'rotate', 'revoke', 'delete'] as const) {
      expect(refusal(() => permit(token(child), action, target(grandchild))), action).toBeNull();
    }
  });

  it('asks a fresh password of a person for what takes access away or gives it back', () => {
    expect(FRESH_PASSWORD_FOR).toEqual({ rotate: 'rotate a token', revoke: 'revoke a token', delete: 'delete a token', resume: 'resume a token' });
  });

  it('hands the token that comes with a new domain to a manager of tokens or a current api token only', () => {
    expect(holdsTokens(owner)).toBe(true);
    expect(holdsTokens(member)).toBe(false);
    expect(holdsTokens(token(root))).toBe(true);
    expect(holdsTokens(token(place('tok_r', 'tok_r', [], 'tok_r2')))).toBe(false);
    expect(holdsTokens({ kind: 'token', place: place('tok_m', 'tok_m', [], null, 'mcp'), access: access({ type: 'mcp' }) })).toBe(false);
  });

  it('takes a token down with something else only for a caller who could revoke it', () => {
    expect(mayRevokeInPassing(owner, target(root))).toBe(true);
    expect(mayRevokeInPassing(member, target(root))).toBe(false);
    expect(mayRevokeInPassing(token(root), target(child))).toBe(true);
    expect(mayRevokeInPassing(token(child), target(root))).toBe(false);
  });
});
