/**
 * Two real nodes on one PostgreSQL schema: a token is used on node 2 (so node 2 has it cached),
 * revoked on node 1, and node 2 is asked through `/v1/verify` until it refuses. The time from
 * sending the revoke to the first refusal, over 200 trials. Skipped with a note when no
 * PostgreSQL is reachable at LATCHKEY_TEST_DATABASE_URL (default: the local test database).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startService, type ServiceProcess } from '../test/helpers/process.js';
import { call, expectOk, ownerSession } from './lib/client.js';
import { log, report } from './lib/measure.js';

const TRIALS = Number(process.env.BENCH_PROPAGATION_TRIALS ?? 200);
const URL = process.env.LATCHKEY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const OPERATOR = `bench-operator-${Math.random().toString(36).slice(2)}-0123456789abcdef`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const schema = `lk_bench_${process.pid}`;
try {
  await admin(`create schema "${schema}"`);
} catch (error) {
  log(`no PostgreSQL at ${URL}: ${(error as Error).message}`);
  report({ revocation_propagation_p99_ms: null }, [`revocation propagation skipped: no PostgreSQL reachable at ${URL}`]);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-nodes-'));
const nodes: ServiceProcess[] = [];
try {
  const url = `${URL}${URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const env = { LATCHKEY_DATABASE_URL: url, LATCHKEY_ADMIN_TOKEN: OPERATOR, LATCHKEY_AUDIT_KEY: `bench-audit-key-${OPERATOR}`, LATCHKEY_DEMO_ACCOUNT: 'false' };
  nodes.push(await startService(dir, env));
  nodes.push(await startService(dir, env));
  const [node1, node2] = nodes as [ServiceProcess, ServiceProcess];
  const session = await ownerSession(node1.base, OPERATOR);
  const asOperator = { authorization: `Bearer ${OPERATOR}` };
  const ask = async (secret: string) => (await call(node2.base, 'POST', '/v1/verify', { token: secret, scope: 'domains:read' }, asOperator)).body.valid as boolean;

  const delays: number[] = [];
  for (let trial = 0; trial < TRIALS; trial += 1) {
    const created = expectOk(await call(node1.base, 'POST', '/v1/tokens', { name: `trial ${trial}`, scopes: ['domains:read'] }, session), 'create token');
    if (!(await ask(created.secret))) throw new Error('node 2 refused a fresh token');
    const sent = performance.now();
    const revoking = call(node1.base, 'POST', `/v1/tokens/${created.token.id}/revoke`, {}, session);
    let refusedAt: number | null = null;
    while (refusedAt === null) {
      if (!(await ask(created.secret))) refusedAt = performance.now();
      else if (performance.now() - sent > 5000) throw new Error(`node 2 still accepts a token 5 s after its revocation (trial ${trial})`);
    }
    expectOk(await revoking, 'revoke');
    delays.push(refusedAt - sent);
  }
  delays.sort((a, b) => a - b);
  const p = (q: number) => delays[Math.min(delays.length - 1, Math.ceil(q * delays.length) - 1)]!;
  log(`propagation over ${TRIALS} trials: p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${p(1).toFixed(1)} ms`);
  report({ revocation_propagation_p99_ms: Number(p(0.99).toFixed(1)) }, [
    `revocation propagation, ${TRIALS} trials on two nodes: p50 ${p(0.5).toFixed(1)} ms, max ${p(1).toFixed(1)} ms (from sending the revoke to node 2's first refusal)`,
  ]);
} finally {
  await Promise.all(nodes.map((node) => node.stop()));
  await admin(`drop schema "${schema}" cascade`);
  rmSync(dir, { recursive: true, force: true });
}
