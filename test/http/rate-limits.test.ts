import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, bearer, createToken, expectError, expectStatus, operator, ownerSession, PASSWORD, type Session } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

describe('per-token rate limit', () => {
  it('answers 429 with Retry-After past the limit, for that token only', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'limited', scopes: ['domains:read'], rate_limit: { requests: 3, per: '1m' } });
    expect(token.rate_limit).toEqual({ requests: 3, per: '1m' });
    const { secret: free } = await createToken(h, asSession(owner), { name: 'free', scopes: ['domains:read'] });
    for (let i = 0; i < 3; i += 1) expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    const refused = await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    const err = expectError(refused, 429, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(err.details?.retry_after).toBe(retryAfter);
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(free) }), 200);
    expect(expectStatus(await h.request({ method: 'POST', url: '/v1/verify', headers: operator(h), payload: { token: secret } }), 200)).toEqual({ valid: false, code: 'rate_limited' });
    await h.ctx.accessLog.flush();
    const logged = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}/activity`, headers: asSession(owner) }), 200);
    expect(logged.data[0]).toMatchObject({ status: 429, error_code: 'rate_limited' });
  });

  it('counts each token on its own, even when two tokens carry the same limit', async () => {
    const limit = { requests: 2, per: '1m' };
    const [a, b] = [await createToken(h, asSession(owner), { name: 'twin a', scopes: ['domains:read'], rate_limit: limit }), await createToken(h, asSession(owner), { name: 'twin b', scopes: ['domains:read'], rate_limit: limit })];
    const use = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    for (let i = 0; i < 2; i += 1) expectStatus(await use(a.secret), 200);
    expectError(await use(a.secret), 429, 'rate_limited');
    for (let i = 0; i < 2; i += 1) expectStatus(await use(b.secret), 200);
    expectError(await use(b.secret), 429, 'rate_limited');
  });

  it('is validated, editable, removable, and kept by a rotation', async () => {
    for (const rate_limit of [{ requests: 0, per: '1m' }, { requests: 5, per: '0s' }, { requests: 5, per: 'soon' }, { requests: 5, per: '2d' }, { requests: 5 }]) {
      expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'x', scopes: ['domains:read'], rate_limit } }), 400, 'invalid_request');
    }
    const { token } = await createToken(h, asSession(owner), { name: 'tunable', scopes: ['domains:read'] });
    const patch = async (id: string, rate_limit: unknown) =>
      expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${id}`, headers: asSession(owner), payload: { rate_limit } }), 200).token.rate_limit;
    expect(await patch(token.id, { requests: 100, per: '1s' })).toEqual({ requests: 100, per: '1s' });
    const rotated = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/rotate`, headers: asSession(owner), payload: {} }), 200);
    expect(rotated.token.rate_limit).toEqual({ requests: 100, per: '1s' });
    expect(await patch(rotated.token.id, null)).toBeNull();
    // The old secret keeps its limit until its grace period ends; it can no longer be changed.
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { rate_limit: null } }), 409, 'conflict');
  });
});

const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<string | null> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    client.disconnect();
  }
}

const redisMissing = await redisReachable();
if (redisMissing && process.env.CI) throw new Error(`Redis tests cannot run: ${REDIS_URL} is not reachable (${redisMissing})`);
if (redisMissing) console.warn(`Redis tests skipped: ${REDIS_URL} is not reachable (${redisMissing})`);

describe.skipIf(redisMissing !== null)('shared counters in Redis', () => {
  const prefix = `latchkey-test-${process.pid}-${Date.now()}`;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    // Redis outlives a run: each run counts under keys of its own, whatever earlier runs (or
    // anything else sharing this Redis) left behind.
    const env = { LATCHKEY_REDIS_URL: REDIS_URL, LATCHKEY_REDIS_PREFIX: prefix, LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' };
    a = await startHarness(env);
    b = await startHarness(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const guesser = '198.18.0.1';

  it('count failed logins across nodes', async () => {
    const email = `shared-${process.pid}-${Date.now()}@example.com`;
    for (const node of [a, b]) {
      expectStatus(await node.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(node), payload: { name: 'S', plan: 'pro', owner: { email, password: PASSWORD } } }), 201);
    }
    const fail = (node: Harness) => node.request({ method: 'POST', url: '/v1/auth/login', remoteAddress: guesser, payload: { email, password: 'wrong password' } });
    expectError(await fail(a), 401, 'unauthorized');
    expectError(await fail(a), 401, 'unauthorized');
    expectError(await fail(b), 401, 'unauthorized');
    expectError(await b.request({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } }), 429, 'rate_limited');
    expectError(await a.request({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } }), 429, 'rate_limited');
  });

  it('let no more guesses sent at once to both nodes reach the password check than the limit', async () => {
    const email = `concurrent-${process.pid}-${Date.now()}@example.com`;
    for (const node of [a, b]) {
      expectStatus(await node.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(node), payload: { name: 'C', plan: 'pro', owner: { email, password: PASSWORD } } }), 201);
    }
    const statuses = (await Promise.all(Array.from({ length: 24 }, (_, i) =>
      (i % 2 ? a : b).request({ method: 'POST', url: '/v1/auth/login', remoteAddress: guesser, payload: { email, password: `guess ${i}` } })))).map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(21);
  });

  it('keep every key under the deployment’s prefix', async () => {
    const client = new Redis(REDIS_URL);
    try {
      // A wrong password of its own, so that the throttle's keys exist whatever ran before.
      expectError(await a.request({ method: 'POST', url: '/v1/auth/login', payload: { email: `prefixed-${process.pid}@example.com`, password: 'wrong password' } }), 401, 'unauthorized');
      const keys = await client.keys(`${prefix}:*`);
      expect(keys.some((key) => key.startsWith(`${prefix}:pw:account:`))).toBe(true);
      expect(keys.some((key) => key.startsWith(`${prefix}:pw:ip:`))).toBe(true);
      await client.del(...keys);
    } finally {
      client.disconnect();
    }
  });

  it('count a token’s requests across nodes', async () => {
    const s = await ownerSession(a);
    const { secret, token } = await createToken(a, asSession(s), { name: 'shared limit', scopes: ['domains:read'], rate_limit: { requests: 4, per: '1m' } });
    // The same token on a second node: its row, as a shared database would hold it.
    const account = await a.store.db.selectFrom('accounts').selectAll().where('id', '=', s.accountId).executeTakeFirstOrThrow();
    const row = await a.store.db.selectFrom('tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
    await b.store.db.insertInto('accounts').values(account).execute();
    await b.store.db.insertInto('tokens').values(row).execute();
    for (const node of [a, b, a, b]) expectStatus(await node.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    expectError(await b.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 429, 'rate_limited');
    expectError(await a.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 429, 'rate_limited');
  });
});
