import { sql, type Kysely, type Migration } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * The resource a token was issued for (RFC 8707): an OAuth access token is valid at the MCP
 * endpoint it names and nowhere else; null, the tokens people make, for the whole platform API.
 * On SQLite the column and its backfill are one transaction, so that a start stopped halfway
 * finds neither.
 */
export function tokenAudience(dialect: Dialect): Migration {
  const work = async (db: Kysely<any>) => {
    await db.schema.alterTable('tokens').addColumn('audience', 'text').execute();
    // Access tokens issued before the column existed are bound to their grant's resource.
    await sql`update tokens set audience = (select g.resource from oauth_access_tokens a join oauth_grants g on g.id = a.grant_id where a.token_id = tokens.id)
      where id in (select token_id from oauth_access_tokens)`.execute(db);
  };
  return {
    up: async (db: Kysely<any>) => {
      await (dialect === 'sqlite' ? db.transaction().execute(work) : work(db));
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('tokens').dropColumn('audience').execute();
    },
  };
}
