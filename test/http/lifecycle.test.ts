import { beforeAll, describe, expect, it } from 'vitest';
import { asSession, bearer, createAccount, createToken, expectError, expectStatus, login, operator, ownerSession, PASSWORD, type Session } from '../helpers/actors.js';
import { injectFailure, startHarness, withHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app) });

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const use = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
const post = (url: string, payload: Record<string, unknown> = {}) => h.request({ method: 'POST', url, headers: asSession(owner), payload });
const fresh = async () => {
  owner = await login(h, owner.email);
};

describe('pause and resume', () => {
  beforeAll(async () => {
    owner = await ownerSession(h);
  });

  it('refuses a paused token with 401 token_paused until it is resumed', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'pausable', scopes: ['domains:read'] });
    expectStatus(await use(secret), 200);
    expect(expectStatus(await post(`/v1/tokens/${token.id}/pause`), 200).token).toMatchObject({ status: 'paused', paused_at: expect.any(String) });
    expectError(await use(secret), 401, 'token_paused');
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?status=paused', headers: asSession(owner) }), 200).data.map((t: any) => t.id)).toContain(token.id);
    expect(expectStatus(await post(`/v1/tokens/${token.id}/resume`), 200).token).toMatchObject({ status: 'active', paused_at: null });
    expectStatus(await use(secret), 200);
    const actions = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log', headers: asSession(owner) }), 200).data.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['token.paused', 'token.resumed']));
  });

  it('refuses to resume (or pause) a revoked or expired token with 409', async () => {
    const { token: revoked } = await createToken(h, asSession(owner), { name: 'r', scopes: ['domains:read'] });
    await post(`/v1/tokens/${revoked.id}/pause`);
    await post(`/v1/tokens/${revoked.id}/revoke`);
    expectError(await post(`/v1/tokens/${revoked.id}/resume`), 409, 'conflict');
    const { token: expiring } = await createToken(h, asSession(owner), { name: 'e', scopes: ['domains:read'], expires_in: '1h' });
    h.clock.advance(HOUR);
    await fresh();
    expectError(await post(`/v1/tokens/${expiring.id}/resume`), 409, 'conflict');
    expectError(await post(`/v1/tokens/${expiring.id}/pause`), 409, 'conflict');
  });
});

describe('rotation', () => {
  beforeAll(async () => {
    owner = await ownerSession(h);
  });

  it('issues a new secret with the same settings and links the two; the old works for the grace period, then expires', async () => {
    const { secret: oldSecret, token: old } = await createToken(h, asSession(owner), {
      name: 'rotating', description: 'nightly', scopes: ['domains:read', 'activity:read'], ip_allowlist: ['127.0.0.0/8'], expires_in: '30d',
    });
    const response = await post(`/v1/tokens/${old.id}/rotate`, { grace_period: '2h' });
    expect(response.headers['cache-control']).toBe('no-store');
    const body = expectStatus(response, 200);
    expect(body.secret).toMatch(/^lk_live_/);
    expect(body.secret).not.toBe(oldSecret);
    expect(body.token).toMatchObject({
      name: 'rotating', description: 'nightly', scopes: old.scopes, ip_allowlist: old.ip_allowlist, expires_at: old.expires_at, rotated_from: old.id, status: 'active',
    });
    expect(body.previous).toMatchObject({ id: old.id, rotated_to: body.token.id, expires_at: new Date(h.clock.now() + 2 * HOUR).toISOString() });

    expectStatus(await use(oldSecret), 200);
    expectStatus(await use(body.secret), 200);
    h.clock.advance(2 * HOUR);
    expectError(await use(oldSecret), 401, 'token_expired');
    expectStatus(await use(body.secret), 200);
    await fresh();
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${old.id}`, headers: asSession(owner) }), 200).token.status).toBe('expired');
  });

  it('defaults to 12 hours, never outlives the original expiry, accepts 0, and refuses bad grace periods', async () => {
    const rotate = async (payload: Record<string, unknown>, create: Record<string, unknown> = {}) => {
      const { token } = await createToken(h, asSession(owner), { name: 'g', scopes: ['domains:read'], ...create });
      return post(`/v1/tokens/${token.id}/rotate`, payload);
    };
    expect(Date.parse(expectStatus(await rotate({}), 200).previous.expires_at)).toBe(h.clock.now() + 12 * HOUR);
    expect(Date.parse(expectStatus(await rotate({ grace_period: '7d' }, { expires_in: '1h' }), 200).previous.expires_at)).toBe(h.clock.now() + HOUR);
    const immediate = expectStatus(await rotate({ grace_period: '0s' }), 200);
    expect(immediate.previous.status).toBe('expired');
    expectError(await rotate({ grace_period: '8d' }), 400, 'invalid_request');
    expectError(await rotate({ grace_period: 'soon' }), 400, 'invalid_request');
    const { token } = await createToken(h, asSession(owner), { name: 'twice', scopes: ['domains:read'] });
    expectStatus(await post(`/v1/tokens/${token.id}/rotate`), 200);
    expectError(await post(`/v1/tokens/${token.id}/rotate`), 409, 'conflict');
  });

  it('of 20 concurrent rotations of one token, exactly one succeeds and one successor exists', async () => {
    const { token } = await createToken(h, asSession(owner), { name: 'contended', scopes: ['domains:read'] });
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(`/v1/tokens/${token.id}/rotate`)));
    const codes = responses.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(19);
    const successors = await h.store.db.selectFrom('tokens').select('id').where('rotated_from', '=', token.id).execute();
    expect(successors).toHaveLength(1);
  });

  it('leaves the old token working and no orphan behind when rotation fails midway', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'fragile', scopes: ['domains:read'] });
    const removeFault = await injectFailure(h, 'tokens', 'update of rotated_to');
    try {
      const response = await post(`/v1/tokens/${token.id}/rotate`);
      expect(response.statusCode).toBe(500);
    } finally {
      await removeFault();
    }
    expectStatus(await use(secret), 200);
    expect(await h.store.db.selectFrom('tokens').select('id').where('rotated_from', '=', token.id).execute()).toEqual([]);
    const row = await h.store.db.selectFrom('tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ rotated_to: null, expires_at: null });
    expectStatus(await post(`/v1/tokens/${token.id}/rotate`), 200);
  });
});

describe('expiry and retention', () => {
  it('keeps dead tokens listed under their status for the retention period, then purges them, keeping their history', async () => {
    owner = await ownerSession(h);
    const { token: revoked } = await createToken(h, asSession(owner), { name: 'revoked long ago', scopes: ['domains:read'] });
    const { token: expired } = await createToken(h, asSession(owner), { name: 'expired long ago', scopes: ['domains:read'], expires_in: '1d' });
    const { token: alive } = await createToken(h, asSession(owner), { name: 'alive', scopes: ['domains:read'] });
    await post(`/v1/tokens/${revoked.id}/revoke`);
    h.clock.advance(29 * DAY);
    // Other tests' dead tokens may be due by now; this one's are not, as the lists below show.
    await h.ctx.lifecycle.purgeExpired();
    await fresh();
    const list = async (status: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?status=${status}&limit=100`, headers: asSession(owner) }), 200).data.map((t: any) => t.id);
    expect(await list('revoked')).toContain(revoked.id);
    expect(await list('expired')).toContain(expired.id);

    h.clock.advance(2 * DAY);
    expect(await h.ctx.lifecycle.purgeExpired()).toBeGreaterThanOrEqual(2);
    await fresh();
    expect(await list('revoked')).not.toContain(revoked.id);
    expect(await list('expired')).not.toContain(expired.id);
    expect(await list('active')).toContain(alive.id);
    expectError(await h.request({ method: 'GET', url: `/v1/tokens/${revoked.id}`, headers: asSession(owner) }), 404, 'not_found');
    const purged = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.purged', headers: asSession(owner) }), 200);
    expect(purged.data.map((e: any) => e.target.id)).toEqual(expect.arrayContaining([revoked.id, expired.id]));
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.created&limit=100', headers: asSession(owner) }), 200).data.map((e: any) => e.target.id)).toContain(revoked.id);
    expect((await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: asSession(owner) })).json().valid).toBe(true);
  });

  it('purges each token once when several nodes purge at the same time', async () => {
    const s = await ownerSession(h);
    for (let i = 0; i < 5; i += 1) {
      const { token } = await createToken(h, asSession(s), { name: `raced ${i}`, scopes: ['domains:read'] });
      await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(s), payload: {} });
    }
    h.clock.advance(31 * DAY);
    const counts = await Promise.all([h.ctx.lifecycle.purgeExpired(), h.ctx.lifecycle.purgeExpired(), h.ctx.lifecycle.purgeExpired()]);
    const events = await h.store.db.selectFrom('audit_events').select('target_id').where('account_id', '=', s.accountId).where('action', '=', 'token.purged').execute();
    expect(events).toHaveLength(5);
    expect(new Set(events.map((e) => e.target_id)).size).toBe(5);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
    owner = await login(h, s.email);
    expect((await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: asSession(owner) })).json().valid).toBe(true);
  });

  it('takes the retention from LATCHKEY_TOKEN_RETENTION_DAYS', async () => {
    const short = await startHarness({ LATCHKEY_TOKEN_RETENTION_DAYS: '1' });
    try {
      const s = await ownerSession(short);
      const { token } = await createToken(short, asSession(s), { name: 'x', scopes: ['domains:read'] });
      await short.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(s), payload: {} });
      short.clock.advance(DAY + 1);
      expect(await short.ctx.lifecycle.purgeExpired()).toBe(1);
    } finally {
      await short.close();
    }
  });
});

describe('plans over time', () => {
  it('narrows every token at once on a downgrade and widens none beyond its grant on an upgrade', async () => {
    const { accountId, ownerEmail } = await createAccount(h, 'pro');
    const s = await login(h, ownerEmail);
    const { secret: writer, token } = await createToken(h, asSession(s), { name: 'writer', scopes: ['domains:full'] });
    const { secret: reader } = await createToken(h, asSession(s), { name: 'reader', scopes: ['domains:read'] });
    const create = (secret: string) => h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: `p${Date.now()}${Math.random().toString(36).slice(2, 6)}.example.com` } });
    expectStatus(await create(writer), 201);
    const plan = async (name: string) => expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${accountId}`, headers: operator(h), payload: { plan: name } }), 200);
    await plan('starter');
    expectError(await create(writer), 403, 'plan_restricted');
    expectStatus(await use(writer), 200);
    const view = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: asSession(s) }), 200).token;
    expect(view).toMatchObject({ scopes: ['domains:full'], effective_scopes: ['domains:read'] });
    await plan('enterprise');
    expectStatus(await create(writer), 201);
    expectError(await create(reader), 403, 'insufficient_scope');
  });
});

describe('brute force', () => {
  it('throttles failed logins per account with 429 and Retry-After, refusing even the right password, and audits it', async () => {
    const limited = await startHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: '100' });
    try {
      const { ownerEmail } = await createAccount(limited);
      const attempt = (password: string, remoteAddress = '127.0.0.1') =>
        limited.request({ method: 'POST', url: '/v1/auth/login', remoteAddress, payload: { email: ownerEmail, password } });
      for (let i = 0; i < 3; i += 1) expectError(await attempt('wrong password'), 401, 'unauthorized');
      const throttled = await attempt(PASSWORD, '198.51.100.7');
      const err = expectError(throttled, 429, 'rate_limited');
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect(err.details?.retry_after).toBe(Number(throttled.headers['retry-after']));
      const row = await limited.store.db.selectFrom('audit_events').select('action').where('action', '=', 'auth.login_throttled').execute();
      expect(row).toHaveLength(1);
    } finally {
      await limited.close();
    }
  });

  it('ends a throttle as its window passes on the service’s clock: one place back every window / limit, Retry-After saying when', async () => {
    await withHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: '100', LATCHKEY_LOGIN_FAILURE_WINDOW: '900' }, async (limited) => {
      const { ownerEmail } = await createAccount(limited);
      const attempt = (password: string) => limited.request({ method: 'POST', url: '/v1/auth/login', payload: { email: ownerEmail, password } });
      for (let i = 0; i < 3; i += 1) expectError(await attempt('wrong password'), 401, 'unauthorized');
      const throttled = await attempt(PASSWORD);
      expectError(throttled, 429, 'rate_limited');
      // Three failures per 900 s: the next place frees 300 s after the third.
      expect(Number(throttled.headers['retry-after'])).toBe(300);
      limited.clock.advance(299_000);
      expectError(await attempt(PASSWORD), 429, 'rate_limited');
      limited.clock.advance(1_000);
      expectStatus(await attempt(PASSWORD), 200);
      // The right password cleared the account's budget: three wrong ones fit again.
      for (let i = 0; i < 3; i += 1) expectError(await attempt('wrong password'), 401, 'unauthorized');
      expectError(await attempt('wrong password'), 429, 'rate_limited');
    });
  });

  it('clears an account’s failures when its password is given right, so that only consecutive failures count', async () => {
    const limited = await startHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: '100' });
    try {
      const { ownerEmail } = await createAccount(limited);
      const attempt = (password: string) => limited.request({ method: 'POST', url: '/v1/auth/login', payload: { email: ownerEmail, password } });
      for (let round = 0; round < 3; round += 1) {
        for (let i = 0; i < 2; i += 1) expectError(await attempt('wrong password'), 401, 'unauthorized');
        expectStatus(await attempt(PASSWORD), 200);
      }
    } finally {
      await limited.close();
    }
  });

  it('throttles per client address across accounts, and throttles re-auth too', async () => {
    const limited = await startHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: '3' });
    try {
      const s = await ownerSession(limited);
      for (let i = 0; i < 3; i += 1) {
        expectError(await limited.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '203.0.113.9', payload: { email: `x${i}@example.com`, password: 'guess guess' } }), 401, 'unauthorized');
      }
      expectError(await limited.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '203.0.113.9', payload: { email: s.email, password: PASSWORD } }), 429, 'rate_limited');
      expectStatus(await limited.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: '203.0.113.10', payload: { email: s.email, password: PASSWORD } }), 200);

      for (let i = 0; i < 3; i += 1) {
        expectError(await limited.request({ method: 'POST', url: '/v1/auth/reauth', headers: asSession(s), payload: { password: 'wrong password' } }), 401, 'unauthorized');
      }
      expectError(await limited.request({ method: 'POST', url: '/v1/auth/reauth', headers: asSession(s), payload: { password: PASSWORD } }), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });
});
