import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import * as initial from './migrations/001-initial.js';
import * as tokenRateLimit from './migrations/002-token-rate-limit.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/** Versioned migrations, in order. A new one is a new file and a new line here. */
const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
  '002-token-rate-limit': tokenRateLimit,
};

/** The better-sqlite3 connection behind a SQLite Kysely, for the one read that must not wait a tick. */
const sqliteHandles = new WeakMap<Db, SqliteDatabase.Database>();

export function sqliteKysely(sqlite: SqliteDatabase.Database): Db {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  sqliteHandles.set(db, sqlite);
  return db;
}

export const sqliteHandleOf = (db: Db): SqliteDatabase.Database | undefined => sqliteHandles.get(db);

export function openDatabase(config: Config['database']): Db {
  if (config.dialect === 'postgres') {
    return new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: config.url, max: config.poolSize }) }),
    });
  }
  if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
  const sqlite = new SqliteDatabase(config.path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return sqliteKysely(sqlite);
}

/**
 * Applies pending migrations. On PostgreSQL the migrator's own tables are pinned to the current
 * schema: its existence check otherwise finds another schema's copy and skips creating its own.
 */
export async function migrate(db: Db, dialect: Config['database']['dialect']): Promise<void> {
  const schema =
    dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
