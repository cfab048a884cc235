/**
 * Two real processes on one PostgreSQL schema take a mix of token changes at once (create, use,
 * rotate, pause, narrow, revoke, each on either node), first steadily, then while one of them is
 * killed. Whatever either node answered 2xx must be in the final state; neither may answer 5xx;
 * a revoked secret is refused by both; the audit chain verifies; no secret reaches their output
 * or the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../helpers/actors.js';
import { DIALECT } from '../helpers/harness.js';
import { call, processStore, signUpOwner, startService, type ServiceProcess } from '../helpers/process.js';

const OPERATOR = 'two-nodes-operator-token-0123456789abcdefghij';
const SECONDS = Number(process.env.LATCHKEY_TWO_NODE_SOAK_SECONDS ?? 30);
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

if (DIALECT !== 'postgres') console.warn('two-node reliability tests skipped: they need PostgreSQL (the PostgreSQL pass of npm test runs them)');

type Change = 'rotate' | 'pause' | 'narrow' | 'revoke';

/** What the clients were told happened. */
interface Told {
  created: Map<string, string>;
  /** Token id → the changes answered 2xx on it (a rotation names the successor). */
  changes: Map<string, { change: Change; successor?: { id: string; secret: string } }[]>;
  serverErrors: string[];
  requests: number;
}

/** Clients on both nodes: each makes a token, uses it, and has it changed by both nodes at once. */
function runMix(nodes: ServiceProcess[], session: Record<string, string>, told: Told, clients: number) {
  let running = true;
  const send = async (node: ServiceProcess, method: string, path: string, body?: unknown, headers = session) => {
    const response = await call(node.base, method, path, body, headers).catch(() => null);
    told.requests += 1;
    if (response && response.status >= 500) told.serverErrors.push(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  };
  const client = async (n: number) => {
    for (let i = 0; running; i += 1) {
      const home = nodes[(n + i) % nodes.length]!;
      const made = await send(home, 'POST', '/v1/tokens', { name: `mix ${n}-${i}`, scopes: ['domains:read'], ip_allowlist: ['127.0.0.0/8'] });
      if (made?.status !== 201) continue;
      const { id } = made.body.token;
      told.created.set(id, made.body.secret);
      await send(nodes[(n + i + 1) % nodes.length]!, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${made.body.secret}` });
      // Two changes at once, one from each node.
      const pick = (k: number): Change => (['rotate', 'pause', 'narrow', 'revoke'] as const)[(n * 7 + i * 3 + k) % 4]!;
      const changes = [pick(0), pick(1)];
      const answers = await Promise.all(changes.map((change, k) => {
        const node = nodes[k % nodes.length]!;
        if (change === 'narrow') return send(node, 'PATCH', `/v1/tokens/${id}`, { ip_allowlist: ['127.0.0.1'] });
        return send(node, 'POST', `/v1/tokens/${id}/${change}`, change === 'rotate' ? { grace_period: '1h' } : {});
      }));
      const done = changes.flatMap((change, k) => {
        const answer = answers[k];
        if (answer?.status !== 200) return [];
        return [change === 'rotate' ? { change, successor: { id: answer.body.token.id as string, secret: answer.body.secret as string } } : { change }];
      });
      told.changes.set(id, done);
    }
  };
  const running$ = Array.from({ length: clients }, (_, n) => client(n));
  return async () => {
    running = false;
    await Promise.all(running$);
  };
}

/** Everything the clients were told, checked against the store through a node that stayed up. */
async function expectAllTold(node: ServiceProcess, session: Record<string, string>, told: Told) {
  expect(told.serverErrors).toEqual([]);
  const view = async (id: string) => (await call(node.base, 'GET', `/v1/tokens/${id}`, undefined, session)).body.token;
  const valid = async (secret: string) => (await call(node.base, 'POST', '/v1/verify', { token: secret }, { authorization: `Bearer ${OPERATOR}` })).body.valid as boolean;
  let checked = 0;
  for (const [id, secret] of told.created) {
    const token = await view(id);
    expect(token.id, `token ${id} was answered 201 but is gone`).toBe(id);
    const done = told.changes.get(id) ?? [];
    const successor = done.find((d) => d.successor)?.successor;
    const current = successor ? await view(successor.id) : token;
    const has = (change: Change) => done.some((d) => d.change === change);
    if (has('revoke')) expect(await valid(secret), `${id} was revoked but its secret works`).toBe(false);
    if (has('revoke') && !successor) expect(current.status).toBe('revoked');
    if (current.status !== 'revoked') {
      if (has('pause')) expect(current.status, `the pause of ${id} was lost`).toBe('paused');
      if (has('narrow')) expect(current.ip_allowlist, `the narrowing of ${id} was lost`).toEqual(['127.0.0.1']);
    }
    checked += done.length;
  }
  const chain = await call(node.base, 'GET', '/v1/audit-log/verify', undefined, session);
  expect(chain.body.valid).toBe(true);
  return checked;
}

async function expectNoSecrets(nodes: ServiceProcess[], store: { dump: () => Promise<string> }, told: Told) {
  const output = nodes.map((node) => node.output()).join('\n');
  const stored = await store.dump();
  const secrets = [PASSWORD, OPERATOR, ...told.created.values(), ...[...told.changes.values()].flat().flatMap((d) => (d.successor ? [d.successor.secret] : []))];
  for (const secret of secrets) {
    expect(output.includes(secret), 'a secret reached the logs').toBe(false);
    expect(stored.includes(secret), 'a secret reached the store').toBe(false);
  }
}

describe.skipIf(DIALECT !== 'postgres')('two nodes on one PostgreSQL, under a mix of changes', () => {
  const start = async (label: string) => {
    const dir = mkdtempSync(join(tmpdir(), `latchkey-${label}-`));
    dirs.push(dir);
    const store = await processStore(dir);
    const env = { ...store.env, LATCHKEY_ADMIN_TOKEN: OPERATOR, LATCHKEY_DEMO_ACCOUNT: 'false' };
    const nodes = [await startService(dir, env), await startService(dir, env)];
    const session = await signUpOwner(nodes[0]!.base, OPERATOR, PASSWORD);
    return { dir, env, store, nodes, session };
  };
  const told = (): Told => ({ created: new Map(), changes: new Map(), serverErrors: [], requests: 0 });

  it(`answers ${SECONDS} s of racing changes with no 5xx and loses none of them`, async () => {
    const { store, nodes, session } = await start('two-soak');
    const mix = told();
    try {
      const stop = runMix(nodes, session, mix, 8);
      await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
      await stop();
      const checked = await expectAllTold(nodes[1]!, session, mix);
      await expectNoSecrets(nodes, store, mix);
      console.info(`two-node soak: ${mix.requests} requests in ${SECONDS} s, ${mix.created.size} tokens, ${checked} answered changes all in the final state`);
      expect(checked).toBeGreaterThan(50);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      await store.drop();
    }
  }, SECONDS * 1000 + 120_000);

  it('loses none of what either node answered when one is killed mid-mix', async () => {
    const { dir, env, store, nodes, session } = await start('two-kill');
    const mix = told();
    let restarted: ServiceProcess | undefined;
    try {
      const stop = runMix(nodes, session, mix, 8);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      nodes[0]!.child.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await stop();
      restarted = await startService(dir, env);
      const checked = await expectAllTold(restarted, session, mix);
      await expectNoSecrets([...nodes, restarted], store, mix);
      console.info(`two-node SIGKILL: ${mix.created.size} tokens, ${checked} answered changes all in the final state`);
      expect(checked).toBeGreaterThan(10);
    } finally {
      await Promise.all([nodes[1]!.stop(), restarted?.stop()]);
      await store.drop();
    }
  }, 120_000);
});
