/**
 * Attacks on the lifecycle and on time: reviving a dead token by an edit, taking a working secret
 * from a paused one, expiries past year 9999, and a stale session collecting a new secret.
 */
import { describe, expect, it } from 'vitest';
import { asSession, bearer, createDomain, createMailbox, createToken, expectError, expectStatus, login, ownerSession, PASSWORD, type Session } from '../helpers/actors.js';
import { withHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

const HOUR = 3_600_000;
const fresh = async () => {
  owner = await login(h, owner.email);
};
const use = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
const patch = (id: string, payload: Record<string, unknown>) => h.request({ method: 'PATCH', url: `/v1/tokens/${id}`, headers: asSession(owner), payload });

describe('dead tokens stay dead', () => {
  it('refuses to give an expired token a new expiry, and its secret keeps failing', async () => {
    const { token, secret } = await createToken(h, asSession(owner), { name: 'lapsed', scopes: ['domains:read'], expires_in: '1h' });
    h.clock.advance(HOUR);
    await fresh();
    for (const payload of [{ expires_in: '30d' }, { expires_at: null }, { expires_at: new Date(h.clock.now() + HOUR).toISOString() }]) {
      expectError(await patch(token.id, payload), 409, 'conflict');
    }
    expectError(await use(secret), 401, 'token_expired');
  });

  it('refuses to extend a rotated-out predecessor, during its grace period or after it', async () => {
    const { token, secret } = await createToken(h, asSession(owner), { name: 'rotated out', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/rotate`, headers: asSession(owner), payload: { grace_period: '1h' } }), 200);
    expectError(await patch(token.id, { expires_at: null }), 409, 'conflict');
    expectError(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/rotate`, headers: asSession(owner), payload: {} }), 409, 'conflict');
    h.clock.advance(HOUR);
    await fresh();
    expectError(await patch(token.id, { expires_at: null }), 409, 'conflict');
    expectError(await patch(token.id, { expires_in: '7d' }), 409, 'conflict');
    expectError(await use(secret), 401, 'token_expired');
  });
});

describe('a paused token rotates into a paused successor', () => {
  it('hands out a secret that is refused until the token is resumed', async () => {
    const { token } = await createToken(h, asSession(owner), { name: 'paused, then rotated', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/pause`, headers: asSession(owner), payload: {} }), 200);
    const rotated = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/rotate`, headers: asSession(owner), payload: {} }), 200);
    expect(rotated.token.status).toBe('paused');
    expectError(await use(rotated.secret), 401, 'token_paused');
  });
});

describe('time is compared as time', () => {
  it('refuses expiries past year 9999 and accepts the last millisecond of it, which lists as active', async () => {
    const create = (expiry: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'far', scopes: ['domains:read'], ...expiry } });
    for (const expiry of [{ expires_in: '999999w' }, { expires_at: '+010000-01-01T00:00:00.000Z' }, { expires_at: '+275760-09-13T00:00:00.000Z' }]) {
      const error = expectError(await create(expiry), 400, 'invalid_request');
      expect(error.details?.field).toBe(Object.keys(expiry)[0]);
    }
    const last = expectStatus(await create({ expires_at: '9999-12-31T23:59:59.999Z' }), 201).token;
    const listed = async (status: string) =>
      expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?status=${status}&limit=100`, headers: asSession(owner) }), 200).data.map((t: any) => t.id);
    expect(await listed('active')).toContain(last.id);
    expect(await listed('expired')).not.toContain(last.id);
    expectError(await patch(last.id, { expires_in: '999999w' }), 400, 'invalid_request');
  });

  it('enforces LATCHKEY_MAX_TOKEN_LIFETIME on creation, edits and derived tokens, and makes it the default', async () => {
    await withHarness({ LATCHKEY_MAX_TOKEN_LIFETIME: '30d' }, async (capped) => {
      const s = asSession(await ownerSession(capped));
      const create = (expiry: Record<string, unknown>) => capped.request({ method: 'POST', url: '/v1/tokens', headers: s, payload: { name: 'capped', scopes: ['domains:read'], ...expiry } });
      expectError(await create({ expires_in: '31d' }), 400, 'invalid_request');
      expectError(await create({ expires_at: null }), 400, 'invalid_request');
      expectError(await create({ expires_in: 'never' }), 400, 'invalid_request');
      const defaulted = expectStatus(await create({}), 201).token;
      expect(Date.parse(defaulted.expires_at)).toBe(capped.clock.now() + 30 * 24 * HOUR);
      expectError(await capped.request({ method: 'PATCH', url: `/v1/tokens/${defaulted.id}`, headers: s, payload: { expires_at: null } }), 400, 'invalid_request');
      const domain = expectStatus(await capped.request({ method: 'POST', url: '/v1/domains', headers: s, payload: { name: 'capped.example.com' } }), 201);
      expect(Date.parse(domain.token.expires_at)).toBe(capped.clock.now() + 30 * 24 * HOUR);
    });
  });
});

describe('every new secret a session receives needs a fresh password check', () => {
  it('refuses a stale session a domain (with its token), a resumption, a message token, a token and a rotation, until it re-authenticates', async () => {
    const domain = await createDomain(h, asSession(owner));
    const mailbox = await createMailbox(h, asSession(owner), domain.id);
    const { token } = await createToken(h, asSession(owner), { name: 'to rotate', scopes: ['domains:read'] });
    // Resuming gives access back: it asks too.
    const { token: paused } = await createToken(h, asSession(owner), { name: 'to resume', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${paused.id}/pause`, headers: asSession(owner), payload: {} }), 200);
    h.clock.advance(601_000);
    const stale = asSession(owner);
    const name = `stale${Date.now()}.example.com`;
    const attempts = [
      () => h.request({ method: 'POST', url: '/v1/domains', headers: stale, payload: { name } }),
      () => h.request({ method: 'POST', url: `/v1/tokens/${paused.id}/resume`, headers: stale, payload: {} }),
      () => h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: stale, payload: { name: 'm', scopes: ['messages:read'] } }),
      () => h.request({ method: 'POST', url: '/v1/tokens', headers: stale, payload: { name: 't', scopes: ['domains:read'] } }),
      () => h.request({ method: 'POST', url: `/v1/tokens/${token.id}/rotate`, headers: stale, payload: {} }),
    ];
    for (const attempt of attempts) {
      const response = await attempt();
      expectError(response, 403, 'reauth_required');
      expect(response.body).not.toMatch(/"secret"/);
    }
    const domains = expectStatus(await h.request({ method: 'GET', url: '/v1/domains?limit=100', headers: stale }), 200).data.map((d: any) => d.name);
    expect(domains).not.toContain(name);
    expectStatus(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: stale, payload: { password: PASSWORD } }), 200);
    for (const attempt of attempts) expect((await attempt()).statusCode).toBeLessThan(300);
  });
});
