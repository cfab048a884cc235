import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Kysely, SqliteDialect } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type Latchkey } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import { ensureOperatorToken } from '../../src/services/bootstrap.js';
import type { Database } from '../../src/store/schema.js';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(private ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Harness extends Latchkey {
  dir: string;
  dbPath: string;
  clock: TestClock;
  operatorToken: string;
  /** Every SQL statement the app ran, in order. */
  queries: string[];
  logs: string[];
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
}

const OPERATOR_TOKEN = 'test-operator-token-0123456789abcdefghijklmnop';

/** A real app on a real SQLite file in a fresh directory, with a hand-moved clock. */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
  const dbPath = join(dir, 'latchkey.db');
  const config: Config = loadConfig({
    LATCHKEY_DATABASE_URL: `sqlite:${dbPath}`,
    LATCHKEY_ADMIN_TOKEN: OPERATOR_TOKEN,
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_ARGON2_MEMORY_KIB: '1024',
    LATCHKEY_ARGON2_PASSES: '1',
    LATCHKEY_USAGE_FLUSH_INTERVAL_MS: '600000',
    ...env,
  });
  const queries: string[] = [];
  const sqlite = new SqliteDatabase(dbPath);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    log: (event) => {
      if (event.level === 'query') queries.push(event.query.sql);
    },
  });
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const clock = new TestClock();
  const operator = await (async () => {
    const { migrate } = await import('../../src/store/database.js');
    await migrate(db);
    return ensureOperatorToken(db, OPERATOR_TOKEN, config.tokenPrefix);
  })();
  const latchkey = await buildApp({ config, clock, db, operatorTokenHash: operator.hash, logStream });
  return {
    ...latchkey,
    dir,
    dbPath,
    clock,
    operatorToken: OPERATOR_TOKEN,
    queries,
    logs,
    request: (options) => latchkey.app.inject(options),
    async close() {
      await latchkey.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
