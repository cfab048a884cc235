import type { Kysely, Migration } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * The authorization server's state: clients that registered themselves, grants (what a person
 * allowed one client), the codes and refresh tokens issued from them (by hash only), and which
 * access tokens (ordinary token rows) each grant issued. Instants are integer milliseconds, as on
 * tokens. On SQLite the tables are made in one transaction, so a start stopped halfway finds none.
 */
export function oauth(dialect: Dialect): Migration {
  const work = async (db: Kysely<any>) => {
    await db.schema
      .createTable('oauth_clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('client_uri', 'text')
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_ip', 'text', (c) => c.notNull())
      .addColumn('first_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('oauth_clients_unused').on('oauth_clients').columns(['first_used_at', 'created_at']).execute();

    await db.schema
      .createTable('oauth_grants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('user_email', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('client_name', 'text', (c) => c.notNull())
      .addColumn('client_verified', 'integer', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('domains', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoke_reason', 'text')
      .execute();
    await db.schema.createIndex('oauth_grants_account').on('oauth_grants').columns(['account_id', 'id']).execute();

    await db.schema
      .createTable('oauth_codes')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull())
      .addColumn('code_challenge', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('oauth_codes_grant').on('oauth_codes').column('grant_id').execute();

    await db.schema
      .createTable('oauth_refresh_tokens')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('oauth_refresh_grant').on('oauth_refresh_tokens').column('grant_id').execute();

    await db.schema
      .createTable('oauth_access_tokens')
      .addColumn('token_id', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oauth_access_grant').on('oauth_access_tokens').column('grant_id').execute();
  };
  return {
    up: async (db: Kysely<any>) => {
      await (dialect === 'sqlite' ? db.transaction().execute(work) : work(db));
    },
    async down(db: Kysely<any>): Promise<void> {
      for (const table of ['oauth_access_tokens', 'oauth_refresh_tokens', 'oauth_codes', 'oauth_grants', 'oauth_clients']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
