import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type Driver, type Migration, type SqliteDialectConfig, type Transaction } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import * as initial from './migrations/001-initial.js';
import * as tokenRateLimit from './migrations/002-token-rate-limit.js';
import { tokenAuthority } from './migrations/003-token-authority.js';
import { tokenTrees } from './migrations/004-token-trees.js';
import { messageFolders } from './migrations/005-message-folders.js';
import { oauth } from './migrations/006-oauth.js';
import { tokenAudience } from './migrations/007-token-audience.js';
import { oauthLineage } from './migrations/008-oauth-lineage.js';
import { people } from './migrations/009-people.js';
import type { Database } from './schema.js';
import { setUpSqliteConnection } from './sqlite-connection.js';

export type Db = Kysely<Database>;
/** A transaction in progress: every query function takes either, and a write that must be atomic takes only this. */
export type Trx = Transaction<Database>;
export type DbOrTrx = Db | Trx;

export async function reachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/** Versioned migrations, in order. A new one is a new file and a new line here. */
const migrations = (dialect: Config['database']['dialect'], hooks: MigrationHooks): Record<string, Migration> => ({
  '001-initial': initial,
  '002-token-rate-limit': tokenRateLimit,
  // On both dialects a migration's work runs inside a transaction (see 003's `up`), so the hook
  // gets one; on SQLite, Kysely records it as applied just after that commits.
  '003-token-authority': tokenAuthority(dialect, hooks.afterTokenAuthority && ((db) => hooks.afterTokenAuthority!(db as Transaction<Database>))),
  '004-token-trees': tokenTrees(dialect, hooks.afterTokenTrees && ((db) => hooks.afterTokenTrees!(db as Transaction<Database>))),
  '005-message-folders': messageFolders(dialect),
  '006-oauth': oauth(dialect),
  '007-token-audience': tokenAudience(dialect),
  '008-oauth-lineage': oauthLineage(dialect),
  '009-people': people(dialect),
});

/**
 * What the application does inside a migration's transaction, once the store has that
 * migration's shape: work that needs more than the store has (such as the audit key).
 */
export interface MigrationHooks {
  afterTokenAuthority?: (trx: Transaction<Database>) => Promise<void>;
  afterTokenTrees?: (trx: Transaction<Database>) => Promise<void>;
}

/**
 * Token instants are bigint on PostgreSQL, which pg hands over as text by default; every integer
 * Latchkey stores (milliseconds, counts, sequence numbers) is far inside a double's exact range.
 */
pg.types.setTypeParser(pg.types.builtins.INT8, (text: string) => Number(text));

/** The better-sqlite3 connection behind a SQLite Kysely, for the one read that must not wait a tick. */
const sqliteHandles = new WeakMap<Db, SqliteDatabase.Database>();

/**
 * Transactions take the write lock when they begin. A deferred transaction that reads and then
 * writes fails with SQLITE_BUSY_SNAPSHOT if the access-log writer's connection committed in
 * between, and no busy timeout helps; an immediate one waits for the lock instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

/** A Kysely over a better-sqlite3 connection, which it sets up as every Latchkey connection is. */
export function sqliteKysely(sqlite: SqliteDatabase.Database): Db {
  setUpSqliteConnection(sqlite);
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
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
  return sqliteKysely(sqlite);
}

/**
 * The migrator for this store. On PostgreSQL its own tables are pinned to the current schema: its
 * existence check otherwise finds another schema's copy and skips creating its own.
 */
export async function migratorFor(db: Db, dialect: Config['database']['dialect'], hooks: MigrationHooks = {}): Promise<Migrator> {
  const schema =
    dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect, hooks) },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/** Applies pending migrations. */
export async function migrate(db: Db, dialect: Config['database']['dialect'], hooks: MigrationHooks = {}): Promise<void> {
  const { error } = await (await migratorFor(db, dialect, hooks)).migrateToLatest();
  if (error) throw error;
}
