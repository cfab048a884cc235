import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from './helpers/actors.js';
import { DIALECT } from './helpers/harness.js';
import { adminQuery as admin } from './helpers/postgres.js';
import { call as callService, processStore, signUpOwner, startService, type ServiceProcess } from './helpers/process.js';

if (DIALECT !== 'postgres') console.warn('multi-node tests skipped: they need PostgreSQL (the PostgreSQL pass of npm test runs them)');

const OPERATOR = 'multinode-operator-token-0123456789abcdefghij';


describe.skipIf(DIALECT !== 'postgres')('two nodes on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-nodes-'));
  let node1: ServiceProcess;
  let node2: ServiceProcess;
  let session: Record<string, string>;
  let store: Awaited<ReturnType<typeof processStore>>;

  const call = (node: ServiceProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    callService(node.base, method, path, body, headers);

  /** Polls node 2 until it refuses the token; returns how long that took after `since`. */
  const refusedWithin = async (secret: string, since: number): Promise<number> => {
    for (;;) {
      const response = await call(node2, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${secret}` });
      if (response.status === 401) return Date.now() - since;
      if (Date.now() - since > 5000) throw new Error('node 2 still accepts the token after 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  const mint = async (name: string) => {
    const created = await call(node1, 'POST', '/v1/tokens', { name, scopes: ['domains:read'] }, session);
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    expect((await call(node2, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${secret}` })).status).toBe(200);
    // Used twice on node 2: the second answer comes from its cache.
    expect((await call(node2, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${secret}` })).status).toBe(200);
    return { id: created.body.token.id as string, secret };
  };

  beforeAll(async () => {
    store = await processStore(dir);
    const env = { ...store.env, LATCHKEY_ADMIN_TOKEN: OPERATOR, LATCHKEY_DEMO_ACCOUNT: 'false' };
    node1 = await startService(dir, env);
    node2 = await startService(dir, env);
    session = await signUpOwner(node1.base, OPERATOR, PASSWORD);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([node1?.stop(), node2?.stop()]);
    await store?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a token created on node 1 works on node 2, and a revocation on node 1 reaches node 2 within 1 s', async () => {
    const { id, secret } = await mint('cross-node');
    const revokedAt = Date.now();
    expect((await call(node1, 'POST', `/v1/tokens/${id}/revoke`, {}, session)).status).toBe(200);
    expect(await refusedWithin(secret, revokedAt)).toBeLessThan(1000);
  });

  it('pause and plan changes reach node 2 too', async () => {
    const { id, secret } = await mint('paused elsewhere');
    const pausedAt = Date.now();
    expect((await call(node1, 'POST', `/v1/tokens/${id}/pause`, {}, session)).status).toBe(200);
    expect(await refusedWithin(secret, pausedAt)).toBeLessThan(1000);
  });

  it('still within 1 s after node 2’s listening connection is killed', async () => {
    const { id, secret } = await mint('after reconnect');
    const killed = await admin('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`latchkey-listener-${node2.child.pid}`]);
    expect(killed.rowCount).toBe(1);
    const revokedAt = Date.now();
    expect((await call(node1, 'POST', `/v1/tokens/${id}/revoke`, {}, session)).status).toBe(200);
    expect(await refusedWithin(secret, revokedAt)).toBeLessThan(1000);

    // Once reconnected, node 2 hears notifications again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const listening = await admin('select count(*)::int as n from pg_stat_activity where application_name = $1', [`latchkey-listener-${node2.child.pid}`]);
    expect(listening.rows[0].n).toBe(1);
    const next = await mint('after reconnect, again');
    const again = Date.now();
    expect((await call(node1, 'POST', `/v1/tokens/${next.id}/revoke`, {}, session)).status).toBe(200);
    expect(await refusedWithin(next.secret, again)).toBeLessThan(1000);
  });
});
