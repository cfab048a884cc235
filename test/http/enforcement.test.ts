import { describe, expect, it } from 'vitest';
import { asSession, bearer, createDomain, createMailbox, createToken, expectError, expectStatus, login, operator, ownerSession, withoutRequestId, type Session } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
let domainA: { id: string; name: string };
let domainB: { id: string; name: string };
shareApp({
  app: (app) => (h = app),
  owner: async (signedIn) => {
    owner = signedIn;
    domainA = await createDomain(h, asSession(owner));
    domainB = await createDomain(h, asSession(owner));
  },
});

const get = (url: string, secret: string, headers: Record<string, string> = {}) =>
  h.request({ method: 'GET', url, headers: { ...bearer(secret), ...headers } });

describe('scopes', () => {
  it('refuses a missing scope with 403 insufficient_scope naming it; full implies read', async () => {
    const { secret: reader } = await createToken(h, asSession(owner), { name: 'reader', scopes: ['domains:read'] });
    expectStatus(await get('/v1/domains', reader), 200);
    const err = expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(reader), payload: { name: 'new.example.com' } }), 403, 'insufficient_scope');
    expect(err.details).toEqual({ scope: 'domains:full' });
    expect(expectError(await get('/v1/activity', reader), 403, 'insufficient_scope').details).toEqual({ scope: 'activity:read' });

    const { secret: admin } = await createToken(h, asSession(owner), { name: 'admin', scopes: ['domains:full'] });
    expectStatus(await get('/v1/domains', admin), 200);
    expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(admin), payload: { name: 'made-by-token.example.com' } }), 201);
  });

  it('lets an mcp token read with mcp:read and send only with mcp:send', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    expectStatus(await get('/v1/domains', secret), 200);
    const err = expectError(await h.request({ method: 'POST', url: '/v1/email', headers: bearer(secret), payload: { from: `a@${domainA.name}`, to: 'x@example.org', subject: 's', text: 't' } }), 403, 'insufficient_scope');
    expect(err.details).toEqual({ scope: 'mcp:send' });
  });
});

describe('domain constraint', () => {
  it('makes other domains indistinguishable from nonexistent ones, and absent from lists', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'only A', scopes: ['domains:read', 'mailboxes:full', 'activity:read', 'submission:full', 'messages:read'], domains: [domainA.id] });
    expectStatus(await get(`/v1/domains/${domainA.id}`, secret), 200);
    const other = await get(`/v1/domains/${domainB.id}`, secret);
    const missing = await get('/v1/domains/dom_01HZZZZZZZZZZZZZZZZZZZZZZZ', secret);
    expect(other.statusCode).toBe(404);
    expect(withoutRequestId(other.body)).toBe(withoutRequestId(missing.body).replace('dom_01HZZZZZZZZZZZZZZZZZZZZZZZ', domainB.id));

    const list = expectStatus(await get('/v1/domains', secret), 200);
    expect(list.data.map((d: any) => d.id)).toEqual([domainA.id]);

    expectError(await get(`/v1/domains/${domainB.id}/mailboxes`, secret), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: `/v1/domains/${domainB.id}/mailboxes`, headers: bearer(secret), payload: { local_part: 'x' } }), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: '/v1/email', headers: bearer(secret), payload: { from: `a@${domainB.name}`, to: 'x@example.org', subject: 's', text: 't' } }), 404, 'not_found');
    expectStatus(await h.request({ method: 'POST', url: '/v1/email', headers: bearer(secret), payload: { from: `a@${domainA.name}`, to: 'x@example.org', subject: 's', text: 't' } }), 202);

    await h.request({ method: 'POST', url: '/v1/email', headers: asSession(owner), payload: { from: `b@${domainB.name}`, to: 'y@example.org', subject: 'secret B', text: 't' } });
    const activity = expectStatus(await get('/v1/activity', secret), 200);
    expect(activity.data.length).toBeGreaterThan(0);
    expect(activity.data.every((a: any) => a.domain_id === domainA.id)).toBe(true);
  });
});

describe('accounts', () => {
  it('answers 404 for another account’s objects, identical to nonexistent ones', async () => {
    const other = await ownerSession(h);
    const { secret } = await createToken(h, asSession(other), { name: 'other', scopes: ['*'] });
    const { token: mine } = await createToken(h, asSession(owner), { name: 'mine', scopes: ['domains:read'] });
    const mailbox = await createMailbox(h, asSession(owner), domainA.id, 'private');
    for (const url of [`/v1/domains/${domainA.id}`, `/v1/tokens/${mine.id}`, `/v1/mailboxes/${mailbox.id}/messages`, `/v1/domains/${domainA.id}/mailboxes`]) {
      expectError(await get(url, secret), 404, 'not_found');
      expectError(await h.request({ method: 'GET', url, headers: asSession(other) }), 404, 'not_found');
    }
    expectError(await h.request({ method: 'POST', url: `/v1/tokens/${mine.id}/revoke`, headers: bearer(secret), payload: {} }), 404, 'not_found');
    expectError(await h.request({ method: 'DELETE', url: `/v1/domains/${domainA.id}`, headers: asSession(other) }), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(other), payload: { name: 'x', scopes: ['domains:read'], domains: [domainA.id] } }), 400, 'invalid_request');
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${mine.id}`, headers: asSession(owner) }), 200).token.status).toBe('active');
  });
});

describe('mail', () => {
  it('delivers submissions to local mailboxes and lists them to holders of messages:read', async () => {
    const inbox = await createMailbox(h, asSession(owner), domainA.id, 'support');
    const { secret: sender } = await createToken(h, asSession(owner), { name: 'sender', scopes: ['submission:full', 'messages:read'] });
    const sent = expectStatus(await h.request({ method: 'POST', url: '/v1/email', headers: bearer(sender), payload: { from: `noreply@${domainA.name}`, to: [inbox.address, 'someone@example.org'], subject: 'Hello', text: 'Body' } }), 202);
    expect(sent).toEqual({ accepted: [inbox.address, 'someone@example.org'], delivered_locally: [inbox.address] });
    const messages = expectStatus(await get(`/v1/mailboxes/${inbox.id}/messages`, sender), 200);
    expect(messages.data[0]).toMatchObject({ direction: 'inbound', from: `noreply@${domainA.name}`, to: inbox.address, subject: 'Hello', text: 'Body' });
    expectError(await h.request({ method: 'POST', url: '/v1/email', headers: bearer(sender), payload: { from: 'not-an-address', to: 'x@example.org', subject: 's', text: 't' } }), 400, 'invalid_request');
  });
});

describe('IP allowlist', () => {
  it('admits listed addresses and ranges only', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'office', scopes: ['domains:read'], ip_allowlist: ['127.0.0.0/8'] });
    expectStatus(await get('/v1/domains', secret), 200);
    const { secret: elsewhere } = await createToken(h, asSession(owner), { name: 'elsewhere', scopes: ['domains:read'], ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    const err = expectError(await get('/v1/domains', elsewhere), 403, 'ip_not_allowed');
    expect(err.details).toEqual({ ip: '127.0.0.1' });
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', remoteAddress: '203.0.113.9', headers: bearer(elsewhere) }), 200);
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', remoteAddress: '2001:db8::42', headers: bearer(elsewhere) }), 200);
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', remoteAddress: '::ffff:203.0.113.9', headers: bearer(elsewhere) }), 200);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', remoteAddress: '203.0.114.1', headers: bearer(elsewhere) }), 403, 'ip_not_allowed');
  });

  it('ignores X-Forwarded-For unless the proxy is trusted, and then takes the address the proxy saw', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'xff', scopes: ['domains:read'], ip_allowlist: ['203.0.113.7'] });
    expectError(await get('/v1/domains', secret, { 'x-forwarded-for': '203.0.113.7' }), 403, 'ip_not_allowed');

    const proxied = await startHarness({ LATCHKEY_TRUST_PROXY: '10.0.0.0/8' });
    try {
      const s = await ownerSession(proxied);
      const { secret: t } = await createToken(proxied, asSession(s), { name: 'behind proxy', scopes: ['domains:read'], ip_allowlist: ['203.0.113.7'] });
      const via = (remoteAddress: string, xff: string) =>
        proxied.request({ method: 'GET', url: '/v1/domains', remoteAddress, headers: { ...bearer(t), 'x-forwarded-for': xff } });
      expectStatus(await via('10.1.2.3', '203.0.113.7'), 200);
      // An untrusted peer cannot claim an address.
      expectError(await via('198.51.100.1', '203.0.113.7'), 403, 'ip_not_allowed');
      // A client that prepends the allowed address is still seen as itself.
      expectError(await via('10.1.2.3', '203.0.113.7, 198.51.100.66'), 403, 'ip_not_allowed');
    } finally {
      await proxied.close();
    }
  });
});

describe('time and plans', () => {
  it('refuses an expired token with 401 token_expired', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'brief', scopes: ['domains:read'], expires_in: '1h' });
    expectStatus(await get('/v1/domains', secret), 200);
    h.clock.advance(3_600_000);
    expectError(await get('/v1/domains', secret), 401, 'token_expired');
    owner = await login(h, owner.email);
    const listed = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: asSession(owner) }), 200).token;
    expect(listed.status).toBe('expired');
  });

  it('narrows cached tokens at once when the plan changes', async () => {
    const s = await ownerSession(h);
    const domain = await createDomain(h, asSession(s));
    const { secret } = await createToken(h, asSession(s), { name: 'writer', scopes: ['domains:full'] });
    expectStatus(await get(`/v1/domains/${domain.id}`, secret), 200);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${s.accountId}`, headers: operator(h), payload: { plan: 'starter' } }), 200);
    expectStatus(await get(`/v1/domains/${domain.id}`, secret), 200);
    expectError(await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: bearer(secret) }), 403, 'plan_restricted');
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${s.accountId}`, headers: operator(h), payload: { plan: 'basic' } }), 200);
    expectError(await get(`/v1/domains/${domain.id}`, secret), 403, 'plan_restricted');
  });
});
