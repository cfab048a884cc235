import { sql, type Kysely, type Migration } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * A folder and a read mark for every message: what an agent sorts mail by. Messages already
 * stored keep where they were: a received one is in the inbox, unread; a sent one in sent, read.
 * On SQLite the columns, the backfill and the index are one transaction, so that a start
 * stopped halfway finds none of it.
 */
export function messageFolders(dialect: Dialect): Migration {
  const work = async (db: Kysely<any>) => {
    await db.schema.alterTable('messages').addColumn('folder', 'text', (c) => c.notNull().defaultTo('inbox')).execute();
    await db.schema.alterTable('messages').addColumn('read_at', 'text').execute();
    await db.updateTable('messages').set({ folder: 'sent', read_at: sql`created_at` }).where('direction', '=', 'outbound').execute();
    await db.schema.createIndex('messages_folder').on('messages').columns(['mailbox_id', 'folder', 'id']).execute();
  };
  return {
    up: async (db: Kysely<any>) => {
      await (dialect === 'sqlite' ? db.transaction().execute(work) : work(db));
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('messages_folder').execute();
      await db.schema.alterTable('messages').dropColumn('read_at').execute();
      await db.schema.alterTable('messages').dropColumn('folder').execute();
    },
  };
}
