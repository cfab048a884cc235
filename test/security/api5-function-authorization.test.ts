/**
 * OWASP API5:2023 Broken Function Level Authorization: who may call what, and a token minting
 * tokens can never hand out more than it holds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createToken, expectError, expectStatus, login } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
beforeAll(async () => ({ h, a } = await world()));
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

const MANAGEMENT = (id: string) => [
  ['POST', '/v1/tokens', { name: 'x', scopes: ['domains:read'] }],
  ['GET', '/v1/tokens', undefined],
  ['GET', `/v1/tokens/${id}`, undefined],
  ['PATCH', `/v1/tokens/${id}`, { name: 'renamed' }],
  ['POST', `/v1/tokens/${id}/pause`, {}],
  ['POST', `/v1/tokens/${id}/revoke`, {}],
  ['POST', `/v1/tokens/${id}/rotate`, {}],
  ['DELETE', `/v1/tokens/${id}`, undefined],
] as const;

const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
  h.request({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('API5 broken function level authorization', () => {
  it('refuses a member on every token-management route', async () => {
    const member = asSession(await login(h, await addUser(h, a.owner.accountId, 'member')));
    for (const [method, url, payload] of MANAGEMENT(a.reader.token.id)) expectError(await call(method, url, member, payload), 403, 'forbidden');
  });

  it('refuses a message token on every token-management route', async () => {
    for (const [method, url, payload] of MANAGEMENT(a.reader.token.id)) expect([401, 403]).toContain((await call(method, url, bearer(a.message.secret), payload)).statusCode);
    expectError(await call('GET', '/v1/tokens', bearer(a.message.secret)), 403, 'forbidden');
  });

  it('refuses an api token without tokens:full on every token-management route, naming the scope', async () => {
    for (const [method, url, payload] of MANAGEMENT(a.full.token.id)) {
      const error = expectError(await call(method, url, bearer(a.reader.secret), payload), 403, 'insufficient_scope');
      expect(error.details).toEqual({ scope: 'tokens:full' });
    }
  });

  it('refuses an mcp token on routes of the api type', async () => {
    const { secret } = await createToken(h, a.session, { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    expectError(await call('POST', '/v1/tokens', bearer(secret), { name: 'x', scopes: ['domains:read'] }), 403, 'forbidden');
  });

  it('refuses a session on the operator API and on /v1/verify', async () => {
    expectError(await call('PATCH', `/admin/v1/accounts/${a.owner.accountId}`, a.session, { plan: 'enterprise' }), 401, 'unauthorized');
    expectError(await call('POST', '/v1/verify', a.session, { token: a.full.secret }), 401, 'unauthorized');
  });

  it('does not let a minting token grant scopes it lacks', async () => {
    const { secret } = await createToken(h, a.session, { name: 'minter', scopes: ['tokens:full', 'domains:read'] });
    const error = expectError(await call('POST', '/v1/tokens', bearer(secret), { name: 'child', scopes: ['domains:full'] }), 403, 'insufficient_scope');
    expect(JSON.stringify(error)).toContain('domains:full');
    // '*' from a token means everything it holds itself, not everything the plan allows.
    const star = expectStatus(await call('POST', '/v1/tokens', bearer(secret), { name: 'star', scopes: ['*'] }), 201);
    expect([...star.token.scopes].sort()).toEqual(['domains:read', 'tokens:full']);
  });

  it('does not let a domain-constrained minting token mint for all domains or for another domain', async () => {
    const { secret } = await createToken(h, a.session, { name: 'dom minter', scopes: ['tokens:full', 'domains:read'], domains: [a.domain.id] });
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'all', scopes: ['domains:read'], domains: null })).statusCode).toBeGreaterThanOrEqual(400);
    const other = expectStatus(await call('POST', '/v1/domains', a.session, { name: 'mint-other.example.com' }), 201).domain;
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'other', scopes: ['domains:read'], domains: [other.id] })).statusCode).toBeGreaterThanOrEqual(400);
    const child = expectStatus(await call('POST', '/v1/tokens', bearer(secret), { name: 'inherits', scopes: ['domains:read'] }), 201);
    expect(child.token.domains).toEqual([a.domain.id]);
  });

  it('does not let an allowlisted minting token mint a wider allowlist or none', async () => {
    const { secret } = await createToken(h, a.session, { name: 'ip minter', scopes: ['tokens:full', 'domains:read'], ip_allowlist: ['10.0.0.0/8'] });
    const from = { remoteAddress: '10.1.1.1' };
    const mint = (payload: object) => h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload, ...from });
    expect((await mint({ name: 'wider', scopes: ['domains:read'], ip_allowlist: ['0.0.0.0/0'] })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await mint({ name: 'none', scopes: ['domains:read'], ip_allowlist: null })).statusCode).toBeGreaterThanOrEqual(400);
    const child = expectStatus(await mint({ name: 'narrower', scopes: ['domains:read'], ip_allowlist: ['10.1.0.0/16'] }), 201);
    expect(child.token.ip_allowlist).toEqual(['10.1.0.0/16']);
  });

  it('does not let an expiring minting token mint one that outlives it', async () => {
    const { secret } = await createToken(h, a.session, { name: 'short minter', scopes: ['tokens:full', 'domains:read'], expires_in: '7d' });
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'long', scopes: ['domains:read'], expires_in: '90d' })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'forever', scopes: ['domains:read'], expires_at: null })).statusCode).toBeGreaterThanOrEqual(400);
  });

  it('does not let a message token mint anything', async () => {
    expect([401, 403]).toContain((await call('POST', `/v1/mailboxes/${a.mailbox.id}/message-tokens`, bearer(a.message.secret), { name: 'self-copy', scopes: ['messages:read'] })).statusCode);
    expect([401, 403]).toContain((await call('POST', '/v1/tokens', bearer(a.message.secret), { name: 'x', type: 'message', scopes: ['messages:read'] })).statusCode);
  });
});
