import type { Kysely, Migration } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * People managed from inside the account: a one-time password (given to someone added, or reset
 * by the operator) is marked by when it was issued, and must be changed at the first sign-in; and
 * sessions by person, so that a removal, a password change or "sign out everywhere" ends them.
 */
export function people(dialect: Dialect): Migration {
  const work = async (db: Kysely<any>) => {
    await db.schema.alterTable('users').addColumn('temporary_password_at', 'text').execute();
    await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
  };
  return {
    up: async (db: Kysely<any>) => {
      await (dialect === 'sqlite' ? db.transaction().execute(work) : work(db));
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('sessions_user').execute();
      await db.schema.alterTable('users').dropColumn('temporary_password_at').execute();
    },
  };
}
