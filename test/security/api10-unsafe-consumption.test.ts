/**
 * OWASP API10:2023 Unsafe Consumption of APIs: what Latchkey takes from other systems (the
 * PostgreSQL invalidation channel, a trusted proxy's headers, Redis) is checked, and a failure
 * there closes rather than opens.
 */
import { sql } from 'kysely';
import { channelFor } from '../../src/store/change-feed.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asSession, bearer, createToken, expectError, expectStatus, ownerSession } from '../helpers/actors.js';
import { DIALECT, withHarness, type Harness } from '../helpers/harness.js';
import { adminQuery } from '../helpers/postgres.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
beforeAll(async () => ({ h, a } = await world()));
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

/** Sent from outside the app, on the channel of this app's schema only. */
async function notify(payload: string): Promise<void> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(h.store.db);
  await adminQuery('select pg_notify($1, $2)', [channelFor(rows[0]!.schema), payload]);
}

/** Notices arrive asynchronously: waits (up to 5 s) for the app's verify cache to be emptied. */
async function untilCacheEmpty(app: Harness): Promise<void> {
  const deadline = Date.now() + 5000;
  while (app.ctx.verifier.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('API10 unsafe consumption of APIs', () => {
  it.skipIf(DIALECT !== 'postgres').each([
    ['not JSON', 'garbage'],
    ['JSON of the wrong shape', '{"hashes": 5}'],
    ['a hash list with non-strings', '{"hashes": [1, {"a": 2}]}'],
    ['an empty object', '{}'],
  ])('treats an invalidation notice that is %s as “forget everything”, and keeps serving', async (_label, payload) => {
    const revoked = await createToken(h, a.session, { name: 'revoked unheard', scopes: ['domains:read'] });
    const kept = await createToken(h, a.session, { name: 'kept', scopes: ['domains:read'] });
    const use = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    expectStatus(await use(revoked.secret), 200);
    expectStatus(await use(kept.secret), 200);
    // Revoked with no notice naming it: the cached grant still answers until something says to forget.
    await h.store.db.updateTable('tokens').set({ revoked_at: h.clock.now() }).where('id', '=', revoked.token.id).execute();
    expectStatus(await use(revoked.secret), 200);
    await notify(payload);
    await untilCacheEmpty(h);
    expectError(await use(revoked.secret), 401, 'token_revoked');
    expectStatus(await use(kept.secret), 200);
  });

  it.skipIf(DIALECT !== 'postgres')('keeps deployments in separate schemas of one server deaf to each other’s notices', async () => {
    await withHarness({}, async (other) => {
      const { secret } = await createToken(other, asSession(await ownerSession(other)), { name: 'elsewhere', scopes: ['domains:read'] });
      expectStatus(await other.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
      const held = other.ctx.verifier.size;
      expect(held).toBeGreaterThan(0);
      await notify('garbage');
      await untilCacheEmpty(h);
      expect(h.ctx.verifier.size).toBe(0);
      expect(other.ctx.verifier.size).toBe(held);
    });
  });

  it('refuses, never crashes, when a trusted proxy forwards an address that is not one', async () => {
    await withHarness({ LATCHKEY_TRUST_PROXY: '10.0.0.0/8' }, async (proxied) => {
      const owner = asSession(await ownerSession(proxied));
      const { secret } = await createToken(proxied, owner, { name: 'behind proxy', scopes: ['domains:read'], ip_allowlist: ['203.0.113.0/24'] });
      for (const forwarded of ['not-an-ip', '999.1.1.1', '203.0.113.1.5', `${'1'.repeat(5000)}`, '203.0.113.7%eth0', '', ',,,']) {
        const response = await proxied.request({ method: 'GET', url: '/v1/domains', remoteAddress: '10.0.0.1', headers: { ...bearer(secret), 'x-forwarded-for': forwarded } });
        expectError(response, 403, 'ip_not_allowed');
      }
    });
  });

  it('keeps enforcing rate limits, in memory, when Redis cannot be reached', async () => {
    await withHarness({ LATCHKEY_REDIS_URL: 'redis://127.0.0.1:1' }, async (cut) => {
      const owner = asSession(await ownerSession(cut));
      const { secret } = await createToken(cut, owner, { name: 'limited', scopes: ['domains:read'], rate_limit: { requests: 2, per: '1m' } });
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await cut.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) })).statusCode);
      expect(statuses).toEqual([200, 200, 429, 429]);
    });
  });
});
