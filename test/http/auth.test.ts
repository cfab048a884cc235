import { beforeAll, describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createAccount, createToken, expectError, expectStatus, login, operator, ownerSession, PASSWORD, type Session } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
shareApp({ app: (app) => (h = app) });

describe('signing in', () => {
  it('sets an HttpOnly SameSite session cookie and returns a CSRF token; wrong passwords are 401 and audited', async () => {
    const { ownerEmail } = await createAccount(h);
    const response = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: ownerEmail.toUpperCase(), password: PASSWORD } });
    const body = expectStatus(response, 200);
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/^latchkey_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(body).toMatchObject({ user: { email: ownerEmail, role: 'owner' }, account: { plan: 'pro' }, csrf_token: expect.any(String) });
    expect(JSON.stringify(body).replaceAll('"password_change_required":false', '')).not.toContain('password');

    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: ownerEmail, password: 'wrong password!' } }), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: 'nobody@example.com', password: 'whatever it is' } }), 401, 'unauthorized');
    const s = await login(h, ownerEmail);
    const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log', headers: asSession(s) }), 200);
    const actions = audit.data.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.login', 'auth.login_failed']));
    expect(audit.data.find((e: any) => e.action === 'auth.login_failed')).toMatchObject({ ip: '127.0.0.1', actor: { type: 'user' } });
  });

  it('expires sessions after LATCHKEY_SESSION_TTL and reclaims their rows', async () => {
    const s = await ownerSession(h);
    expectStatus(await h.request({ method: 'GET', url: '/v1/auth/session', headers: asSession(s) }), 200);
    h.clock.advance(43_200_000);
    expectError(await h.request({ method: 'GET', url: '/v1/auth/session', headers: asSession(s) }), 401, 'unauthorized');
    expect(await h.ctx.accounts.purgeExpiredSessions()).toBeGreaterThanOrEqual(1);
    const left = await h.store.db.selectFrom('sessions').select('expires_at').execute();
    expect(left.every((row) => Date.parse(row.expires_at) > h.clock.now())).toBe(true);
  });

  it('logs out: the cookie stops working', async () => {
    const s = await ownerSession(h);
    expect((await h.request({ method: 'POST', url: '/v1/auth/logout', headers: asSession(s) })).statusCode).toBe(204);
    expectError(await h.request({ method: 'GET', url: '/v1/tokens', headers: asSession(s) }), 401, 'unauthorized');
  });
});

describe('CSRF', () => {
  it('refuses every cookie-authenticated mutation without the right X-CSRF-Token, and allows reads', async () => {
    const s = await ownerSession(h);
    const { token } = await createToken(h, asSession(s), { name: 'csrf target', scopes: ['domains:read'] });
    const mutations = [
      { method: 'POST' as const, url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'] } },
      { method: 'PATCH' as const, url: `/v1/tokens/${token.id}`, payload: { name: 'y' } },
      { method: 'POST' as const, url: `/v1/tokens/${token.id}/revoke`, payload: {} },
      { method: 'DELETE' as const, url: `/v1/tokens/${token.id}` },
      { method: 'POST' as const, url: '/v1/domains', payload: { name: 'csrf.example.com' } },
      { method: 'POST' as const, url: '/v1/auth/reauth', payload: { password: PASSWORD } },
    ];
    for (const m of mutations) {
      expectError(await h.request({ ...m, headers: { cookie: s.cookie } }), 403, 'forbidden');
      expectError(await h.request({ ...m, headers: { cookie: s.cookie, 'x-csrf-token': 'forged' } }), 403, 'forbidden');
    }
    expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: { cookie: s.cookie } }), 200);
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: asSession(s) }), 200).token.status).toBe('active');
  });

  it('does not accept one session’s CSRF token for another session', async () => {
    const a = await ownerSession(h);
    const b = await ownerSession(h);
    expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: { cookie: a.cookie, 'x-csrf-token': b.csrf }, payload: { name: 'mix.example.com' } }), 403, 'forbidden');
  });
});

describe('verify it is you', () => {
  it('requires a fresh password check for create, revoke, delete and any change of access, but not for a rename', async () => {
    const s = await ownerSession(h);
    const auth = asSession(s);
    const { token } = await createToken(h, auth, { name: 'narrow', scopes: ['domains:read'], ip_allowlist: ['192.0.2.1'] });
    h.clock.advance(11 * 60_000);

    const needs = async (m: { method: 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: unknown }) => {
      const err = expectError(await h.request({ ...m, headers: auth } as any), 403, 'reauth_required');
      expect(err.details?.action).toEqual(expect.any(String));
    };
    await needs({ method: 'POST', url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'] } });
    await needs({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, payload: {} });
    await needs({ method: 'DELETE', url: `/v1/tokens/${token.id}` });
    await needs({ method: 'PATCH', url: `/v1/tokens/${token.id}`, payload: { scopes: ['domains:full'] } });
    await needs({ method: 'PATCH', url: `/v1/tokens/${token.id}`, payload: { ip_allowlist: null } });
    // Narrowing too: a stale session could otherwise end a token, and all below it, with `1s`.
    await needs({ method: 'PATCH', url: `/v1/tokens/${token.id}`, payload: { expires_in: '1s' } });
    await needs({ method: 'PATCH', url: `/v1/tokens/${token.id}`, payload: { rate_limit: { requests: 1, per: '1h' } } });
    // A rename is not sensitive, even sent along with the access the token already has, as a form would.
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: auth, payload: { name: 'renamed', ip_allowlist: ['192.0.2.1'], scopes: ['domains:read'] } }), 200);
    // Nothing of the refused changes happened.
    const still = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: auth }), 200).token;
    expect(still).toMatchObject({ status: 'active', scopes: ['domains:read'], ip_allowlist: ['192.0.2.1'] });

    expectError(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: auth, payload: { password: 'not the password' } }), 401, 'unauthorized');
    const reauth = expectStatus(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: auth, payload: { password: PASSWORD } }), 200);
    expect(Date.parse(reauth.reauth_until)).toBe(h.clock.now() + 600_000);
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: auth, payload: { scopes: ['domains:full'] } }), 200);
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: auth, payload: {} }), 200);
    const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log', headers: auth }), 200);
    expect(audit.data.map((e: any) => e.action)).toEqual(expect.arrayContaining(['auth.reauth', 'auth.reauth_failed']));
  });

  it('takes its window from LATCHKEY_REAUTH_WINDOW', async () => {
    const short = await startHarness({ LATCHKEY_REAUTH_WINDOW: '30' });
    try {
      const s = await ownerSession(short);
      short.clock.advance(31_000);
      expectError(await short.request({ method: 'POST', url: '/v1/tokens', headers: asSession(s), payload: { name: 'x', scopes: ['domains:read'] } }), 403, 'reauth_required');
    } finally {
      await short.close();
    }
  });
});

describe('roles', () => {
  let accountId: string;
  let member: Session;
  let admin: Session;
  beforeAll(async () => {
    ({ accountId } = await createAccount(h));
    member = await login(h, await addUser(h, accountId, 'member'));
    admin = await login(h, await addUser(h, accountId, 'admin'));
  });

  it('lets admins manage tokens and refuses members on every token route', async () => {
    const { token } = await createToken(h, asSession(admin), { name: 'by admin', scopes: ['domains:read'] });
    for (const m of [
      { method: 'GET' as const, url: '/v1/tokens' },
      { method: 'GET' as const, url: `/v1/tokens/${token.id}` },
      { method: 'POST' as const, url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'] } },
      { method: 'PATCH' as const, url: `/v1/tokens/${token.id}`, payload: { name: 'x' } },
      { method: 'POST' as const, url: `/v1/tokens/${token.id}/revoke`, payload: {} },
      { method: 'DELETE' as const, url: `/v1/tokens/${token.id}` },
      { method: 'GET' as const, url: '/v1/audit-log' },
    ]) {
      expectError(await h.request({ ...m, headers: asSession(member) }), 403, 'forbidden');
    }
    // Members still use the platform itself.
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: asSession(member) }), 200);
  });

  it('can be narrowed to owners only', async () => {
    const strict = await startHarness({ LATCHKEY_TOKEN_MANAGERS: 'owner' });
    try {
      const { accountId: id, ownerEmail } = await createAccount(strict);
      const a = await login(strict, await addUser(strict, id, 'admin'));
      expectError(await strict.request({ method: 'GET', url: '/v1/tokens', headers: asSession(a) }), 403, 'forbidden');
      expectStatus(await strict.request({ method: 'GET', url: '/v1/tokens', headers: asSession(await login(strict, ownerEmail)) }), 200);
    } finally {
      await strict.close();
    }
  });
});

describe('operator API', () => {
  it('needs the operator token', async () => {
    const payload = { name: 'x', plan: 'pro', owner: { email: 'op@example.com', password: PASSWORD } };
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', payload }), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: bearer('not-the-operator-token'), payload }), 401, 'unauthorized');
    const s = await ownerSession(h);
    const { secret } = await createToken(h, asSession(s), { name: 'tenant', scopes: ['*'] });
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: bearer(secret), payload }), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: asSession(s), payload }), 401, 'unauthorized');
  });

  it('validates accounts and users, and refuses a duplicate email with 409', async () => {
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(h), payload: { name: 'x', plan: 'gold', owner: { email: 'a@example.com', password: PASSWORD } } }), 400, 'invalid_request');
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(h), payload: { name: 'x', plan: 'pro', owner: { email: 'not-an-email', password: PASSWORD } } }), 400, 'invalid_request');
    expectError(await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(h), payload: { name: 'x', plan: 'pro', owner: { email: 'a@example.com', password: 'short' } } }), 400, 'invalid_request');
    const { ownerEmail, accountId } = await createAccount(h);
    expectError(await h.request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/users`, headers: operator(h), payload: { email: ownerEmail, password: PASSWORD, role: 'admin' } }), 409, 'conflict');
    expectError(await h.request({ method: 'PATCH', url: '/admin/v1/accounts/acc_missing', headers: operator(h), payload: { plan: 'pro' } }), 404, 'not_found');
  });
});

describe('the Authorization header', () => {
  it.each([
    ['Bearer', 'no credential'],
    ['Basic dXNlcjpwYXNz', 'another scheme'],
    ['Bearer lk_live_tooshort', 'a malformed token'],
    [`Bearer lk_live_${'a'.repeat(49)}`, 'a bad checksum'],
    [`Bearer ${'x'.repeat(600)}`, 'an oversized value'],
    ['Bearer \u0000\u0001', 'control characters'],
  ])('answers 401 in the error shape for %s (%s)', async (authorization) => {
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: { authorization } }), 401, 'unauthorized');
  });

  it('refuses a token in the query string, even a valid one', async () => {
    const s = await ownerSession(h);
    const { secret } = await createToken(h, asSession(s), { name: 'q', scopes: ['domains:read'] });
    for (const url of [`/v1/domains?token=${secret}`, `/v1/domains?access_token=${secret}`, `/v1/domains?x=${secret}`, `/v1/domains?api_key=abc`, `/v1/domains?${secret}`, `/v1/domains?${secret}=1`, `/v1/domains?limit=5&${encodeURIComponent(secret)}`]) {
      const err = expectError(await h.request({ method: 'GET', url, headers: bearer(secret) }), 400, 'invalid_request');
      expect(err.details?.field).toBe('query');
    }
    expect(h.logs.join('')).not.toContain(secret);
  });
});
