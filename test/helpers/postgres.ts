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
