/**
 * `npm run bench`: every section in a process of its own, then one table and `bench/results.json`.
 *
 *   npm run bench                 # all sections, writes bench/results.json
 *   npm run bench -- http peer    # some sections, prints only
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReport } from './lib/measure.js';

const SECTIONS = {
  verify: ['--expose-gc', '--max-old-space-size=4096'],
  peer: [],
  http: [],
  propagation: [],
  mcp: [],
} as const satisfies Record<string, readonly string[]>;
type Section = keyof typeof SECTIONS;

type Results = Record<string, number | null>;
interface Target {
  key: string;
  what: string;
  /** null: reported only. */
  holds: ((value: number, all: Results) => boolean) | null;
  target: string;
}

const TARGETS: Target[] = [
  { key: 'sha256_ops_per_s', what: 'SHA-256 of a token, the baseline', holds: null, target: '—' },
  { key: 'verify_cached_ops_per_s_1k', what: 'cached verify, 1,000 tokens stored', holds: (v, r) => v >= 0.5 * r.sha256_ops_per_s!, target: '≥ 0.5 × SHA-256' },
  { key: 'verify_cached_ops_per_s_1m', what: 'cached verify, 1,000,000 tokens stored', holds: (v, r) => v >= 0.5 * r.sha256_ops_per_s!, target: '≥ 0.5 × SHA-256' },
  { key: 'verify_cold_ops_per_s', what: 'cache miss to SQLite, 1,000,000 tokens', holds: (v) => v >= 40_000, target: '≥ 40,000' },
  { key: 'bytes_per_cached_token', what: 'memory (heap and typed arrays) per cached token at 1,000,000', holds: (v) => v <= 400, target: '≤ 400' },
  { key: 'http_auth_vs_bare_ratio', what: 'token-authenticated route ÷ same route open', holds: (v) => v >= 0.9, target: '≥ 0.90' },
  { key: 'http_verify_vs_bare_ratio', what: 'POST /v1/verify ÷ open POST route', holds: (v) => v >= 0.8, target: '≥ 0.80' },
  { key: 'peer_better_auth_ratio', what: 'in-process verify ÷ better-auth verifyApiKey', holds: (v) => v >= 100, target: '≥ 100' },
  { key: 'access_log_dropped', what: 'access-log entries dropped under HTTP load', holds: (v) => v === 0, target: '0' },
  { key: 'mcp_tool_vs_rest_ratio', what: 'MCP tools/call list_domains ÷ GET /v1/domains, same token', holds: null, target: 'reported' },
  { key: 'revocation_propagation_p99_ms', what: 'revoke on node 1 → refused on node 2, p99 ms', holds: (v) => v <= 100, target: '≤ 100' },
];

function runSection(section: Section): Promise<{ results: Results; notes: string[] }> {
  process.stderr.write(`\n[${section}]\n`);
  const child = spawn(process.execPath, [...SECTIONS[section], '--import', 'tsx', join('bench', `${section}.ts`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(parseReport(output)) : reject(new Error(`bench/${section}.ts exited with ${code}\n${output}`))));
  });
}

const format = (value: number | null | undefined): string =>
  value === null || value === undefined ? 'skipped' : Number.isInteger(value) ? value.toLocaleString('en') : String(value);

const asked = process.argv.slice(2) as Section[];
for (const section of asked) if (!(section in SECTIONS)) throw new Error(`unknown section '${section}'; sections: ${Object.keys(SECTIONS).join(', ')}`);
const sections = asked.length ? asked : (Object.keys(SECTIONS) as Section[]);
const results: Results = {};
const notes: string[] = [];
for (const section of sections) {
  const report = await runSection(section);
  Object.assign(results, report.results);
  notes.push(...report.notes);
}

const lines = ['| key | what | result | target | met |', '|---|---|---:|---|---|'];
for (const { key, what, holds, target } of TARGETS) {
  if (!(key in results)) continue;
  const value = results[key];
  const met = holds === null ? '' : value === null || value === undefined ? 'skipped' : holds(value, results) ? 'yes' : '**no**';
  lines.push(`| \`${key}\` | ${what} | ${format(value)} | ${target} | ${met} |`);
}
process.stdout.write(`\n${lines.join('\n')}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
if (!asked.length) {
  writeFileSync(join('bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('\nwritten to bench/results.json\n');
}
