/** What the store makes of the errors its databases raise: real errors from each, not imitations. */
import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { conflictOf } from '../../src/store/transactions.js';
import { adminQuery, TEST_POSTGRES_URL } from '../helpers/postgres.js';

const violation = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('no violation raised');
};

describe('a unique violation', () => {
  it('from SQLite is a conflict naming the field, never quoting the value', () => {
    const db = new SqliteDatabase(':memory:');
    db.exec('create table mailboxes (domain_id text, address text, unique (domain_id, address))');
    db.prepare("insert into mailboxes values ('dom_1', 'secret-looking@example.com')").run();
    const error = violation(() => db.prepare("insert into mailboxes values ('dom_1', 'secret-looking@example.com')").run());
    const conflict = conflictOf(error);
    expect(conflict).toMatchObject({ code: 'conflict', details: { field: 'local_part' } });
    expect(JSON.stringify(conflict)).not.toContain('secret-looking');
    expect(conflictOf(new Error('something else'))).toBeNull();
  });

  it.skipIf(TEST_POSTGRES_URL === null)('from PostgreSQL is a conflict naming the field, never quoting the value', async () => {
    const schema = `lk_unique_${process.pid}`;
    await adminQuery(`create schema ${schema}`);
    try {
      await adminQuery(`create table ${schema}.users (email text unique)`);
      await adminQuery(`insert into ${schema}.users values ('someone@example.com')`);
      const error = await adminQuery(`insert into ${schema}.users values ('someone@example.com')`).then(() => null, (e: unknown) => e);
      const conflict = conflictOf(error);
      expect(conflict).toMatchObject({ code: 'conflict', details: { field: 'email' } });
      expect(JSON.stringify(conflict)).not.toContain('someone@');
    } finally {
      await adminQuery(`drop schema ${schema} cascade`);
    }
  });
});
