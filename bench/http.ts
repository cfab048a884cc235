/**
 * Real HTTP on loopback: the server in one process, autocannon in another, 50 connections.
 * Routes of the same server, interleaved round by round so that the ratios compare neighbours in
 * time, in reverse order every other round so that no route always runs first: a public route
 * doing nothing, the same route behind token auth (access logging on), and behind a naive
 * hash-and-Map hook (the reference); `POST /v1/verify`, and a public POST route that reads
 * the same body and does nothing with it. Each round also reads the server's CPU time per thread
 * from /proc. Then the access log's drop counter, read from /metrics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../test/helpers/process.js';
import { call, expectOk, load, ownerSession, pinToFirstCore, type LoadOptions } from './lib/client.js';
import { log, median, report } from './lib/measure.js';
import { CpuPerRequest, threadCpu } from './lib/thread-cpu.js';

const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
/** The server's access-log flush interval, set below, and a margin: a round's CPU is read once its log is written. */
const FLUSH_INTERVAL_MS = 1000;
const SETTLE_MS = FLUSH_INTERVAL_MS + 500;
const OPERATOR = `bench-operator-${Math.random().toString(36).slice(2)}-0123456789abcdef`;

const ROUTES = ['open', 'token', 'naive', 'openPost', 'verify'] as const;
type Route = (typeof ROUTES)[number];

/**
 * The server's CPU time per request: the main thread alone, and every thread of the process (the
 * access-log writer and V8's helpers, which with taskset share the server's core). Ratios are
 * open ÷ route, read like the throughput ratios.
 */
function cpuNote(cpu: Record<Route, CpuPerRequest>): string[] {
  const open = cpu.open.micros;
  if (Number.isNaN(open.total)) return [];
  const describe = (name: Route) => {
    const { main, total } = cpu[name].micros;
    return `${name} ${total.toFixed(1)} µs (main thread ${main.toFixed(1)}; open ÷ ${name}: main ${(open.main / main).toFixed(2)}, whole process ${(open.total / total).toFixed(2)})`;
  };
  return [`Server CPU per request, from /proc: open ${open.total.toFixed(1)} µs (main thread ${open.main.toFixed(1)}); ${describe('token')}; ${describe('naive')}`];
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-http-'));
const server = await startService(dir, {
  LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`,
  LATCHKEY_ADMIN_TOKEN: OPERATOR,
  LATCHKEY_DEMO_ACCOUNT: 'false',
  LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS),
}, join(process.cwd(), 'bench/http-server.ts'));

pinToFirstCore(server.child.pid!);
try {
  const session = await ownerSession(server.base, OPERATOR);
  const domain = expectOk(await call(server.base, 'POST', '/v1/domains', { name: 'bench.example.com' }, session), 'create domain');
  const created = expectOk(
    await call(server.base, 'POST', '/v1/tokens', { name: 'bench', scopes: ['domains:read'], domains: [domain.domain.id], ip_allowlist: ['127.0.0.0/8', '::1/128'] }, session),
    'create token',
  );
  const secret = created.secret as string;

  const verifyBody = JSON.stringify({ token: secret, scope: 'domains:read', ip: '127.0.0.1' });
  const runs: Record<Route, LoadOptions> = {
    open: { url: `${server.base}/bench/open`, seconds: SECONDS },
    openPost: { url: `${server.base}/bench/open`, seconds: SECONDS, method: 'POST', headers: { 'content-type': 'application/json' }, body: verifyBody },
    token: { url: `${server.base}/bench/token`, seconds: SECONDS, headers: { authorization: `Bearer ${secret}` } },
    naive: { url: `${server.base}/bench/naive`, seconds: SECONDS, headers: { authorization: `Bearer ${secret}` } },
    verify: {
      url: `${server.base}/v1/verify`, seconds: SECONDS, method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: verifyBody,
    },
  };
  const probe = await call(server.base, 'POST', '/v1/verify', JSON.parse(runs.verify.body!), { authorization: `Bearer ${OPERATOR}` });
  if (probe.body?.valid !== true) throw new Error(`the benchmark token does not verify: ${JSON.stringify(probe.body)}`);

  log('warming up');
  for (const options of Object.values(runs)) await load({ ...options, seconds: 2 });
  await sleep(SETTLE_MS);
  const rates: Record<Route, number[]> = { open: [], token: [], naive: [], openPost: [], verify: [] };
  const pid = server.child.pid!;
  const cpu = Object.fromEntries(ROUTES.map((name) => [name, new CpuPerRequest(pid)])) as Record<Route, CpuPerRequest>;
  let failures = 0;
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const name of round % 2 === 1 ? ROUTES : [...ROUTES].reverse()) {
      const before = threadCpu(pid);
      const result = await load(runs[name]);
      await sleep(SETTLE_MS);
      const after = threadCpu(pid);
      if (before && after) cpu[name].add(before, after, result.requests);
      failures += result.non2xx + result.errors;
      rates[name].push(result.requestsPerSecond);
      log(`round ${round} ${name.padEnd(8)} ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms} ms`);
    }
  }
  if (failures > 0) throw new Error(`${failures} requests failed or were refused during the load`);

  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  const dropped = Number(/^latchkey_access_log_dropped_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
  const perRound = (name: Route, bare: Route) => median(rates[name].map((rate, i) => rate / rates[bare][i]!));
  report(
    {
      http_auth_vs_bare_ratio: Number(perRound('token', 'open').toFixed(3)),
      http_verify_vs_bare_ratio: Number(perRound('verify', 'openPost').toFixed(3)),
      access_log_dropped: dropped,
    },
    [
      `HTTP medians of ${ROUNDS} × ${SECONDS} s rounds, 50 connections: open route ${Math.round(median(rates.open)).toLocaleString('en')} req/s, ` +
        `token-authenticated ${Math.round(median(rates.token)).toLocaleString('en')} req/s, ` +
        `behind the naive hash-and-Map hook ${Math.round(median(rates.naive)).toLocaleString('en')} req/s (${perRound('naive', 'open').toFixed(2)} × open); open POST route with the same body ${Math.round(median(rates.openPost)).toLocaleString('en')} req/s, ` +
        `POST /v1/verify ${Math.round(median(rates.verify)).toLocaleString('en')} req/s (${perRound('verify', 'open').toFixed(2)} × the open GET route)`,
      ...cpuNote(cpu),
    ],
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
