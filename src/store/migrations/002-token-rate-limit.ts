import type { Kysely } from 'kysely';

/** The optional per-token rate limit, as JSON `{"requests": n, "per": "1m"}`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tokens').addColumn('rate_limit', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tokens').dropColumn('rate_limit').execute();
}
