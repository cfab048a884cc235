/** OWASP API2:2023 Broken Authentication: tokens, sessions and re-auth proofs. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mintSecret } from '../../src/core/token-format.js';
import { addUser, asSession, bearer, createAccount, createToken, expectError, expectStatus, login, operator, PASSWORD } from '../helpers/actors.js';
import { whileUnreachable, withHarness, type Harness } from '../helpers/harness.js';
import { agentToken, callTool, listening, postMcp, signInAgain, toolCall, world, type McpAnswer, type Party } from './world.js';

let h: Harness;
let a: Party;
let base: string;
beforeAll(async () => {
  ({ h, a } = await world());
  base = await listening(h);
});
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

const domains = (headers: Record<string, string>) => h.request({ method: 'GET', url: '/v1/domains', headers });

describe('API2 broken authentication', () => {
  it('refuses a missing, empty or non-Bearer Authorization header with 401', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: '' }, { authorization: 'Bearer' }, { authorization: 'Bearer ' }, { authorization: `Basic ${a.full.secret}` }, { authorization: a.full.secret }]) {
      expectError(await domains(headers), 401, 'unauthorized');
    }
  });

  it('answers a failed bearer check with the RFC 6750 challenge, and a session-only or public route with none', async () => {
    const challenge = (response: { headers: Record<string, unknown> }) => response.headers['www-authenticate'];
    expect(challenge(await domains({}))).toBe('Bearer realm="latchkey"');
    expect(challenge(await domains(bearer(mintSecret('lk', 'live').secret)))).toBe('Bearer realm="latchkey", error="invalid_token"');
    const narrow = await createToken(h, a.session, { name: 'challenged', scopes: ['activity:read'] });
    const refused = await domains(bearer(narrow.secret));
    expect(refused.statusCode).toBe(403);
    expect(challenge(refused)).toBe('Bearer realm="latchkey", error="insufficient_scope", scope="domains:read"');
    expect(challenge(await h.request({ method: 'POST', url: '/v1/auth/reauth', payload: { password: 'x' } }))).toBeUndefined();
    expect(challenge(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: 'nobody@example.com', password: 'not it at all' } }))).toBeUndefined();
    expect(challenge(await domains(a.session))).toBeUndefined();
  });

  it('refuses a token with a broken checksum without asking the database', async () => {
    const broken = a.full.secret.slice(0, -1) + (a.full.secret.endsWith('A') ? 'B' : 'A');
    await whileUnreachable(h, async () => expectError(await domains(bearer(broken)), 401, 'unauthorized'));
  });

  it('refuses a well-formed token that was never issued, and keeps refusing guesses without a database read each', async () => {
    const guess = mintSecret('lk', 'live').secret;
    expectError(await domains(bearer(guess)), 401, 'unauthorized');
    // Remembered: a flood of the same guess is refused from memory, and leaves the service standing.
    await whileUnreachable(h, async () => {
      for (let i = 0; i < 10; i += 1) expectError(await domains(bearer(guess)), 401, 'unauthorized');
    });
    expectStatus(await domains(bearer(a.full.secret)), 200);
    expectError(await domains(bearer(guess)), 401, 'unauthorized');
  });

  it('refuses a token of another deployment’s prefix', async () => {
    const foreign = mintSecret('zz', 'live').secret;
    expectError(await domains(bearer(foreign)), 401, 'unauthorized');
  });

  it('refuses an over-long Authorization header with 401, not a 5xx', async () => {
    expectError(await domains({ authorization: `Bearer ${'A'.repeat(10_000)}` }), 401, 'unauthorized');
  });

  it('refuses the operator token on the platform API and a platform token on the operator API', async () => {
    expectError(await domains(operator(h)), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: bearer(a.full.secret), payload: { name: 'x', plan: 'pro', owner: { email: 'x@example.com', password: PASSWORD } } }), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/v1/verify', headers: bearer(a.full.secret), payload: { token: a.reader.secret } }), 401, 'unauthorized');
  });

  it('guards every HEAD route exactly as its GET route, with and without a token', async () => {
    const spec = JSON.parse((await h.request({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, Record<string, unknown>> };
    const gets = Object.keys(spec.paths).filter((path) => spec.paths[path]!.get && /^\/(v1|admin)\//.test(path));
    expect(gets.length).toBeGreaterThan(10);
    for (const path of gets) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      for (const headers of [{}, bearer(a.reader.secret)]) {
        const get = await h.request({ method: 'GET', url, headers });
        const head = await h.request({ method: 'HEAD', url, headers });
        expect({ url, status: head.statusCode }).toEqual({ url, status: get.statusCode });
      }
    }
  });

  it('refuses a token in the query string even when it is valid, for every name it might go by', async () => {
    for (const name of ['token', 'access_token', 'api_key', 'key', 'anything']) {
      expectError(await h.request({ method: 'GET', url: `/v1/domains?${name}=${a.full.secret}`, headers: bearer(a.full.secret) }), 400, 'invalid_request');
    }
  });

  it('lets nothing through that starts after a revoke has returned, with 50 requests in flight', async () => {
    const { secret, token } = await createToken(h, a.session, { name: 'racing', scopes: ['domains:read'] });
    const inFlight: Promise<{ afterRevoke: boolean; status: number }>[] = [];
    let revoked = false;
    for (let i = 0; i < 50; i += 1) {
      if (i === 25) {
        expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: a.session, payload: {} }), 200);
        revoked = true;
      }
      const afterRevoke = revoked;
      inFlight.push(domains(bearer(secret)).then((r) => ({ afterRevoke, status: r.statusCode })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(inFlight);
    expect(results.filter((r) => r.afterRevoke).map((r) => r.status)).toEqual(Array(25).fill(401));
    expect(results.filter((r) => !r.afterRevoke).every((r) => r.status === 200 || r.status === 401)).toBe(true);
  });

  it('refuses a cookie after logout, even replayed', async () => {
    const session = await login(h, a.owner.email);
    expectStatus(await h.request({ method: 'POST', url: '/v1/auth/logout', headers: asSession(session), payload: {} }), 204);
    expectError(await domains(asSession(session)), 401, 'unauthorized');
  });

  it('asks a stale session for its password again before a sensitive action', async () => {
    const session = await login(h, a.owner.email);
    h.clock.advance(601_000);
    const stale = await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(session), payload: { name: 'late', scopes: ['domains:read'] } });
    expectError(stale, 403, 'reauth_required');
    expectError(await h.request({ method: 'POST', url: `/v1/tokens/${a.reader.token.id}/revoke`, headers: asSession(session), payload: {} }), 403, 'reauth_required');
  });

  it('does not let one session’s re-auth proof make another session fresh', async () => {
    const mine = await login(h, a.owner.email);
    const other = await login(h, a.owner.email);
    h.clock.advance(601_000);
    expectStatus(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: asSession(mine), payload: { password: PASSWORD } }), 200);
    expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(mine), payload: { name: 'fresh', scopes: ['domains:read'] } }), 201);
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(other), payload: { name: 'borrowed', scopes: ['domains:read'] } }), 403, 'reauth_required');
    // Nor does a proof travel as a header from the fresh session to the stale one.
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: { ...asSession(other), 'x-csrf-token': mine.csrf }, payload: { name: 'borrowed', scopes: ['domains:read'] } }), 403, 'forbidden');
  });

  it('refuses a wrong re-auth password and leaves the session stale', async () => {
    const session = await login(h, a.owner.email);
    h.clock.advance(601_000);
    expectError(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: asSession(session), payload: { password: 'not the password' } }), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(session), payload: { name: 'x', scopes: ['domains:read'] } }), 403, 'reauth_required');
  });

  it('throttles password guessing against one user with 429, and then refuses even the right password', async () => {
    const victim = await addUser(h, a.owner.accountId, 'member');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      statuses.push((await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: victim, password: `guess ${i}` } })).statusCode);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: victim, password: PASSWORD } }), 429, 'rate_limited');
  });

  it('lets no more guesses sent at once reach the password check than the limit allows', async () => {
    const victim = await addUser(h, a.owner.accountId, 'member');
    const statuses = (await Promise.all(Array.from({ length: 30 }, (_, i) =>
      h.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '198.51.100.30', payload: { email: victim, password: `guess ${i}` } })))).map((r) => r.statusCode);
    // 401 only after the hash was checked: exactly the account's limit.
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('lets no more guesses from one address, sent at once at many people, reach the check than its limit', () => withHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: '20' }, async (h2) => {
    const account = await createAccount(h2);
    const people = await Promise.all(Array.from({ length: 8 }, () => addUser(h2, account.accountId, 'member')));
    const statuses = (await Promise.all(Array.from({ length: 40 }, (_, i) =>
      h2.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '203.0.113.7', payload: { email: people[i % people.length], password: `guess ${i}` } })))).map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  }));

  it('counts one client’s guesses together however its address is written, an IPv6 one by its /64', () => withHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: '6' }, async (h2) => {
    const account = await createAccount(h2);
    const people = await Promise.all(Array.from({ length: 4 }, () => addUser(h2, account.accountId, 'member')));
    const guess = async (remoteAddress: string, i: number) =>
      (await h2.request({ method: 'POST', url: '/v1/auth/login', remoteAddress, payload: { email: people[i % people.length], password: `guess ${i}` } })).statusCode;
    for (const [i, address] of ['203.0.113.9', '::ffff:203.0.113.9', '0:0:0:0:0:ffff:cb00:7109', '203.0.113.9', '::ffff:cb00:7109', '203.0.113.9'].entries()) {
      expect(await guess(address, i), address).toBe(401);
    }
    for (const address of ['203.0.113.9', '::ffff:203.0.113.9', '::ffff:cb00:7109']) expect(await guess(address, 0), address).toBe(429);
    for (let i = 0; i < 6; i += 1) expect(await guess(`2001:db8:5:6::${i + 1}`, i)).toBe(401);
    expect(await guess('2001:db8:5:6:ffff:1:2:3', 0)).toBe(429);
    expect(await guess('2001:db8:5:7::1', 1)).toBe(401);
  }));

  it('spends one budget on a person’s logins and re-auths together', async () => {
    const email = await addUser(h, a.owner.accountId, 'admin');
    const session = await login(h, email);
    for (let i = 0; i < 10; i += 1) {
      expectError(await h.request({ method: 'POST', url: '/v1/auth/reauth', remoteAddress: '198.51.100.31', headers: asSession(session), payload: { password: `guess ${i}` } }), 401, 'unauthorized');
    }
    // From another address too: the person's budget is spent, not the address's.
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '198.51.100.32', payload: { email, password: 'one more guess' } }), 429, 'rate_limited');
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '198.51.100.32', payload: { email, password: PASSWORD } }), 429, 'rate_limited');
  });

  it('sets the session cookie HttpOnly and SameSite=Strict, and never returns the session secret in the body', async () => {
    const response = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: a.owner.email, password: PASSWORD } });
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const value = cookie.split(';')[0]!.split('=').slice(1).join('=');
    expect(response.body).not.toContain(value);
  });
});

/** Whether an answer, its headers or the server log hold any of these strings. */
async function echoes(answer: McpAnswer, ...secrets: string[]): Promise<string[]> {
  await h.ctx.accessLog.flush();
  const seen = `${[...answer.headers.entries()].join(' ')} ${answer.raw} ${h.logs.join('')}`;
  return secrets.filter((secret) => seen.includes(secret) || seen.includes(secret.slice(8, 30)));
}

describe('API2 broken authentication, at /mcp', () => {
  it('refuses an AI-agent token at its very next call once it is revoked, paused or expired', async () => {
    const cases = [
      ['token_revoked', (id: string) => h.request({ method: 'POST', url: `/v1/tokens/${id}/revoke`, headers: a.session, payload: {} })],
      ['token_paused', (id: string) => h.request({ method: 'POST', url: `/v1/tokens/${id}/pause`, headers: a.session, payload: {} })],
      ['token_expired', async () => h.clock.advance(2 * 3600_000)],
    ] as const;
    for (const [code, end] of cases) {
      const { secret, token } = await agentToken(h, a, ['mcp:read'], { expires_in: '1h' });
      expect((await callTool(base, secret, 'whoami')).result?.isError).toBeFalsy();
      await end(token.id);
      const refused = await callTool(base, secret, 'list_domains');
      expect(refused.status, refused.raw).toBe(401);
      expect(refused.body.error.data.code).toBe(code);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(refused.result).toBeUndefined();
    }
  });

  it('takes a token only from the Authorization header: not from the query string, a cookie or Basic auth', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    // In the query string it is refused even beside a valid header: a URL ends up in proxy logs.
    for (const path of [`/mcp?token=${secret}`, `/mcp?access_token=${secret}`, `/mcp?${secret}`, `/mcp?x=${encodeURIComponent(secret)}`]) {
      for (const headers of [{}, bearer(secret)]) {
        const refused = await postMcp(base, toolCall('whoami'), headers, path);
        expect(refused.status, `${path} ${refused.raw}`).toBe(400);
        expect(refused.body.error.data.code).toBe('invalid_request');
        expect(refused.result).toBeUndefined();
        expect(await echoes(refused, secret), path).toEqual([]);
      }
    }
    const elsewhere: Record<string, string>[] = [
      { cookie: `token=${secret}` },
      { cookie: `latchkey_session=${secret}; access_token=${secret}` },
      { authorization: `Basic ${Buffer.from(`${secret}:`).toString('base64')}` },
      { authorization: `Basic ${Buffer.from(`agent:${secret}`).toString('base64')}` },
      { authorization: `Token ${secret}` },
      { authorization: secret },
      { 'x-api-key': secret },
    ];
    for (const headers of elsewhere) {
      const refused = await postMcp(base, toolCall('whoami'), headers);
      expect(refused.status, JSON.stringify(Object.keys(headers))).toBe(401);
      expect(refused.body.error.data.code).toBe('unauthorized');
    }
    expect(await echoes(await postMcp(base, toolCall('whoami'), { cookie: `token=${secret}` }), secret)).toEqual([]);
  });

  it('refuses an API token (lk_live_…) at /mcp with 403 insufficient_scope, whatever scopes it holds', async () => {
    for (const secret of [a.full.secret, a.reader.secret]) {
      const refused = await callTool(base, secret, 'whoami');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="[^"]+", error="insufficient_scope"$/);
      expect(refused.body.error.data).toMatchObject({ code: 'insufficient_scope', details: { token_type: 'api' } });
      expect(refused.result).toBeUndefined();
    }
  });

  it('answers a near-miss secret with 401 invalid_token, and echoes neither it nor the real one anywhere', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    const swap = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
    const nearMisses = [swap(secret, secret.length - 1), swap(secret, 20), secret.slice(0, -1), `${secret}A`, secret.replace('_mcp_', '_live_'), secret.toUpperCase()];
    for (const nearMiss of nearMisses) {
      const refused = await callTool(base, nearMiss, 'whoami');
      expect(refused.status, nearMiss).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"$/);
      expect(refused.body.error.data.code).toBe('unauthorized');
      expect(await echoes(refused, secret, nearMiss)).toEqual([]);
    }
  });
});
