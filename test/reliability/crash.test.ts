/**
 * Crash safety, on a real process and the store under test (SQLite here, PostgreSQL in its pass):
 * load runs (tokens being created, a token being used), the server is killed mid-load, restarted
 * on the same store, and what it had said it did must be there, whole.
 *
 * - SIGKILL: every token whose creation was answered 201 exists and works; no token exists
 *   without its audit event; the audit chain verifies; access-log entries lost are at most those
 *   of the last unflushed batch, one LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS of answered requests.
 * - SIGTERM: nothing is lost at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../helpers/actors.js';
import { call, processStore, signUpOwner, startService, type ServiceProcess } from '../helpers/process.js';

const OPERATOR = 'crash-operator-token-0123456789abcdefghijklmn';
const FLUSH_MS = 250;
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Load {
  created: { id: string; secret: string }[];
  /** When each use of the load token was answered 200. */
  usedAt: number[];
  stop: () => Promise<void>;
}

/** Six clients creating tokens and six using one, until stopped or the server goes away. */
function runLoad(base: string, session: Record<string, string>, secret: string): Load {
  const load: Load = { created: [], usedAt: [], stop: async () => undefined };
  let running = true;
  const creator = async (n: number) => {
    for (let i = 0; running; i += 1) {
      const response = await call(base, 'POST', '/v1/tokens', { name: `load ${n}-${i}`, scopes: ['domains:read'] }, session).catch(() => null);
      if (response === null) return;
      if (response.status === 201) load.created.push({ id: response.body.token.id, secret: response.body.secret });
    }
  };
  const user = async () => {
    while (running) {
      const response = await call(base, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${secret}` }).catch(() => null);
      if (response === null) return;
      if (response.status === 200) load.usedAt.push(Date.now());
    }
  };
  const clients = [...Array.from({ length: 6 }, (_, n) => creator(n)), ...Array.from({ length: 6 }, user)];
  load.stop = async () => {
    running = false;
    await Promise.all(clients);
  };
  return load;
}

async function setUp(label: string) {
  const dir = mkdtempSync(join(tmpdir(), `latchkey-${label}-`));
  dirs.push(dir);
  const store = await processStore(dir);
  const env = { ...store.env, LATCHKEY_ADMIN_TOKEN: OPERATOR, LATCHKEY_DEMO_ACCOUNT: 'false', LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS: String(FLUSH_MS) };
  const server = await startService(dir, env);
  const session = await signUpOwner(server.base, OPERATOR, PASSWORD);
  const user = await call(server.base, 'POST', '/v1/tokens', { name: 'load user', scopes: ['domains:read'] }, session);
  return { dir, env, store, server, session, user: { id: user.body.token.id as string, secret: user.body.secret as string } };
}

/** What the restarted server holds: tokens, audit events by target, access-log rows of the load token. */
async function inventory(server: ServiceProcess, session: Record<string, string>, loadTokenId: string) {
  const all = async <T>(path: string): Promise<T[]> => {
    const items: T[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await call(server.base, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=100${cursor ? `&cursor=${cursor}` : ''}`, undefined, session);
      items.push(...page.body.data);
      cursor = page.body.next_cursor;
      if (!cursor) return items;
    }
  };
  const tokens = await all<{ id: string; name: string }>('/v1/tokens');
  const created = await all<{ target: { id: string } }>('/v1/audit-log?action=token.created');
  const accessLog = await fetch(`${server.base}/v1/access-logs?format=csv&limit=10000&token_id=${loadTokenId}`, { headers: session });
  const chain = await call(server.base, 'GET', '/v1/audit-log/verify', undefined, session);
  return {
    tokens,
    auditedIds: new Set(created.map((event) => event.target.id)),
    accessLogRows: (await accessLog.text()).trim().split('\n').length - 1,
    chain: chain.body,
  };
}

/** Neither the real process's output (its logs) nor its store holds a secret or the password. */
async function expectNoSecrets(servers: ServiceProcess[], store: { dump: () => Promise<string> }, created: { secret: string }[]): Promise<void> {
  const output = servers.map((server) => server.output()).join('\n');
  const stored = await store.dump();
  for (const secret of [PASSWORD, OPERATOR, ...created.map((token) => token.secret)]) {
    expect(output.includes(secret), 'a secret reached the logs').toBe(false);
    expect(stored.includes(secret), 'a secret reached the store').toBe(false);
  }
}

async function expectTokensWhole(server: ServiceProcess, created: { id: string; secret: string }[], held: Awaited<ReturnType<typeof inventory>>) {
  const ids = new Set(held.tokens.map((t) => t.id));
  for (const token of created) expect(ids.has(token.id), `token ${token.id} was answered 201 but is gone`).toBe(true);
  for (const token of held.tokens) expect(held.auditedIds.has(token.id), `token ${token.id} exists without its audit event`).toBe(true);
  expect(held.chain.valid).toBe(true);
  // Every answered token still verifies (a sample keeps the test short).
  for (const token of created.filter((_, i) => i % 10 === 0)) {
    const answer = await call(server.base, 'POST', '/v1/verify', { token: token.secret }, { authorization: `Bearer ${OPERATOR}` });
    expect(answer.body.valid, token.id).toBe(true);
  }
}

/**
 * Runs the load against a new server for 1.5 s, stops the server with `stop` while the load goes
 * on, restarts it on the same store, and checks what must hold however it stopped: every answered
 * token whole, the audit chain valid, no secret in the output or the store. Returns the rest for
 * the caller's own checks.
 */
async function stopMidLoad(label: string, stop: (server: ServiceProcess) => Promise<void>) {
  const { dir, env, store, server, session, user } = await setUp(label);
  const load = runLoad(server.base, session, user.secret);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const stoppedAt = Date.now();
  const stopped = stop(server);
  await load.stop();
  await stopped;
  expect(load.created.length).toBeGreaterThan(10);
  expect(load.usedAt.length).toBeGreaterThan(100);

  const restarted = await startService(dir, env);
  try {
    const held = await inventory(restarted, session, user.id);
    await expectTokensWhole(restarted, load.created, held);
    await expectNoSecrets([server, restarted], store, load.created);
    return { load, held, stoppedAt };
  } finally {
    await restarted.stop();
    await store.drop();
  }
}

describe('crash safety', () => {
  it('loses no answered write and at most one flush interval of access log to SIGKILL mid-load', async () => {
    const { load, held, stoppedAt } = await stopMidLoad('sigkill', async (server) => void server.child.kill('SIGKILL'));
    const lost = load.usedAt.length - held.accessLogRows;
    const lastInterval = load.usedAt.filter((at) => at > stoppedAt - 2 * FLUSH_MS).length;
    expect(lost, `lost ${lost} entries; ${lastInterval} answered in the last two flush intervals`).toBeLessThanOrEqual(lastInterval);
    console.info(`SIGKILL: ${load.created.length} tokens answered, all present; ${load.usedAt.length} uses answered, ${held.accessLogRows} logged, ${Math.max(0, lost)} lost (bound ${lastInterval})`);
  }, 60_000);

  it('loses nothing to SIGTERM mid-load', async () => {
    const { load, held } = await stopMidLoad('sigterm', async (server) => {
      // Clients still hold keep-alive connections: shutdown must not wait for them to let go.
      const exited = await Promise.race([server.stop(), new Promise((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))]);
      expect(exited).toBe(0);
    });
    expect(held.accessLogRows).toBeGreaterThanOrEqual(load.usedAt.length);
    console.info(`SIGTERM: ${load.created.length} tokens answered, all present; ${load.usedAt.length} uses answered, ${held.accessLogRows} logged`);
  }, 60_000);
});
