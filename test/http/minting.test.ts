import { describe, expect, it } from 'vitest';
import { asSession, bearer, createDomain, createToken, expectError, expectStatus, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

const mint = (secret: string, payload: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload });

describe('a token that mints tokens', () => {
  it('needs tokens:full', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'no minting', scopes: ['domains:full'] });
    expect(expectError(await mint(secret, { name: 'x', scopes: ['domains:read'] }), 403, 'insufficient_scope').details).toEqual({ scope: 'tokens:full' });
  });

  it('mints narrower tokens, records itself as creator, and cannot grant scopes it lacks', async () => {
    const { secret, token: parent } = await createToken(h, asSession(owner), { name: 'ci minter', scopes: ['tokens:full', 'domains:full'] });
    const child = expectStatus(await mint(secret, { name: 'child', scopes: ['domains:read'] }), 201);
    expect(child.token.created_by).toEqual({ type: 'token', id: parent.id, name: 'ci minter' });
    const err = expectError(await mint(secret, { name: 'wider', scopes: ['domains:read', 'mailboxes:read'] }), 403, 'insufficient_scope');
    expect(err.details).toMatchObject({ field: 'scopes', scope: 'mailboxes:read' });
    const star = expectStatus(await mint(secret, { name: 'everything I have', scopes: ['*'] }), 201);
    expect(star.token.scopes.sort()).toEqual(['domains:full', 'tokens:full']);
  });

  it('keeps children inside its domains', async () => {
    const [domainA, domainB] = [await createDomain(h, asSession(owner)), await createDomain(h, asSession(owner))];
    const { secret } = await createToken(h, asSession(owner), { name: 'A minter', scopes: ['tokens:full', 'domains:read'], domains: [domainA.id] });
    const inherited = expectStatus(await mint(secret, { name: 'inherits', scopes: ['domains:read'] }), 201);
    expect(inherited.token.domains).toEqual([domainA.id]);
    expectError(await mint(secret, { name: 'all', scopes: ['domains:read'], domains: null }), 403, 'forbidden');
    // A domain outside the constraint is reported exactly like one that does not exist.
    const outside = expectError(await mint(secret, { name: 'B', scopes: ['domains:read'], domains: [domainB.id] }), 400, 'invalid_request');
    const missing = expectError(await mint(secret, { name: 'B', scopes: ['domains:read'], domains: ['dom_missing'] }), 400, 'invalid_request');
    expect(outside.message.replace(domainB.id, 'ID')).toBe(missing.message.replace('dom_missing', 'ID'));
  });

  it('keeps children inside its IP allowlist', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'net minter', scopes: ['tokens:full', 'domains:read'], ip_allowlist: ['127.0.0.0/8', '10.0.0.0/16'] });
    expect(expectStatus(await mint(secret, { name: 'inherits', scopes: ['domains:read'] }), 201).token.ip_allowlist).toEqual(['127.0.0.0/8', '10.0.0.0/16']);
    expectStatus(await mint(secret, { name: 'narrower', scopes: ['domains:read'], ip_allowlist: ['10.0.1.0/24', '127.0.0.1'] }), 201);
    expectError(await mint(secret, { name: 'wider', scopes: ['domains:read'], ip_allowlist: ['10.0.0.0/8'] }), 403, 'forbidden');
    expectError(await mint(secret, { name: 'other', scopes: ['domains:read'], ip_allowlist: ['192.0.2.1'] }), 403, 'forbidden');
    expectError(await mint(secret, { name: 'none', scopes: ['domains:read'], ip_allowlist: null }), 403, 'forbidden');
  });

  it('cannot outlive itself', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'mortal', scopes: ['tokens:full', 'domains:read'], expires_in: '30d' });
    expect(expectStatus(await mint(secret, { name: 'inherits', scopes: ['domains:read'] }), 201).token.expires_at).toBe(token.expires_at);
    expectStatus(await mint(secret, { name: 'shorter', scopes: ['domains:read'], expires_in: '7d' }), 201);
    expectError(await mint(secret, { name: 'longer', scopes: ['domains:read'], expires_in: '90d' }), 403, 'forbidden');
    expectError(await mint(secret, { name: 'forever', scopes: ['domains:read'], expires_at: null }), 403, 'forbidden');
  });

  it('cannot mint another type, and sees and manages only what it minted: never a token a person made', async () => {
    const { secret, token: limited } = await createToken(h, asSession(owner), { name: 'limited', scopes: ['tokens:full', 'domains:read'] });
    expectError(await mint(secret, { name: 'agent', type: 'mcp', scopes: ['mcp:read'] }), 403, 'forbidden');
    const { token: wide } = await createToken(h, asSession(owner), { name: 'wide', scopes: ['*'] });
    const { token: narrow } = await createToken(h, asSession(owner), { name: 'narrow', scopes: ['domains:read'] });
    const child = expectStatus(await mint(secret, { name: 'child', scopes: ['domains:read'] }), 201).token;
    for (const other of [wide, narrow]) {
      expectError(await h.request({ method: 'GET', url: `/v1/tokens/${other.id}`, headers: bearer(secret) }), 404, 'not_found');
      expectError(await h.request({ method: 'POST', url: `/v1/tokens/${other.id}/revoke`, headers: bearer(secret), payload: {} }), 404, 'not_found');
    }
    const listed = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?limit=100', headers: bearer(secret) }), 200);
    expect(listed.data.map((t: any) => t.id).sort()).toEqual([limited.id, child.id].sort());
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${child.id}`, headers: bearer(secret), payload: { scopes: ['domains:full'] } }), 403, 'insufficient_scope');
    expect(expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${child.id}`, headers: bearer(secret), payload: { name: 'renamed child' } }), 200).token.name).toBe('renamed child');
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${wide.id}`, headers: asSession(owner) }), 200).token.status).toBe('active');
  });
});
