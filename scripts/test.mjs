#!/usr/bin/env node
// `npm test`: the whole suite on SQLite, then again on PostgreSQL. Locally, without a reachable
// PostgreSQL, the second pass says plainly that it was skipped and why; under CI it must run.
import { spawnSync } from 'node:child_process';
import pg from 'pg';

const url = process.env.LATCHKEY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const extra = process.argv.slice(2);

function vitest(label, env) {
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...extra], { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

async function reachable() {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sqlite = vitest('SQLite pass', { LATCHKEY_TEST_DATABASE_URL: '' });
const why = await reachable();
let postgres = 0;
if (why === null) {
  postgres = vitest(`PostgreSQL pass (${url.replace(/:[^:@/]*@/, ':***@')})`, { LATCHKEY_TEST_DATABASE_URL: url });
} else if (process.env.CI) {
  console.error(`\nPostgreSQL pass FAILED to start: ${url} is not reachable (${why}).`);
  postgres = 1;
} else {
  console.log(`\nPostgreSQL pass skipped: ${url} is not reachable (${why}). Set LATCHKEY_TEST_DATABASE_URL to run it.`);
}
console.log(`\nSQLite pass: ${sqlite === 0 ? 'passed' : 'FAILED'}; PostgreSQL pass: ${why !== null && !process.env.CI ? 'skipped' : postgres === 0 ? 'passed' : 'FAILED'}`);
process.exit(sqlite || postgres);
