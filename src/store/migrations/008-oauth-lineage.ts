import type { Kysely, Migration } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * Which refresh token each refresh token replaced, so that the successors of one token can be
 * told apart from a fork: of the successors a grace period hands out, the first used is the
 * line that lives, and using another is a replay. Tokens issued before have none and are each
 * the start of a line. And grants by client: whether anyone has allowed a client yet decides
 * whether the authorization endpoint may send its errors back to it. On SQLite all of it is one
 * transaction.
 */
export function oauthLineage(dialect: Dialect): Migration {
  const work = async (db: Kysely<any>) => {
    await db.schema.alterTable('oauth_refresh_tokens').addColumn('parent_hash', 'text').execute();
    await db.schema.createIndex('oauth_refresh_parent').on('oauth_refresh_tokens').column('parent_hash').execute();
    await db.schema.createIndex('oauth_grants_client').on('oauth_grants').column('client_id').execute();
  };
  return {
    up: async (db: Kysely<any>) => {
      await (dialect === 'sqlite' ? db.transaction().execute(work) : work(db));
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('oauth_grants_client').execute();
      await db.schema.dropIndex('oauth_refresh_parent').execute();
      await db.schema.alterTable('oauth_refresh_tokens').dropColumn('parent_hash').execute();
    },
  };
}
