import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { systemClock } from '../../src/core/clock.js';
import { decide, type TokenGrant } from '../../src/core/policy.js';
import { mintSecret } from '../../src/core/token-format.js';
import { Verifier } from '../../src/services/verifier.js';
import { migrate, sqliteKysely, type Db } from '../../src/store/database.js';
import { flat } from './measure.js';

export interface SeededStore {
  dir: string;
  db: Db;
  secrets: string[];
}

/**
 * A real Latchkey SQLite store (its own migrations, WAL) holding `count` active api tokens, each
 * with scopes, a domain constraint and an IP allowlist, so every decision checks all three.
 * Rows go in through one prepared statement per 50,000: seeding a million takes seconds.
 */
export async function seedTokenStore(count: number, dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'))): Promise<SeededStore> {
  const sqlite = new SqliteDatabase(join(dir, 'latchkey.db'));
  sqlite.pragma('journal_mode = WAL');
  const db = sqliteKysely(sqlite);
  await migrate(db, 'sqlite');
  const now = Date.now();
  sqlite.prepare("insert into accounts (id, name, plan, audit_seq, audit_head, created_at) values ('acc_bench', 'bench', 'pro', 0, '', ?)").run(new Date(now).toISOString());
  const insert = sqlite.prepare(`insert into tokens (id, account_id, name, description, type, hash, visible_prefix, last4, scopes, domains,
    ip_allowlist, created_at, created_by_type, created_by_name, lineage_id, ancestry)
    values (?, 'acc_bench', ?, '', 'api', ?, ?, ?, ?, ?, ?, ?, 'user', 'bench', ?, '')`);
  const secrets: string[] = [];
  const load = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i += 1) {
      const minted = mintSecret('lk', 'live');
      secrets.push(flat(minted.secret));
      const id = `tok_${String(i).padStart(8, '0')}`;
      insert.run(id, `token ${i}`, minted.hash, minted.visiblePrefix, minted.last4,
        JSON.stringify(['domains:read', 'messages:full', 'submission:full']), JSON.stringify(['dom_a', 'dom_b']),
        JSON.stringify(['10.0.0.0/8', '2001:db8::/32']), now, id);
    }
  });
  for (let from = 0; from < count; from += 50_000) load(from, Math.min(count, from + 50_000));
  return { dir, db, secrets };
}

/** A verify cache big enough for the whole store, with nothing expiring during a run. */
export const benchVerifier = (db: Db, size: number): Verifier =>
  new Verifier({ db, clock: systemClock, tokenPrefix: 'lk', maxTokens: size, maxAgeMs: 3_600_000, negativeMaxEntries: 1000, negativeTtlMs: 30_000 });

/**
 * One decision exactly as the auth hook makes it (scope, domain, an address inside the allowlist);
 * throws if a benchmark token is refused. The ask is a literal: spreading a shared object costs
 * more than the whole decision.
 */
export function decideCached(verifier: Verifier, secret: string): void {
  const grant = verifier.resolve(secret) as TokenGrant;
  if (decide(grant, { scope: 'domains:read', domainId: 'dom_a', ip: '10.1.2.3', now: Date.now(), audience: null }) !== null) {
    throw new Error('a benchmark token was refused');
  }
}
