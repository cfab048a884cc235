import { sql, type Kysely } from 'kysely';

/**
 * The optional per-token rate limit, as JSON `{"requests": n, "per": "1m"}`. On SQLite Kysely
 * records the migration after the column is added, not with it: a start that stopped in between
 * finds the column on the next and does nothing. (On PostgreSQL both are in one transaction.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!db.getExecutor().adapter.supportsTransactionalDdl) {
    const done = await sql`select 1 from pragma_table_info('tokens') where name = 'rate_limit'`.execute(db);
    if (done.rows.length > 0) return;
  }
  await db.schema.alterTable('tokens').addColumn('rate_limit', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tokens').dropColumn('rate_limit').execute();
}
