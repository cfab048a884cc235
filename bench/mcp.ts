/**
 * An agent's tool call against the REST request it stands for, with the same token, on one
 * server and in one run: `tools/call list_domains` on `/mcp` (stateless, the 2025-06-18 revision,
 * no handshake needed) and `GET /v1/domains`. Both go through the token gate, the same platform
 * service and the access log; the difference is what the MCP layer costs (JSON-RPC, the SDK's
 * transport, argument validation, a structured and a text result). Rounds interleaved, in reverse
 * every other round, as in the HTTP section.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService } from '../test/helpers/process.js';
import { call, expectOk, load, ownerSession, pinToFirstCore, type LoadOptions } from './lib/client.js';
import { log, median, report } from './lib/measure.js';

const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const OPERATOR = `bench-operator-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
const ROUTES = ['rest', 'tool'] as const;
type Route = (typeof ROUTES)[number];

const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-mcp-'));
const server = await startService(dir, {
  LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`,
  LATCHKEY_ADMIN_TOKEN: OPERATOR,
  LATCHKEY_DEMO_ACCOUNT: 'false',
  // Generous: the benchmark measures cost, not the limit.
  LATCHKEY_ACCESS_LOG_MAX_QUEUE: '1000000',
});
pinToFirstCore(server.child.pid!);
try {
  const session = await ownerSession(server.base, OPERATOR);
  expectOk(await call(server.base, 'POST', '/v1/domains', { name: 'bench.example.com' }, session), 'create domain');
  const created = expectOk(await call(server.base, 'POST', '/v1/tokens', { name: 'agent', type: 'mcp', scopes: ['mcp:read'] }, session), 'create token');
  const auth = { authorization: `Bearer ${created.secret as string}` };
  const toolCall = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_domains', arguments: { limit: 20 } } });
  const runs: Record<Route, LoadOptions> = {
    rest: { url: `${server.base}/v1/domains?limit=20`, seconds: SECONDS, headers: auth },
    tool: {
      url: `${server.base}/mcp`, seconds: SECONDS, method: 'POST', body: toolCall,
      headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
    },
  };
  const probe = await fetch(runs.tool.url, { method: 'POST', headers: runs.tool.headers, body: toolCall });
  const answer = (await probe.json()) as { result?: { isError?: boolean; structuredContent?: { domains?: unknown[] } } };
  if (!probe.ok || answer.result?.isError || answer.result?.structuredContent?.domains?.length !== 1) {
    throw new Error(`the benchmark's tool call does not answer as it should: ${probe.status} ${JSON.stringify(answer)}`);
  }

  log('warming up');
  for (const options of Object.values(runs)) await load({ ...options, seconds: 2 });
  const rates: Record<Route, number[]> = { rest: [], tool: [] };
  let failures = 0;
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const name of round % 2 === 1 ? ROUTES : [...ROUTES].reverse()) {
      const result = await load(runs[name]);
      await sleep(500);
      failures += result.non2xx + result.errors;
      rates[name].push(result.requestsPerSecond);
      log(`round ${round} ${name.padEnd(4)} ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms} ms`);
    }
  }
  if (failures > 0) throw new Error(`${failures} requests failed or were refused during the load`);
  const ratio = median(rates.tool.map((rate, i) => rate / rates.rest[i]!));
  report({ mcp_tool_vs_rest_ratio: Number(ratio.toFixed(3)) }, [
    `MCP medians of ${ROUNDS} × ${SECONDS} s rounds, 50 connections, one AI-agent token: GET /v1/domains ${Math.round(median(rates.rest)).toLocaleString('en')} req/s, ` +
      `tools/call list_domains ${Math.round(median(rates.tool)).toLocaleString('en')} req/s (${ratio.toFixed(2)} × the REST request)`,
  ]);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
