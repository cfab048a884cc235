import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** Set (to a server) for the PostgreSQL pass of `npm test`; empty or unset for the SQLite pass. */
export const TEST_POSTGRES_URL = process.env.LATCHKEY_TEST_DATABASE_URL || null;

/** One statement on its own connection, outside any app: creating and dropping schemas, notices. */
export async function adminQuery(statement: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL! });
  await client.connect();
  try {
    return await client.query(statement, params);
  } finally {
    await client.end();
  }
}

/** The test server's URL with every connection's search_path set to `schema`. */
export const urlInSchema = (schema: string): string =>
  `${TEST_POSTGRES_URL}${TEST_POSTGRES_URL!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

/** Every row of every table in `schema`, as text: what the store holds, for the secret-hygiene search. */
export async function dumpSchema(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL!, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>('select table_name as name from information_schema.tables where table_schema = $1', [schema]);
    // One query at a time: a pg client queues concurrent queries, and pg 9 will refuse them.
    const texts: string[] = [];
    for (const { name } of tables.rows) texts.push((await client.query(`select t::text as row from "${name}" t`)).rows.map((r) => r.row).join('\n'));
    return texts.join('\n');
  } finally {
    await client.end();
  }
}

/** The same for SQLite: the database file and its journals, byte for byte. */
export const dumpSqliteFiles = (path: string): string =>
  ['', '-wal', '-journal'].map((suffix) => (existsSync(path + suffix) ? readFileSync(path + suffix).toString('latin1') : '')).join('\n');
