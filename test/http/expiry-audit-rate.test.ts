/**
 * Three rules held at their edges through the API, each test written so that changing one line of
 * the rule fails it: a token's expiry stays within its parent's and within the deployment's
 * maximum; an audit event names who changed which token, how, from where, and what changed; and a
 * token's rate limit counts that token's own requests, refusing the one past the limit and no other.
 */
import { describe, expect } from 'vitest';
import { asSession, bearer, createToken, expectError, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { test } from '../helpers/fixtures.js';
import { withHarness, type Harness } from '../helpers/harness.js';

const SECOND = 1000;
const DAY = 86_400 * SECOND;
const iso = (ms: number) => new Date(ms).toISOString();

const mint = (h: Harness, secret: string, payload: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload });
const use = (h: Harness, secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
const auditOf = async (h: Harness, owner: Session, action: string) =>
  expectStatus(await h.request({ method: 'GET', url: `/v1/audit-log?action=${action}&limit=100`, headers: asSession(owner) }), 200).data as any[];

describe('the expiry ceiling', () => {
  test('a child may expire with its parent, not a millisecond later, and never outlives it by omission', async ({ app: h, owner }) => {
    const parentExpiry = h.clock.now() + 10 * DAY;
    const parent = await createToken(h, asSession(owner), { name: 'mortal minter', scopes: ['tokens:full', 'domains:read'], expires_at: iso(parentExpiry) });
    expect(Date.parse(parent.token.expires_at)).toBe(parentExpiry);

    const level = expectStatus(await mint(h, parent.secret, { name: 'level', scopes: ['domains:read'], expires_at: iso(parentExpiry) }), 201).token;
    expect(Date.parse(level.expires_at)).toBe(parentExpiry);
    const inherited = expectStatus(await mint(h, parent.secret, { name: 'inherits', scopes: ['domains:read'] }), 201).token;
    expect(Date.parse(inherited.expires_at)).toBe(parentExpiry);
    for (const expiry of [{ expires_at: iso(parentExpiry + 1) }, { expires_at: null }, { expires_in: 'never' }, { expires_in: '11d' }]) {
      const err = expectError(await mint(h, parent.secret, { name: 'longer', scopes: ['domains:read'], ...expiry }), 403, 'forbidden');
      expect(err.details, JSON.stringify(expiry)).toEqual({ field: 'expires_at' });
    }
    // Nor may the parent stretch a child it made past itself afterwards.
    const stretch = await h.request({ method: 'PATCH', url: `/v1/tokens/${level.id}`, headers: bearer(parent.secret), payload: { expires_at: iso(parentExpiry + 1) } });
    expect(expectError(stretch, 403, 'forbidden').details).toEqual({ field: 'expires_at' });
    expect(Date.parse(expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${level.id}`, headers: asSession(owner) }), 200).token.expires_at)).toBe(parentExpiry);
  });

  test('LATCHKEY_MAX_TOKEN_LIFETIME admits exactly the maximum, refuses a millisecond more, and a child defaults to the earlier of it and its parent', async () => {
    await withHarness({ LATCHKEY_MAX_TOKEN_LIFETIME: '30d' }, async (h) => {
      const owner = await ownerSession(h);
      const create = (payload: Record<string, unknown>) =>
        h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'capped', scopes: ['tokens:full', 'domains:read'], ...payload } });
      const start = h.clock.now();
      expect(Date.parse(expectStatus(await create({ expires_in: '30d' }), 201).token.expires_at)).toBe(start + 30 * DAY);
      expect(Date.parse(expectStatus(await create({ expires_at: iso(start + 30 * DAY) }), 201).token.expires_at)).toBe(start + 30 * DAY);
      for (const expiry of [{ expires_at: iso(start + 30 * DAY + 1) }, { expires_in: '31d' }]) {
        const err = expectError(await create(expiry), 400, 'invalid_request');
        expect(err.details, JSON.stringify(expiry)).toMatchObject({ max_lifetime_seconds: 30 * 86_400 });
      }
      const parent = expectStatus(await create({}), 201);
      expect(Date.parse(parent.token.expires_at)).toBe(start + 30 * DAY);

      // A day on, the maximum lies a day past the parent's expiry: the child gets the parent's.
      h.clock.advance(DAY);
      const child = expectStatus(await mint(h, parent.secret, { name: 'defaulted', scopes: ['domains:read'] }), 201).token;
      expect(Date.parse(child.expires_at)).toBe(start + 30 * DAY);
    });
  });
});

describe('audit fields', () => {
  test('an edit by a token names that token as actor, the token under its new name as target, where it came from, and each change', async ({ app: h, owner }) => {
    const parent = await createToken(h, asSession(owner), { name: 'ci minter', scopes: ['tokens:full', 'domains:read'] });
    const child = expectStatus(await mint(h, parent.secret, { name: 'nightly job', scopes: ['domains:read'] }), 201).token;
    const from = { remoteAddress: '198.51.100.7', headers: { ...bearer(parent.secret), 'user-agent': 'deploy-bot/2.0' } };
    expectStatus(await h.request({
      method: 'PATCH', url: `/v1/tokens/${child.id}`, ...from, payload: { name: 'nightly job v2', expires_in: '7d', rate_limit: { requests: 10, per: '1m' } },
    }), 200);

    // Both events: made by the parent, about the child under its new name, from where it called.
    const byParent = {
      actor: { type: 'token', id: parent.token.id, name: 'ci minter' },
      target: { type: 'token', id: child.id, name: 'nightly job v2' },
      ip: '198.51.100.7',
      user_agent: 'deploy-bot/2.0',
    };
    const [updated, ...others] = await auditOf(h, owner, 'token.updated');
    expect(others).toEqual([]);
    expect(updated).toMatchObject({ action: 'token.updated', ...byParent, at: iso(h.clock.now()) });
    expect(updated.details).toEqual({
      changes: {
        name: { from: 'nightly job', to: 'nightly job v2' },
        expires_at: { from: null, to: iso(h.clock.now() + 7 * DAY) },
        rate_limit: { from: null, to: { requests: 10, per: '1m' } },
      },
    });

    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${child.id}/revoke`, ...from, payload: { reason: 'job retired' } }), 200);
    const [revoked, ...more] = await auditOf(h, owner, 'token.revoked');
    expect(more).toEqual([]);
    expect(revoked).toMatchObject({ action: 'token.revoked', ...byParent });
    expect(revoked.details).toEqual({ reason: 'job retired' });
  });
});

describe('the per-token rate limit', () => {
  test('admits a token’s limit, refuses the next with the wait until one more, counts each token alone, and survives a rotation', async ({ app: h, owner }) => {
    const limit = { requests: 3, per: '1m' };
    const a = await createToken(h, asSession(owner), { name: 'limited a', scopes: ['domains:read'], rate_limit: limit });
    const b = await createToken(h, asSession(owner), { name: 'limited b', scopes: ['domains:read'], rate_limit: limit });
    const free = await createToken(h, asSession(owner), { name: 'unlimited', scopes: ['domains:read'] });

    for (let i = 0; i < 3; i += 1) expectStatus(await use(h, a.secret), 200);
    const refused = await use(h, a.secret);
    // 3 a minute: one place comes back every 20 seconds.
    expect(expectError(refused, 429, 'rate_limited').details).toEqual({ retry_after: 20 });
    expect(refused.headers['retry-after']).toBe('20');
    // The other token with the same limit has all of its own: requests it may not make are refused
    // as such and spend none of it. A token without a limit is never counted.
    for (let i = 0; i < 2; i += 1) {
      expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(b.secret), payload: { name: `not-${i}.example.com` } }), 403, 'insufficient_scope');
    }
    for (let i = 0; i < 3; i += 1) expectStatus(await use(h, b.secret), 200);
    expectError(await use(h, b.secret), 429, 'rate_limited');
    for (let i = 0; i < 10; i += 1) expectStatus(await use(h, free.secret), 200);

    // A rotation continues the count: the new secret is the same token.
    const rotated = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${a.token.id}/rotate`, headers: asSession(owner), payload: {} }), 200);
    expectError(await use(h, rotated.secret), 429, 'rate_limited');
    // Under the limit again after one interval: exactly one request, then refused again.
    h.clock.advance(20 * SECOND - 1);
    expectError(await use(h, rotated.secret), 429, 'rate_limited');
    h.clock.advance(1);
    expectStatus(await use(h, rotated.secret), 200);
    expectError(await use(h, rotated.secret), 429, 'rate_limited');
    // After a whole minute unused, the whole limit again.
    h.clock.advance(60 * SECOND);
    for (let i = 0; i < 3; i += 1) expectStatus(await use(h, rotated.secret), 200);
    expectError(await use(h, rotated.secret), 429, 'rate_limited');
  });
});
