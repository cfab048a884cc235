/**
 * The authorization server, attacked from outside over HTTP by category of the OWASP API Security
 * Top 10: someone who holds one connection, one registration or one account and wants another's,
 * a longer-lived or wider token, a code sent somewhere else, or the server to fetch what it
 * should not.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createDomain, expectError, expectStatus, login, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { INITIALIZE, post } from '../mcp/agent.js';
import { oauthAgent, pkce, REDIRECT } from '../oauth/client.js';

let h: Harness;
let base: string;
let agent: ReturnType<typeof oauthAgent>;
shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, (base = url))) });

const host = () => ({ host: new URL(base).host });
const authorize = (query: string) => h.request({ method: 'GET', url: `/oauth/authorize?${query}`, headers: host() });
const mcp = async (token: string) => (await post(base, INITIALIZE, { authorization: `Bearer ${token}` })).status;
const connections = async (person: Parameters<typeof asSession>[0]) =>
  expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(person) }), 200).data as { id: string; client: { id: string } }[];

describe('API1 object level authorization: another account’s or another person’s connection', () => {
  it('another account’s owner can neither see nor disconnect a connection (404 as for none), and it keeps working', async () => {
    const owner = await ownerSession(h);
    const { pair } = await agent.connect(owner);
    const [connection] = await connections(owner);
    const stranger = await ownerSession(h);
    expect(await connections(stranger)).toEqual([]);
    const refused = expectError(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${connection!.id}`, headers: asSession(stranger) }), 404, 'not_found');
    const none = expectError(await h.request({ method: 'DELETE', url: '/v1/connected-agents/grt_01JNOSUCHGRANT0000000000000', headers: asSession(stranger) }), 404, 'not_found');
    expect(refused.message).toBe(none.message);
    expect(await mcp(pair.access_token)).toBe(200);
  });

  it('a member sees and disconnects only their own connections, never an owner’s', async () => {
    const owner = await ownerSession(h);
    const { pair } = await agent.connect(owner);
    const [connection] = await connections(owner);
    const member = await login(h, await addUser(h, owner.accountId, 'member'));
    expect(await connections(member)).toEqual([]);
    expectError(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${connection!.id}`, headers: asSession(member) }), 404, 'not_found');
    expect(await mcp(pair.access_token)).toBe(200);
  });

  it('a client cannot use, refresh or revoke with another client’s refresh token', async () => {
    const owner = await ownerSession(h);
    const victim = await agent.connect(owner);
    const thief = await agent.register({ client_name: 'Thief' });
    const stolen = await agent.tokens({ grant_type: 'refresh_token', refresh_token: victim.pair.refresh_token, client_id: thief });
    expect(stolen.json()).toMatchObject({ error: 'invalid_grant' });
    expectStatus(await h.request({ method: 'POST', url: '/oauth/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token: victim.pair.refresh_token, client_id: thief }).toString() }), 200);
    expect(await mcp(victim.pair.access_token)).toBe(200);
    expect(expectStatus(await agent.tokens({ grant_type: 'refresh_token', refresh_token: victim.pair.refresh_token, client_id: victim.clientId }), 200)).toMatchObject({ access_token: expect.any(String) });
  });
});

describe('API2 authentication: PKCE, codes and refresh tokens', () => {
  const redeem = (fields: Record<string, string>) => agent.tokens({ grant_type: 'authorization_code', redirect_uri: REDIRECT, resource: `${base}/mcp`, ...fields });

  it('refuses an authorization request without PKCE, with plain, or with a method left to default', async () => {
    const { clientId } = await agent.connect(await ownerSession(h));
    const { challenge } = pkce();
    const full = new URLSearchParams(agent.authorizeQuery(clientId, challenge));
    for (const change of [
      (q: URLSearchParams) => q.delete('code_challenge'), (q: URLSearchParams) => q.delete('code_challenge_method'),
      (q: URLSearchParams) => q.set('code_challenge_method', 'plain'), (q: URLSearchParams) => q.set('code_challenge_method', 's256'),
      (q: URLSearchParams) => q.set('code_challenge', 'short'), (q: URLSearchParams) => q.set('code_challenge', `${challenge}=`),
    ]) {
      const query = new URLSearchParams(full);
      change(query);
      const back = new URL(String((await authorize(query.toString())).headers.location));
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('code')).toBeNull();
    }
  });

  it('refuses a code with no verifier, the challenge as its verifier, another redirect URI or a near-miss code, and lets no try succeed after', async () => {
    const owner = await ownerSession(h);
    const clientId = await agent.register({ redirect_uris: [REDIRECT, 'https://app.example/cb'] });
    const { verifier, challenge } = pkce();
    const code = (await agent.consent(owner, agent.authorizeQuery(clientId, challenge))).searchParams.get('code')!;
    for (const fields of [
      { code, client_id: clientId }, { code, client_id: clientId, code_verifier: challenge },
      { code, client_id: clientId, code_verifier: verifier, redirect_uri: 'https://app.example/cb' },
      { code: `${code.slice(0, -1)}${code.endsWith('A') ? 'B' : 'A'}`, client_id: clientId, code_verifier: verifier },
    ] as Record<string, string>[]) {
      const refused = await redeem(fields);
      expect(refused.statusCode).toBe(400);
      expect(refused.body).not.toContain(code);
      expect(refused.body).not.toContain(verifier);
    }
  });

  it('never accepts a refresh token or a code as a bearer token, nor an access token as a refresh token', async () => {
    const owner = await ownerSession(h);
    const { clientId, pair, code } = await agent.connect(owner);
    expect(await mcp(pair.refresh_token)).toBe(401);
    expect(await mcp(code)).toBe(401);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(pair.refresh_token) }), 401, 'unauthorized');
    expect((await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.access_token, client_id: clientId })).json()).toMatchObject({ error: 'invalid_grant' });
    expect(await mcp(pair.access_token)).toBe(200);
  });
});

describe('API2 authentication: redirect URIs', () => {
  const REGISTERED = 'https://app.example/cb';

  it('never sends a code, or an error, to a URI that is not exactly the registered one', async () => {
    const clientId = await agent.register({ redirect_uris: [REGISTERED] });
    const { challenge } = pkce();
    for (const redirect of [
      'https://app.example/cb/', 'https://app.example/CB', 'https://app.example/cb?next=https://evil.example', 'https://app.example/cb#x',
      'https://app.example/cb/../evil', 'https://app.example/cb/%2e%2e/evil', 'https://app.example.evil.example/cb', 'https://app.example@evil.example/cb',
      'https://evil.example/cb', '//evil.example/cb', 'https://APP.example/cb', 'https://app.example:443/cb', 'http://app.example/cb', 'javascript:alert(1)//',
      'https://app.example/cb\\@evil.example', ' https://app.example/cb',
    ]) {
      const sent = await authorize(agent.authorizeQuery(clientId, challenge, { redirect_uri: redirect }));
      expect(sent.statusCode, redirect).toBe(400);
      expect(sent.headers.location, redirect).toBeUndefined();
    }
    expect((await authorize(agent.authorizeQuery(clientId, challenge, { redirect_uri: REGISTERED }))).statusCode).toBe(302);
  });

  it('refuses to register plain http beyond loopback, schemes a browser runs itself, fragments and wildcards', async () => {
    for (const redirect of [
      'http://app.example/cb', 'http://192.168.1.5/cb', 'http://127.0.0.1.nip.io/cb', 'javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd',
      'https://app.example/cb#fragment', 'https://*.example/cb', 'https://app.example/cb/../x', 'HTTPS://APP.EXAMPLE/cb', '',
    ]) {
      const refused = await h.request({ method: 'POST', url: '/oauth/register', payload: { client_name: 'x', redirect_uris: [redirect] } });
      expect(refused.statusCode, redirect).toBe(400);
      expect(refused.json().error, redirect).toMatch(/^invalid_(redirect_uri|client_metadata|request)$/);
    }
  });
});

describe('API5 function level authorization: more than the plan or the role gives', () => {
  it('never grants a scope outside the MCP ones, beyond the plan, or more than was asked, whatever the consent form says', async () => {
    const owner = await ownerSession(h, 'starter');
    const clientId = await agent.register();
    const { challenge } = pkce();
    const { request } = await agent.openConsent(owner, agent.authorizeQuery(clientId, challenge, { scope: 'mcp:read' }));
    for (const scopes of [['tokens:full'], ['mcp:read', 'tokens:full'], ['mcp:write'], ['mcp:send'], ['mcp:read', 'mcp:read', 'mcp:write']]) {
      const refused = await agent.decide(owner, request, { allow: true, scopes });
      expect(refused.statusCode, scopes.join()).toBeGreaterThanOrEqual(400);
      expect(refused.statusCode, scopes.join()).toBeLessThan(500);
    }
    const { pair } = await agent.connect(owner, { scopes: ['mcp:read'] });
    expect(pair.scope).toBe('mcp:read');
  });

  it('lets an admin connect, a member not unless the deployment allows it, and a connection never reaches beyond the person', async () => {
    const owner = await ownerSession(h);
    const admin = await login(h, await addUser(h, owner.accountId, 'admin'));
    expect((await agent.connect(admin)).pair.scope).toBe('mcp:read mcp:write');
    const member = await login(h, await addUser(h, owner.accountId, 'member'));
    const clientId = await agent.register();
    const { request } = await agent.openConsent(member, agent.authorizeQuery(clientId, pkce().challenge));
    expectError(await agent.decide(member, request, { allow: true }), 403, 'forbidden');
  });
});

describe('API6 sensitive business flows: consent', () => {
  it('re-checks the request it is given at consent: a redirect URI swapped in after the authorization endpoint is refused', async () => {
    const owner = await ownerSession(h);
    const clientId = await agent.register();
    const { request } = await agent.openConsent(owner, agent.authorizeQuery(clientId, pkce().challenge));
    const tampered = new URLSearchParams(request);
    tampered.set('redirect_uri', 'https://evil.example/cb');
    const refused = await agent.decide(owner, tampered.toString(), { allow: true });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).not.toContain('code=');
  });

  it('holds a connection’s domains to the ones chosen, even when a domain is added later', async () => {
    const owner = await ownerSession(h);
    const chosen = await createDomain(h, asSession(owner));
    const { pair } = await agent.connect(owner, { domains: [chosen.id] });
    const later = await createDomain(h, asSession(owner));
    const verify = (domain: string) => h.request({ method: 'POST', url: '/v1/verify', headers: bearer(h.operatorToken), payload: { token: pair.access_token, domain, resource: `${base}/mcp` } });
    expect(expectStatus(await verify(chosen.id), 200)).toMatchObject({ valid: true });
    expect(expectStatus(await verify(later.id), 200)).toEqual({ valid: false, code: 'not_found' });
  });
});

describe('API7 server-side request forgery: client metadata documents', () => {
  let listener: Server;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it('never fetches a client id on this host, a private, link-local or special network, and never redirects for one', async () => {
    const { challenge } = pkce();
    for (const clientId of [
      `https://127.0.0.1:${port}/client.json`, `https://localhost:${port}/client.json`, `https://[::1]:${port}/client.json`, `https://[::ffff:127.0.0.1]:${port}/client.json`,
      `https://2130706433:${port}/client.json`, `https://0x7f.1:${port}/client.json`, 'https://10.0.0.1/client.json', 'https://192.168.0.1/client.json',
      'https://169.254.169.254/latest/meta-data', 'https://[fe80::1]/client.json', 'https://100.64.0.1/client.json', 'https://0.0.0.0/client.json',
      `http://127.0.0.1:${port}/client.json`, `https://user:pass@example.com/client.json`, 'https://metadata.google.internal/client.json',
    ]) {
      const sent = await authorize(agent.authorizeQuery(clientId, challenge, { redirect_uri: 'https://app.example/cb' }));
      expect(sent.statusCode, clientId).toBe(400);
      expect(sent.headers.location, clientId).toBeUndefined();
      expect(sent.json(), clientId).toMatchObject({ error: expect.stringMatching(/^invalid_(client|request)$/) });
      expect(sent.body, clientId).not.toContain('pass');
    }
    expect(connections).toBe(0);
  });
});

describe('API8 security misconfiguration: the OAuth endpoints', () => {
  it('answers secrets with no-store and grants no browser origin but the metadata', async () => {
    const { clientId, pair } = await agent.connect(await ownerSession(h));
    const refreshed = await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
    expect(refreshed.headers['cache-control']).toBe('no-store');
    expect(refreshed.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await h.request({ method: 'OPTIONS', url: '/oauth/token', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const consentPage = await h.request({ method: 'GET', url: '/consent?client_id=x' });
    expect(String(consentPage.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });
});
