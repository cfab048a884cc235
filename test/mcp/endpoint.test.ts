import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asSession, createDomain, createToken, expectStatus, operator, ownerSession, type Session } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { connectAgent, entriesOf, ERA_NAMES, INITIALIZE, post, textOf } from './agent.js';

const ALLOWED_ORIGIN = 'https://agents.example.com';
let h: Harness;
let base: string;
let owner: Session;
let agent: { secret: string; token: { id: string } };

beforeAll(async () => {
  h = await startHarness({ LATCHKEY_MCP_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, http://localhost:5173` });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
});
beforeEach(async () => {
  owner = await ownerSession(h);
  await createDomain(h, asSession(owner));
  agent = await createToken(h, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
});
afterAll(() => h.close());

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
const call = (name: string, args: Record<string, unknown> = {}, id = 3) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const METADATA = () => `${base}/.well-known/oauth-protected-resource/mcp`;

describe('authentication', () => {
  it('answers no token with 401 and the RFC 9728 challenge, and a wrong one with invalid_token too', async () => {
    const missing = await post(base, INITIALIZE);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA()}"`);
    expect(await missing.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, message: expect.stringContaining('lk_mcp_'), data: { code: 'unauthorized' } } });
    for (const wrong of ['nonsense', `lk_mcp_${'x'.repeat(49)}`, agent.secret.slice(0, -1) + (agent.secret.endsWith('A') ? 'B' : 'A')]) {
      const refused = await post(base, INITIALIZE, bearer(wrong));
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA()}", error="invalid_token"`);
    }
    expect((await post(base, INITIALIZE, { authorization: `Basic ${agent.secret}` })).status).toBe(401);
    await expect(connectAgent(base, 'nonsense')).rejects.toThrow(/401|unauthorized/);
  });

  it('serves the protected-resource document the challenge points at', async () => {
    const response = await fetch(METADATA());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: `${base}/mcp`, resource_name: 'Latchkey', authorization_servers: [base], bearer_methods_supported: ['header'], scopes_supported: ['mcp:read', 'mcp:write', 'mcp:send'],
    });
  });

  it('refuses an api token with 403 insufficient_scope that says which token to use', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'api', scopes: ['domains:read'] });
    const refused = await post(base, INITIALIZE, bearer(secret));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA()}", error="insufficient_scope"`);
    const body = await refused.json();
    expect(body).toMatchObject({ id: 1, error: { data: { code: 'insufficient_scope', details: { token_type: 'api' } } } });
    expect(body.error.message).toMatch(/API token \(lk_live_\) cannot use the MCP endpoint.*AI-agent token \(lk_mcp_\)/);
    await expect(connectAgent(base, secret)).rejects.toThrow();
  });

  it('refuses a token used from an address outside its allowlist, as the REST API does, and logs it', async () => {
    const elsewhere = await createToken(h, asSession(owner), { name: 'office only', type: 'mcp', scopes: ['mcp:read'], ip_allowlist: ['203.0.113.0/24'] });
    const refused = await post(base, call('list_domains'), bearer(elsewhere.secret));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ id: 3, error: { data: { code: 'ip_not_allowed', details: { ip: '127.0.0.1' } } } });
    await expect(connectAgent(base, elsewhere.secret)).rejects.toThrow(/ip_not_allowed/);
    const here = await createToken(h, asSession(owner), { name: 'this machine', type: 'mcp', scopes: ['mcp:read'], ip_allowlist: ['127.0.0.1'] });
    const allowed = await connectAgent(base, here.secret);
    expect((await allowed.client.callTool({ name: 'list_domains', arguments: {} })).isError).toBeFalsy();
    await allowed.close();
    const [entry] = await entriesOf(h, owner, elsewhere.token.id);
    expect(entry).toMatchObject({ route: 'mcp:list_domains', status: 403, error_code: 'ip_not_allowed' });
  });

  it('spends the token’s rate limit once per request, and answers 429 with Retry-After past it', async () => {
    const limited = await createToken(h, asSession(owner), { name: 'limited', type: 'mcp', scopes: ['mcp:read'], rate_limit: { requests: 2, per: '1m' } });
    for (let i = 0; i < 2; i += 1) expect((await post(base, call('whoami', {}, i), bearer(limited.secret))).status).toBe(200);
    const refused = await post(base, call('whoami'), bearer(limited.secret));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused.json()).error.data.code).toBe('rate_limited');
  });
});

describe('a token changed between two calls', () => {
  it.each(ERA_NAMES)('%s: paused, it is refused at its next call; resumed, it works again; revoked, never again', async (era) => {
    const { client, close } = await connectAgent(base, agent.secret, era);
    try {
      expect((await client.callTool({ name: 'list_domains', arguments: {} })).isError).toBeFalsy();
      expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${agent.token.id}/pause`, headers: asSession(owner), payload: {} }), 200);
      await expect(client.callTool({ name: 'list_domains', arguments: {} })).rejects.toThrow(/token_paused/);
      expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${agent.token.id}/resume`, headers: asSession(owner), payload: {} }), 200);
      expect((await client.callTool({ name: 'list_domains', arguments: {} })).isError).toBeFalsy();
      expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${agent.token.id}/revoke`, headers: asSession(owner), payload: {} }), 200);
      await expect(client.callTool({ name: 'list_domains', arguments: {} })).rejects.toThrow(/token_revoked/);
    } finally {
      await close();
    }
    const calls = (await entriesOf(h, owner, agent.token.id)).filter((e) => e.route === 'mcp:list_domains');
    expect(calls.map((e) => [e.status, e.error_code])).toEqual([[200, null], [401, 'token_paused'], [200, null], [401, 'token_revoked']]);
  });

  it('refuses an expired token, and one whose account lost API access', async () => {
    const shortLived = await createToken(h, asSession(owner), { name: 'short', type: 'mcp', scopes: ['mcp:read'], expires_in: '1h' });
    expect((await post(base, call('whoami'), bearer(shortLived.secret))).status).toBe(200);
    h.clock.advance(2 * 3600_000);
    const expired = await post(base, call('whoami'), bearer(shortLived.secret));
    expect(expired.status).toBe(401);
    expect((await expired.json()).error.data.code).toBe('token_expired');

    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${owner.accountId}`, headers: operator(h), payload: { plan: 'basic' } }), 200);
    const restricted = await post(base, call('whoami'), bearer(agent.secret));
    expect(restricted.status).toBe(403);
    expect((await restricted.json()).error.data.code).toBe('plan_restricted');
  });
});

describe('the transport', () => {
  it('refuses a foreign Origin with 403, and lets an allowed one (or none) through with CORS headers', async () => {
    for (const origin of ['https://evil.example', 'null', `${ALLOWED_ORIGIN}.evil.example`, 'https://agents.example.com:8443']) {
      const refused = await post(base, INITIALIZE, { ...bearer(agent.secret), origin });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringContaining('Origin') } });
    }
    const allowed = await post(base, INITIALIZE, { ...bearer(agent.secret), origin: ALLOWED_ORIGIN });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect((await post(base, INITIALIZE, bearer(agent.secret))).status).toBe(200);
    // A browser asks first: the allowed origin may send the headers an MCP client sends.
    const preflight = await fetch(`${base}/mcp`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('mcp-protocol-version');
    expect((await fetch(`${base}/mcp`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } })).status).toBe(403);
    // A foreign origin is refused before the token is even looked at.
    expect((await post(base, INITIALIZE, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('answers GET and DELETE with 405 and Allow: POST (no event stream, no session)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${base}/mcp`, { method, headers: { ...bearer(agent.secret), accept: 'text/event-stream' } });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    }
  });

  it('answers an MCP-Protocol-Version it does not speak with 400, and speaks the ones it names', async () => {
    const refused = await post(base, TOOLS_LIST, { ...bearer(agent.secret), 'mcp-protocol-version': '1999-01-01' });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.data.supported).toEqual(expect.arrayContaining(['2025-06-18', '2025-11-25', '2026-07-28']));
    for (const version of ['2025-03-26', '2025-06-18', '2025-11-25']) {
      const listed = await post(base, TOOLS_LIST, { ...bearer(agent.secret), 'mcp-protocol-version': version });
      expect(listed.status).toBe(200);
      expect((await listed.json()).result.tools.map((t: { name: string }) => t.name)).toContain('whoami');
    }
    // Without the header, 2025-03-26 is assumed, as the transport spec says.
    expect((await post(base, TOOLS_LIST, bearer(agent.secret))).status).toBe(200);
  });

  it('takes a bounded JSON-RPC batch where the revision has batches, and refuses one where it has none', async () => {
    const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });
    const batch = await post(base, JSON.stringify([ping(1), ping(2)]), bearer(agent.secret));
    expect(batch.status).toBe(200);
    expect(await batch.json()).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }, { jsonrpc: '2.0', id: 2, result: {} }]);
    const mixed = await post(base, JSON.stringify([JSON.parse(call('whoami', {}, 1)), ping(2)]), { ...bearer(agent.secret), 'mcp-protocol-version': '2025-03-26' });
    expect((await mixed.json()).map((m: { id: number }) => m.id)).toEqual([1, 2]);
    for (const version of ['2025-06-18', '2025-11-25', '2026-07-28']) {
      const refused = await post(base, JSON.stringify([ping(1)]), { ...bearer(agent.secret), 'mcp-protocol-version': version });
      expect(refused.status).toBe(400);
      expect((await refused.json()).error.code).toBe(-32600);
    }
    expect((await post(base, '[]', bearer(agent.secret))).status).toBe(400);
    expect((await post(base, JSON.stringify(Array.from({ length: 21 }, (_, i) => ping(i))), bearer(agent.secret))).status).toBe(400);
    // Two requests under one id: one would run unanswered, so neither runs.
    const twice = await post(base, JSON.stringify([ping(7), JSON.parse(call('whoami', {}, 7))]), bearer(agent.secret));
    expect(twice.status).toBe(400);
    expect((await twice.json()).error).toMatchObject({ code: -32600, message: expect.stringContaining('share an id') });
  });

  it('counts every tool call of a batch against the token’s rate limit, not the batch once', async () => {
    const limited = await createToken(h, asSession(owner), { name: 'limited agent', type: 'mcp', scopes: ['mcp:read'], rate_limit: { requests: 3, per: '1h' } });
    const batch = await post(base, JSON.stringify(Array.from({ length: 5 }, (_, i) => JSON.parse(call('whoami', {}, i + 1)))), { ...bearer(limited.secret), 'mcp-protocol-version': '2025-03-26' });
    expect(batch.status).toBe(200);
    const results = (await batch.json()).map((m: { result: { isError?: boolean; content: unknown } }) => m.result);
    expect(results.filter((r: { isError?: boolean }) => !r.isError)).toHaveLength(3);
    expect(results.filter((r: { isError?: boolean }) => r.isError).map(textOf)).toEqual([expect.stringMatching(/^rate_limited: /), expect.stringMatching(/^rate_limited: /)]);
    const next = await post(base, call('whoami'), { ...bearer(limited.secret), 'mcp-protocol-version': '2025-11-25' });
    expect(next.status).toBe(429);
    expect(next.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('answers malformed input with a JSON-RPC error, never a 5xx', async () => {
    const auth = bearer(agent.secret);
    const cases: [string, Record<string, string>, number, number][] = [
      ['{not json', {}, 400, -32700],
      ['', {}, 400, -32700],
      ['"just a string"', {}, 400, -32600],
      ['{"hello":"world"}', {}, 400, -32600],
      ['{"jsonrpc":"2.0","id":7,"method":"no/such/method"}', {}, 200, -32601],
      ['{"jsonrpc":"2.0","id":8,"method":"tools/call","params":"not an object"}', {}, 400, -32600],
      ['{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":[1,2]}}', {}, 200, -32602],
      ['{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"list_domains","arguments":{"__proto__":{"limit":5}}}}', {}, 400, -32700],
      [INITIALIZE, { 'content-type': 'text/plain' }, 415, -32000],
      [INITIALIZE, { accept: 'text/html' }, 406, -32000],
      // A 2026-07-28 request without the envelope that revision requires.
      ['{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"whoami","arguments":{}}}', { 'mcp-protocol-version': '2026-07-28' }, 400, -32602],
    ];
    for (const [body, headers, status, code] of cases) {
      const response = await post(base, body, { ...auth, ...headers });
      const text = await response.text();
      expect(response.status, `${body} → ${text}`).toBe(status);
      const answer = JSON.parse(text);
      expect(answer.jsonrpc).toBe('2.0');
      expect(answer.error?.code, text).toBe(code);
    }
    const huge = await post(base, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1_100_000) } }), auth);
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe(-32000);
  });

  it('never echoes a secret sent in a header the SDK reads (Mcp-Name, Mcp-Method, MCP-Protocol-Version)', async () => {
    const { secret: other } = await createToken(h, asSession(owner), { name: 'other', type: 'mcp', scopes: ['mcp:read'] });
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
    const modern = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: meta } });
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whoami' };
    for (const name of Object.keys(headers)) {
      for (const [body, version] of [[modern, '2026-07-28'], [call('whoami'), '2025-11-25']] as const) {
        const sent = { ...bearer(agent.secret), ...headers, 'mcp-protocol-version': version, [name]: other };
        const response = await post(base, body, sent);
        const text = `${[...response.headers.values()].join(' ')} ${await response.text()}`;
        expect(response.status, text).toBeLessThan(500);
        expect(text, `${name} on ${version}`).not.toContain(other);
        expect(text).not.toContain(other.slice(8, 30));
      }
    }
    await h.ctx.accessLog.flush();
    expect(h.logs.join('')).not.toContain(other);
  });

  it('ends a 2026-07-28 subscription at once: this server announces no changes, so it holds no stream open', async () => {
    const { client, close } = await connectAgent(base, agent.secret, '2026-07-28');
    try {
      const subscription = await client.listen({ toolsListChanged: true });
      expect(subscription.honoredFilter).toEqual({});
      expect(await subscription.closed).toBe('graceful');
      expect((await client.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    } finally {
      await close();
    }
  });

  it('answers a notification with 202 and nothing more', async () => {
    const response = await post(base, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), bearer(agent.secret));
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('serves one stateless request as well as a whole session: a tool call with no handshake first', async () => {
    const response = await post(base, call('whoami'), { ...bearer(agent.secret), 'mcp-protocol-version': '2025-11-25' });
    const answer = await response.json();
    expect(answer.result.structuredContent.token.id).toBe(agent.token.id);
    expect(textOf(answer.result)).toContain('AI-agent token "agent"');
  });
});
