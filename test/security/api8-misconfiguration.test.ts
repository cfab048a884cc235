/**
 * OWASP API8:2023 Security Misconfiguration: headers, error bodies, proxies and client addresses,
 * and hostile text in logs and exports.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asSession, bearer, createToken, expectError, expectStatus, ownerSession } from '../helpers/actors.js';
import { startHarness, whileUnreachable, type Harness } from '../helpers/harness.js';
import { agentToken, callTool, listening, postMcp, signInAgain, toolCall, world, type Party } from './world.js';

let h: Harness;
let a: Party;
let proxied: Harness;
let base: string;
const AGENT_ORIGIN = 'https://agents.example.com';
beforeAll(async () => {
  ({ h, a } = await world({ LATCHKEY_MCP_ALLOWED_ORIGINS: AGENT_ORIGIN }));
  base = await listening(h);
  proxied = await startHarness({ LATCHKEY_TRUST_PROXY: '10.0.0.0/8' });
});
beforeEach(() => signInAgain(h, a));
afterAll(async () => {
  await h.close();
  await proxied.close();
});

const HOSTILE_NAME = 'evil\n{"level":60,"msg":"forged"}\u001b[31mred\u001b[0m<script>alert(1)</script>';

describe('API8 security misconfiguration', () => {
  it('marks every response that carries a secret Cache-Control: no-store', async () => {
    const responses = [
      await h.request({ method: 'POST', url: '/v1/tokens', headers: a.session, payload: { name: 'nostore', scopes: ['domains:read'] } }),
      await h.request({ method: 'POST', url: `/v1/tokens/${a.reader.token.id}/rotate`, headers: a.session, payload: {} }),
      await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: 'nostore.example.com' } }),
      await h.request({ method: 'POST', url: `/v1/mailboxes/${a.mailbox.id}/message-tokens`, headers: a.session, payload: { name: 'nostore', scopes: ['messages:read'] } }),
      await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: a.owner.email, password: 'correct horse battery staple' } }),
    ];
    for (const response of responses) {
      expect(response.statusCode).toBeLessThan(300);
      expect(response.headers['cache-control'], response.body.slice(0, 80)).toBe('no-store');
    }
  });

  it('never puts a stack trace, a file path or a SQL fragment in an error body', async () => {
    const hostile = [
      await h.request({ method: 'POST', url: '/v1/tokens', headers: { ...a.session, 'content-type': 'application/json' }, payload: '{"name": "x", "scopes": [' }),
      await h.request({ method: 'GET', url: "/v1/tokens/tok_'%20or%201=1--", headers: a.session }),
      await h.request({ method: 'GET', url: '/v1/tokens?status=%27', headers: a.session }),
      await h.request({ method: 'POST', url: '/v1/tokens', headers: { ...a.session, 'content-type': 'text/xml' }, payload: '<a/>' }),
    ];
    for (const response of hostile) {
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.body).not.toMatch(/\n\s+at |\/src\/|node_modules|\.ts:\d+|select |sqlite|postgres/i);
    }
  });

  it('serves the dashboard with a strict CSP, no inline script, framing refused, and no X-Powered-By', async () => {
    const page = await h.request({ method: 'GET', url: '/' });
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-powered-by']).toBeUndefined();
    expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)[^<]/);
  });

  it('grants no cross-origin access to the API', async () => {
    const preflight = await h.request({ method: 'OPTIONS', url: '/v1/tokens', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const read = await h.request({ method: 'GET', url: '/v1/tokens', headers: { ...a.session, origin: 'https://evil.example' } });
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('ignores X-Forwarded-For from a client when no proxy is trusted', async () => {
    const { secret } = await createToken(h, a.session, { name: 'xff', scopes: ['domains:read'], ip_allowlist: ['203.0.113.7'] });
    expectError(await h.request({ method: 'GET', url: '/v1/domains', remoteAddress: '198.51.100.1', headers: { ...bearer(secret), 'x-forwarded-for': '203.0.113.7' } }), 403, 'ip_not_allowed');
  });

  it('with a trusted proxy, takes the address the proxy saw, not one a client prepended ("allowed, attacker")', async () => {
    const owner = await ownerSession(proxied);
    const { secret } = await createToken(proxied, asSession(owner), { name: 'behind proxy', scopes: ['domains:read'], ip_allowlist: ['203.0.113.7'] });
    const via = (remoteAddress: string, xff: string) => proxied.request({ method: 'GET', url: '/v1/domains', remoteAddress, headers: { ...bearer(secret), 'x-forwarded-for': xff } });
    expectStatus(await via('10.1.2.3', '203.0.113.7'), 200);
    expectError(await via('10.1.2.3', '203.0.113.7, 198.51.100.66'), 403, 'ip_not_allowed');
    expectError(await via('198.51.100.1', '203.0.113.7'), 403, 'ip_not_allowed');
  });

  it('matches IPv4-mapped IPv6 clients as the IPv4 address they carry, and CIDR edges exactly', async () => {
    const { secret } = await createToken(h, a.session, { name: 'edges', scopes: ['domains:read'], ip_allowlist: ['192.0.2.0/25', '2001:db8::/126'] });
    const from = async (remoteAddress: string) => (await h.request({ method: 'GET', url: '/v1/domains', remoteAddress, headers: bearer(secret) })).statusCode;
    expect(await from('192.0.2.0')).toBe(200);
    expect(await from('192.0.2.127')).toBe(200);
    expect(await from('192.0.2.128')).toBe(403);
    expect(await from('192.0.1.255')).toBe(403);
    expect(await from('::ffff:192.0.2.5')).toBe(200);
    expect(await from('::ffff:192.0.2.200')).toBe(403);
    expect(await from('2001:db8::3')).toBe(200);
    expect(await from('2001:db8::4')).toBe(403);
  });

  it('keeps a name with newlines, ANSI escapes and HTML inside one JSON log line, and returns it as text', async () => {
    const { secret, token } = await createToken(h, a.session, { name: HOSTILE_NAME, scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: a.session, payload: {} }), 200);
    for (const chunk of h.logs) {
      expect(chunk).not.toContain('\u001b');
      for (const line of chunk.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(h.logs.join('')).not.toContain('"msg":"forged"');
    const shown = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: a.session }), 200).token;
    expect(shown.name).toBe(HOSTILE_NAME);
  });

  it('exports access and audit logs as CSV with hostile names quoted and spreadsheet formulas neutralised', async () => {
    for (const name of ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', HOSTILE_NAME]) {
      const { secret } = await createToken(h, a.session, { name, scopes: ['domains:read'] });
      expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    }
    await h.ctx.accessLog.flush();
    for (const url of ['/v1/access-logs?format=csv&limit=100', '/v1/audit-log?format=csv&limit=100']) {
      const csv = (await h.request({ method: 'GET', url, headers: a.session })).body;
      expect(csv).toContain('HYPERLINK(""http://evil.example""');
      if (url.startsWith('/v1/access-logs')) expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
      expect(csv).not.toMatch(/(^|,)[=+\-@]/m);
      expect(csv).not.toMatch(/(^|,)"[=+\-@]/m);
      // Control characters become visible escapes: one log entry stays one CSV line.
      expect(csv).toContain('evil\\n{');
      expect(csv).not.toContain('\u001b');
    }
  });
});

/** Whether any cell, split by any common separator (quotes honoured or not), would start a formula. */
function formulaCells(csv: string): string[] {
  const found: string[] = [];
  for (const line of csv.split('\n')) {
    for (const separator of [',', ';', '\t', '|']) {
      for (const piece of line.split(separator)) {
        const cell = piece.replace(/^[\s"]+/, '');
        if (/^[=+\-@\uff1d\uff0b\uff0d\uff20]/.test(cell)) found.push(`${JSON.stringify(separator)}: ${piece}`);
      }
    }
  }
  return found;
}

describe('API8 security misconfiguration: CSV under every separator', () => {
  it('runs no formula in a spreadsheet reading with comma, semicolon, tab or bar, and shows every control character', async () => {
    const names = ['x;=1+1', 'a,@SUM(1)', 'b|-2+3', 'c; +cmd', 'q"=1', 'tab\t=1', 'full\uff1d1+1', 'csi\u009b31m', 'nel\u0085next', 'del\u007f'];
    for (const name of names) {
      const { secret } = await createToken(h, a.session, { name, scopes: ['domains:read'] });
      expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    }
    // Planted without an account: the user agent of a failed login lands in the owner's audit CSV.
    await h.request({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'curl;=HYPERLINK("http://evil.example")' }, payload: { email: a.owner.email, password: 'not the password' } });
    await h.ctx.accessLog.flush();
    for (const url of ['/v1/access-logs?format=csv&limit=100', '/v1/audit-log?format=csv&limit=200']) {
      const csv = (await h.request({ method: 'GET', url, headers: a.session })).body;
      expect(formulaCells(csv), url).toEqual([]);
      expect(csv, url).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(csv, url).toContain('csi\\u009b31m');
      if (url.startsWith('/v1/audit')) expect(csv).toContain("curl;'=HYPERLINK");
    }
  });
});

describe('API8 security misconfiguration: text the database cannot hold', () => {
  it('refuses a NUL byte in any text input with 400 naming the field, on PostgreSQL as on SQLite', async () => {
    const nul = 'a\u0000b';
    const cases: [string, string, Record<string, string>, unknown, string][] = [
      ['GET', `/v1/tokens/${encodeURIComponent(nul)}`, a.session, undefined, 'id'],
      ['GET', `/v1/tokens?q=${encodeURIComponent(nul)}`, a.session, undefined, 'q'],
      ['GET', `/v1/access-logs?token_id=${encodeURIComponent(nul)}`, a.session, undefined, 'token_id'],
      ['GET', `/v1/audit-log?action=${encodeURIComponent(nul)}`, a.session, undefined, 'action'],
      ['POST', '/v1/tokens', a.session, { name: nul, scopes: ['domains:read'] }, 'name'],
      ['POST', '/v1/tokens', a.session, { name: 'ok', description: nul, scopes: ['domains:read'] }, 'description'],
      ['POST', '/v1/domains', a.session, { name: nul }, 'name'],
      ['POST', '/v1/auth/login', {}, { email: a.owner.email, password: nul }, 'password'],
      ['POST', '/v1/verify', { authorization: `Bearer ${h.operatorToken}` }, { token: nul }, 'token'],
      ['POST', '/v1/email', bearer(a.full.secret), { from: `x@${a.domain.name}`, to: 'y@example.com', subject: nul, text: 't' }, 'subject'],
    ];
    for (const [method, url, headers, payload, field] of cases) {
      const error = expectError(await h.request({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) }), 400, 'invalid_request');
      expect(error.details?.field, `${method} ${url}`).toBe(field);
    }
  });
});

const LEAKS = /\n\s+at |\/src\/|\/work\/|node_modules|\.ts:\d+|\.js:\d+|select |insert |sqlite|postgres|stack/i;

describe('API8 security misconfiguration at /mcp', () => {
  it('refuses a foreign Origin with 403 before looking at the token, and grants it no CORS header', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    for (const origin of ['https://evil.example', 'null', `${AGENT_ORIGIN}.evil.example`, 'https://agents.example.com:444', 'http://agents.example.com', AGENT_ORIGIN.toUpperCase()]) {
      for (const headers of [{ authorization: `Bearer ${secret}` }, {}] as Record<string, string>[]) {
        const refused = await postMcp(base, toolCall('whoami'), { ...headers, origin });
        expect(refused.status, origin).toBe(403);
        expect(refused.headers.get('access-control-allow-origin')).toBeNull();
        expect(refused.result).toBeUndefined();
      }
    }
    const allowed = await callTool(base, secret, 'whoami', {}, { origin: AGENT_ORIGIN });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(AGENT_ORIGIN);
  });

  it('answers a CORS preflight from an allowed origin for POST only, and one from any other origin with 403', async () => {
    const preflight = (origin: string, method: string) =>
      fetch(`${base}/mcp`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } });
    for (const method of ['POST', 'DELETE', 'GET', 'PUT']) {
      const answer = await preflight(AGENT_ORIGIN, method);
      expect(answer.status).toBe(204);
      expect(answer.headers.get('access-control-allow-methods')).toBe('POST');
      expect(answer.headers.get('access-control-allow-origin')).toBe(AGENT_ORIGIN);
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    }
    const foreign = await preflight('https://evil.example', 'POST');
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(foreign.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('answers GET, DELETE, PUT and PATCH with 405 Allow: POST, even with a valid token and an allowed origin', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    for (const method of ['GET', 'DELETE', 'PUT', 'PATCH']) {
      const answer = await fetch(`${base}/mcp`, { method, headers: { authorization: `Bearer ${secret}`, origin: AGENT_ORIGIN, accept: 'text/event-stream' } });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('POST');
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('puts no stack trace, file path or SQL in any error, a tool failing on a lost database included', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read', 'mcp:write']);
    const auth = { authorization: `Bearer ${secret}` };
    const answers = [
      await postMcp(base, '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"', auth),
      await postMcp(base, '<xml/>', { ...auth, 'content-type': 'application/xml' }),
      await postMcp(base, toolCall('no_such_tool'), auth),
      await callTool(base, secret, 'read_message', { message_id: "msg_' or 1=1--" }),
      await callTool(base, secret, 'search_messages', { text: "%' union select hash from tokens --", since: 'yesterday' }),
      await callTool(base, secret, 'move_message', { message_id: 'msg_x', folder: 'sent' }),
      await postMcp(base, toolCall('whoami'), { ...auth, 'mcp-protocol-version': '1.0' }),
    ];
    // The token is known (cached) by now: with the store gone, the tool itself fails.
    answers.push(await whileUnreachable(h, () => callTool(base, secret, 'list_domains')));
    const failed = answers.at(-1)!;
    expect(failed.status).toBeLessThan(500);
    expect(failed.text).toBe('internal_error: the tool failed; the server logged why');
    for (const answer of answers) {
      expect(answer.status, answer.raw).toBeLessThan(500);
      expect(answer.raw, answer.raw).not.toMatch(LEAKS);
      expect([...answer.headers.values()].join(' ')).not.toMatch(LEAKS);
    }
  });
});
