import type SqliteDatabase from 'better-sqlite3';

/** How long a SQLite connection waits for another's write lock before giving up. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * What every Latchkey connection to a SQLite file sets for itself: the request thread's, the
 * access-log writer's, the tests'. (WAL is a property of the file, set once when it is opened.)
 */
export function setUpSqliteConnection(sqlite: SqliteDatabase.Database): void {
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // SQLite's own lower() folds ASCII only; this one folds as the search's own query is folded, in
  // every script, as PostgreSQL's does under a UTF-8 locale. No index is built on it.
  sqlite.function('lower', { deterministic: true }, (text: unknown) => (text === null ? null : String(text).toLowerCase()));
}
