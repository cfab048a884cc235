/**
 * Cached verification against a SHA-256 baseline, in one process so that machine noise cancels:
 * the full decision (checksum, hash, cache lookup, status, expiry, plan, IP allowlist, scope) for
 * tokens already in the verify cache, with 1,000 and 1,000,000 tokens in a real SQLite store.
 *
 *   npm run bench:verify            # both sizes
 *   npm run bench:verify -- 1000    # one size
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { systemClock } from '../src/core/clock.js';
import { decide, type TokenGrant } from '../src/core/policy.js';
import { mintSecret } from '../src/core/token-format.js';
import { Verifier } from '../src/services/verifier.js';
import { migrate } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';

const SAMPLE = 1000;
const ROUNDS = 5;

function opsPerSecond(run: (i: number) => void, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i += 1) run(i);
  const results: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) run(i);
    results.push(iterations / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return results.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

async function measure(count: number) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const sqlite = new SqliteDatabase(join(dir, 'bench.db'));
  sqlite.pragma('journal_mode = WAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db, 'sqlite');
  const now = new Date().toISOString();
  sqlite.prepare("insert into accounts (id, name, plan, audit_seq, audit_head, created_at) values ('acc_bench', 'bench', 'pro', 0, '', ?)").run(now);
  const insert = sqlite.prepare(`insert into tokens (id, account_id, name, description, type, hash, visible_prefix, last4, scopes, domains,
    ip_allowlist, created_at, created_by_type, created_by_name) values (?, 'acc_bench', ?, '', 'api', ?, ?, ?, ?, ?, ?, ?, 'user', 'bench')`);
  const secrets: string[] = [];
  const load = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i += 1) {
      const minted = mintSecret('lk', 'live');
      secrets.push(minted.secret);
      insert.run(`tok_${i}`, `token ${i}`, minted.hash, minted.visiblePrefix, minted.last4,
        JSON.stringify(['domains:read', 'messages:full', 'submission:full']), JSON.stringify(['dom_a', 'dom_b']),
        JSON.stringify(['10.0.0.0/8', '2001:db8::/32']), now);
    }
  });
  for (let from = 0; from < count; from += 50_000) load(from, Math.min(count, from + 50_000));

  const verifier = new Verifier({ db, clock: systemClock, tokenPrefix: 'lk', maxTokens: count, maxAgeMs: 3_600_000, negativeMaxEntries: 1000, negativeTtlMs: 30_000 });
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i += 1) {
    const resolved = verifier.resolve(secrets[i]!);
    if (resolved instanceof Promise) await resolved;
  }
  const heapAfter = process.memoryUsage().heapUsed;
  const sample = Array.from({ length: SAMPLE }, (_, i) => secrets[Math.floor((i * count) / SAMPLE)]!);
  const ask = { scope: 'domains:read', ip: '10.1.2.3', now: Date.now() };

  const sha256 = opsPerSecond((i) => createHash('sha256').update(sample[i % SAMPLE]!).digest('base64url'), 500_000);
  let denied = 0;
  const verify = opsPerSecond((i) => {
    const grant = verifier.resolve(sample[i % SAMPLE]!) as TokenGrant;
    if (decide(grant, ask) !== null) denied += 1;
  }, 500_000);
  if (denied > 0) throw new Error(`benchmark tokens were denied ${denied} times`);

  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
  return { count, sha256, verify, ratio: verify / sha256, bytesPerToken: (heapAfter - heapBefore) / count };
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const rows = [];
for (const count of sizes.length ? sizes : [1_000, 1_000_000]) rows.push(await measure(count));
console.log('\n| tokens stored | sha256 ops/s | cached verify ops/s | verify ÷ sha256 | heap bytes per cached token |');
console.log('|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.count.toLocaleString('en')} | ${Math.round(r.sha256).toLocaleString('en')} | ${Math.round(r.verify).toLocaleString('en')} | ${r.ratio.toFixed(2)} | ${Math.round(r.bytesPerToken)} |`);
}
