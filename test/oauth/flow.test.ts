import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asSession, createDomain, expectError, expectStatus, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { INITIALIZE, post, withAgent } from '../mcp/agent.js';
import { oauthAgent, pkce, REDIRECT } from './client.js';

/**
 * The whole authorization-code flow over HTTP, as an MCP client and a person at the consent page
 * walk it: discovery, registration, authorization, consent, the code exchange, a tool call,
 * refresh, and the ways each secret is refused when it is used wrongly.
 */
let h: Harness;
let base: string;
let agent: ReturnType<typeof oauthAgent>;
shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, (base = url))) });

const form = (fields: Record<string, string>) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
const register = (fields?: Record<string, unknown>) => agent.register(fields);
const authorizeQuery = (...args: Parameters<typeof agent.authorizeQuery>) => agent.authorizeQuery(...args);
const consent = (...args: Parameters<typeof agent.consent>) => agent.consent(...args);
const tokens = (fields: Record<string, string>) => agent.tokens(fields);
const connect = (...args: Parameters<typeof agent.connect>) => agent.connect(...args);

describe('discovery', () => {
  it('names this server as the authorization server of /mcp, and describes it (RFC 9728, RFC 8414)', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      expect(await (await fetch(`${base}${path}`)).json()).toMatchObject({ resource: `${base}/mcp`, authorization_servers: [base] });
    }
    const metadata = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
    expect(metadata).toMatchObject({
      issuer: base, authorization_endpoint: `${base}/oauth/authorize`, token_endpoint: `${base}/oauth/token`, registration_endpoint: `${base}/oauth/register`,
      response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'], client_id_metadata_document_supported: true, authorization_response_iss_parameter_supported: true,
      scopes_supported: ['mcp:read', 'mcp:write', 'mcp:send'],
    });
  });
});

describe('the authorization code flow', () => {
  it('gives an agent an lk_mcp_ token with what the person allowed, which calls tools at /mcp', async () => {
    const owner = await ownerSession(h);
    const { back, pair } = await connect(owner, { scopes: ['mcp:read'] });
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('st-123');
    expect(back.searchParams.get('iss')).toBe(base);
    expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'mcp:read', access_token: expect.stringMatching(/^lk_mcp_/), refresh_token: expect.stringMatching(/^lk_refresh_/) });
    const called = await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` });
    expect(called.status).toBe(200);
    const agents = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200);
    expect(agents.data).toEqual([expect.objectContaining({ client: expect.objectContaining({ name: 'Claude', verified: false }), scopes: ['mcp:read'], connected_by: owner.email })]);
  });

  it('sends errors back to the redirect URI with state and iss once a person has allowed the client, and never redirects for an untrusted client or URI', async () => {
    const clientId = await register();
    const { challenge } = pkce();
    // Nobody has allowed it yet: its errors are shown here, not sent to whatever it registered.
    const unknown = await h.request({ method: 'GET', url: `/oauth/authorize?${authorizeQuery(clientId, challenge, { response_type: 'token' })}`, headers: { host: new URL(base).host } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.headers.location).toBeUndefined();
    expect(unknown.json()).toMatchObject({ error: 'unsupported_response_type' });
    await consent(await ownerSession(h), authorizeQuery(clientId, challenge));
    for (const [extra, error] of [
      [{ code_challenge_method: 'plain' }, 'invalid_request'], [{ code_challenge: '' }, 'invalid_request'], [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ resource: 'https://elsewhere.example/mcp' }, 'invalid_target'], [{ resource: '' }, 'invalid_target'], [{ scope: 'tokens:full' }, 'invalid_scope'],
    ] as const) {
      const sent = await h.request({ method: 'GET', url: `/oauth/authorize?${authorizeQuery(clientId, challenge, extra)}`, headers: { host: new URL(base).host } });
      expect(sent.statusCode).toBe(302);
      const back = new URL(String(sent.headers.location));
      expect(back.origin + back.pathname).toBe(REDIRECT);
      expect(Object.fromEntries(back.searchParams)).toMatchObject({ error, state: 'st-123', iss: base });
    }
    for (const extra of [{ redirect_uri: 'https://attacker.example/cb' }, { redirect_uri: 'http://192.168.1.5:33418/callback' }, { client_id: 'cli_01JNOTREGISTERED000000000' }] as Record<string, string>[]) {
      const sent = await h.request({ method: 'GET', url: `/oauth/authorize?${authorizeQuery(clientId, challenge, extra)}` });
      expect(sent.statusCode).toBe(400);
      expect(sent.headers.location).toBeUndefined();
    }
    // Loopback redirect URIs match on any port (RFC 8252 section 7.3).
    const other = await h.request({ method: 'GET', url: `/oauth/authorize?${authorizeQuery(clientId, challenge, { redirect_uri: 'http://127.0.0.1:50111/callback' })}`, headers: { host: new URL(base).host } });
    expect(String(other.headers.location)).toMatch(/^\/consent\?/);
  });

  it('answers Deny with access_denied, and refuses a stale password check until the person confirms it', async () => {
    const owner = await ownerSession(h);
    const clientId = await register();
    const request = authorizeQuery(clientId, pkce().challenge);
    const denied = expectStatus(await h.request({ method: 'POST', url: '/v1/oauth/consent', headers: { ...asSession(owner), host: new URL(base).host }, payload: { request, allow: false } }), 200);
    expect(Object.fromEntries(new URL(denied.redirect_to).searchParams)).toMatchObject({ error: 'access_denied', state: 'st-123', iss: base });
    h.clock.advance(11 * 60_000);
    expectError(await h.request({ method: 'POST', url: '/v1/oauth/consent', headers: { ...asSession(owner), host: new URL(base).host }, payload: { request, allow: true } }), 403, 'reauth_required');
  });

  it('refuses a wrong verifier, another client, a reused code (revoking what it issued) and a wrong resource', async () => {
    const owner = await ownerSession(h);
    const { clientId, code, verifier, pair } = await connect(owner);
    const again = await tokens({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier });
    expect(again.statusCode).toBe(400);
    expect(JSON.parse(again.body)).toMatchObject({ error: 'invalid_grant' });
    // The code was presented twice: the token it gave is revoked.
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(401);

    for (const [change, error] of [
      [{ code_verifier: pkce().verifier }, 'invalid_grant'], [{ client_id: 'cli_01JOTHERCLIENT00000000000' }, 'invalid_grant'],
      [{ resource: 'https://elsewhere.example/mcp' }, 'invalid_target'], [{ code_verifier: '' }, 'invalid_request'],
    ] as const) {
      const fresh = await register();
      const p = pkce();
      const back = await consent(owner, authorizeQuery(fresh, p.challenge));
      const sent: Record<string, string> = { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: fresh, code_verifier: p.verifier };
      const refused = await tokens({ ...sent, ...change });
      expect(refused.statusCode, refused.body).toBe(400);
      expect(JSON.parse(refused.body).error).toBe(error);
      expect(refused.body).not.toContain('lk_code_');
    }
  });

  it('rotates the refresh token, lets a concurrent refresh through within the grace, and revokes the grant on a later replay', async () => {
    const owner = await ownerSession(h);
    const { clientId, pair } = await connect(owner);
    const refresh = (token: string) => tokens({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
    const first = expectStatus(await refresh(pair.refresh_token), 200);
    expect(first.refresh_token).not.toBe(pair.refresh_token);
    expectStatus(await refresh(pair.refresh_token), 200);
    h.clock.advance(61_000);
    const replay = await refresh(pair.refresh_token);
    expect(JSON.parse(replay.body)).toMatchObject({ error: 'invalid_grant' });
    for (const token of [pair.access_token, first.access_token]) expect((await post(base, INITIALIZE, { authorization: `Bearer ${token}` })).status).toBe(401);
    expect(JSON.parse((await refresh(first.refresh_token)).body)).toMatchObject({ error: 'invalid_grant' });
    const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: asSession(owner) }), 200);
    expect(audit.data.map((event: { action: string }) => event.action)).toEqual(expect.arrayContaining(['oauth.authorization_allowed', 'oauth.refreshed', 'oauth.replay_detected']));
  });

  it('lists each connection with its last use: when, from where, and the last tool called', async () => {
    const owner = await ownerSession(h);
    const { pair } = await connect(owner);
    const listed = async () => expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data[0];
    expect(await listed()).toMatchObject({ last_used_at: null, last_used_ip: null, last_tool: null });
    await withAgent(base, pair.access_token, async (client) => {
      await client.callTool({ name: 'whoami', arguments: {} });
      await client.callTool({ name: 'list_domains', arguments: {} });
    });
    await h.ctx.usage.flush();
    await h.ctx.accessLog.flush();
    expect(await listed()).toMatchObject({ last_used_at: expect.any(String), last_used_ip: '127.0.0.1', last_tool: 'list_domains' });
  });

  it('shows one person’s grants to one client as one connection, and disconnects them together (a step-up, a second machine)', async () => {
    const owner = await ownerSession(h);
    const clientId = await register();
    const grantFor = async (scopes: string[]) => {
      const { verifier, challenge } = pkce();
      const code = (await consent(owner, authorizeQuery(clientId, challenge), { scopes })).searchParams.get('code')!;
      return expectStatus(await tokens({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier }), 200);
    };
    const first = await grantFor(['mcp:read']);
    const stepped = await grantFor(['mcp:read', 'mcp:write']);
    const other = await connect(owner);
    const listed = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;
    expect(listed).toHaveLength(2);
    const connection = listed.find((each: { client: { id: string } }) => each.client.id === clientId);
    expect(connection.scopes).toEqual(['mcp:read', 'mcp:write']);
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${connection.id}`, headers: asSession(owner) }), 204);
    for (const pair of [first, stepped]) {
      expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(401);
      expect(JSON.parse((await tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId })).body).error).toBe('invalid_grant');
    }
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${other.pair.access_token}` })).status).toBe(200);
  });

  it('disconnects an agent: its tokens are refused at once, and its refresh token is dead', async () => {
    const owner = await ownerSession(h);
    await createDomain(h, asSession(owner));
    const { clientId, pair } = await connect(owner);
    const [agent] = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;
    const stranger = await ownerSession(h);
    expectError(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${agent.id}`, headers: asSession(stranger) }), 404, 'not_found');
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${agent.id}`, headers: asSession(owner) }), 204);
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(401);
    expect(JSON.parse((await tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId })).body).error).toBe('invalid_grant');
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data).toEqual([]);
  });

  it('revokes a grant through RFC 7009 with its refresh token, and answers 200 whatever is sent', async () => {
    const owner = await ownerSession(h);
    const { clientId, pair } = await connect(owner);
    const revoke = (fields: Record<string, string>) => h.request({ method: 'POST', url: '/oauth/revoke', ...form(fields) });
    expect((await revoke({ token: 'nonsense', client_id: clientId })).statusCode).toBe(200);
    expect((await revoke({ token: pair.refresh_token, client_id: 'cli_01JOTHERCLIENT00000000000' })).statusCode).toBe(200);
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(200);
    expect((await revoke({ token: pair.refresh_token, client_id: clientId })).statusCode).toBe(200);
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(401);
  });
});

describe('registration', () => {
  it('refuses what a public client may not register, and limits registrations per address', async () => {
    for (const payload of [{}, { redirect_uris: [] }, { redirect_uris: ['http://example.com/cb'] }, { redirect_uris: ['javascript:alert(1)'] },
      { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' }, { redirect_uris: [REDIRECT], grant_types: ['client_credentials'] }]) {
      const refused = await h.request({ method: 'POST', url: '/oauth/register', payload });
      expect(refused.statusCode, JSON.stringify(payload)).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({ error: expect.stringMatching(/^invalid_(redirect_uri|client)$/), error_description: expect.any(String) });
    }
    // Bad input of any kind is a 400 in OAuth's shape, never a 500.
    for (const [body, type] of [['{"redirect_uris":["\\ud800"]}', 'application/json'], ['{not json', 'application/json'], ['redirect_uris=x', 'application/x-www-form-urlencoded'], ['x', 'text/plain']]) {
      const refused = await h.request({ method: 'POST', url: '/oauth/register', headers: { 'content-type': type! }, payload: body! });
      expect(refused.statusCode, `${body} → ${refused.body}`).toBe(400);
      expect(JSON.parse(refused.body)).toMatchObject({ error: 'invalid_request' });
    }
    const limited = await startHarness({ LATCHKEY_OAUTH_REGISTRATIONS_PER_HOUR: '3' });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => limited.request({ method: 'POST', url: '/oauth/register', payload: { redirect_uris: [REDIRECT] } })));
      expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(3);
      const refused = answers.filter((r) => r.statusCode === 429);
      expect(refused).toHaveLength(3);
      for (const r of refused) expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('bad input', () => {
  it('never answers the OAuth endpoints with a 5xx, whatever the form or query', async () => {
    const names = fc.constantFrom('grant_type', 'code', 'refresh_token', 'client_id', 'redirect_uri', 'code_verifier', 'resource', 'token', 'response_type', 'code_challenge', 'code_challenge_method', 'state', 'scope', '__proto__');
    const values = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('authorization_code', 'refresh_token', 'code', 'S256', 'plain', `lk_code_${'a'.repeat(49)}`, 'http://127.0.0.1/cb', 'cli_01JNOTREGISTERED000000000', '%00', '\ud800'));
    const params = fc.array(fc.tuple(names, values), { maxLength: 8 });
    await fc.assert(fc.asyncProperty(params, fc.constantFrom('/oauth/token', '/oauth/revoke', '/oauth/authorize', '/oauth/register'), async (pairs, path) => {
      const text = new URLSearchParams(pairs).toString();
      const response = path === '/oauth/authorize'
        ? await h.request({ method: 'GET', url: `${path}?${text}` })
        : await h.request({ method: 'POST', url: path, headers: { 'content-type': path === '/oauth/register' ? 'application/json' : 'application/x-www-form-urlencoded' }, payload: path === '/oauth/register' ? JSON.stringify(Object.fromEntries(pairs)) : text });
      expect(response.statusCode, `${path} ${text} → ${response.body}`).toBeLessThan(500);
    }), { numRuns: 150 });
  });
});
