import { sql, type Kysely, type Migration } from 'kysely';

/**
 * What the authority rule needs stored: token instants as integer milliseconds (text compared
 * past year 9999 sorts wrong), each token's lineage and ancestry (so "is this a descendant" is a
 * read of one row, and a rotation moves nothing), message tokens carrying their mailbox's domain,
 * and a key id on every audit event. SQLite cannot change a column's type, so the tokens table is
 * rebuilt; the same rebuild runs on PostgreSQL, so that both stores end up alike. The account row
 * gets a signature of its chain's head, so that a chain cut short is told from a whole one.
 */
type Dialect = 'sqlite' | 'postgres';

const TIME_COLUMNS = ['created_at', 'expires_at', 'paused_at', 'revoked_at', 'deleted_at', 'first_used_at', 'last_used_at'] as const;
const TEXT_COLUMNS = [
  'id', 'account_id', 'name', 'description', 'type', 'hash', 'visible_prefix', 'last4', 'scopes', 'domains', 'mailbox_id',
  'ip_allowlist', 'created_by_type', 'created_by_id', 'created_by_name', 'revoke_reason', 'last_used_ip', 'rotated_from', 'rotated_to', 'rate_limit',
] as const;

/**
 * ISO text to milliseconds. The old release accepted expiries past year 9999 (`+010000-…`), which
 * neither dialect parses: those become the last instant now allowed, and years before 0, 0.
 */
const LATEST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const millis = (dialect: Dialect, column: string) => {
  const parsed = dialect === 'postgres'
    ? `round(extract(epoch from ${column}::timestamptz) * 1000)::bigint`
    : `cast(round((julianday(${column}) - 2440587.5) * 86400000) as integer)`;
  return sql.raw(`case when ${column} is null then null when ${column} like '+%' then ${LATEST_INSTANT} when ${column} like '-%' then 0 else ${parsed} end`);
};

interface OldToken {
  id: string;
  type: string;
  mailbox_id: string | null;
  parent_token_id: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
}

/**
 * Lineage: the first token of a rotation chain. Ancestry: the lineages of the minting chain above.
 * A parent the old release purged (it removed tokens dead for the retention period, children or
 * not) stays in its children's ancestry: as the lineage of the secret it replaced if that one is
 * still here, else under its own id, a lineage with no token, which the upgrade's hook then reads
 * as ended (see `services/upgrade.ts`).
 */
function placesOf(rows: OldToken[]): Map<string, { lineage: string; ancestry: string[] }> {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const replacedBy = new Map(rows.filter((row) => row.rotated_to !== null).map((row) => [row.rotated_to!, row]));
  const lineage = (id: string): string => {
    let current = byId.get(id);
    for (let hops = 0; current?.rotated_from && byId.has(current.rotated_from) && hops < rows.length; hops += 1) current = byId.get(current.rotated_from);
    return current?.id ?? id;
  };
  const places = new Map<string, { lineage: string; ancestry: string[] }>();
  const place = (id: string, depth = 0): { lineage: string; ancestry: string[] } => {
    const known = places.get(id);
    if (known) return known;
    const row = byId.get(id);
    const parentId = row?.parent_token_id ?? null;
    const parent = parentId !== null && byId.has(parentId) && depth < rows.length ? place(parentId, depth + 1) : null;
    const purged = parentId !== null && !byId.has(parentId) ? (replacedBy.has(parentId) ? lineage(replacedBy.get(parentId)!.id) : parentId) : null;
    const found = { lineage: lineage(id), ancestry: parent ? [...parent.ancestry, parent.lineage] : purged !== null ? [purged] : [] };
    places.set(id, found);
    return found;
  };
  for (const row of rows) place(row.id);
  return places;
}

/** As `token-codec.ts` writes it; copied so that this migration never changes with the code. */
const ancestryText = (lineages: readonly string[]): string => (lineages.length ? `/${lineages.join('/')}/` : '');

/**
 * `after`: what the application does once the store has this shape, in the same transaction: it
 * closes the audit chains written before events were signed (which needs the key, which the store
 * does not have), and brings existing token trees inside the rule.
 */
export function tokenAuthority(dialect: Dialect, after?: (trx: Kysely<any>) => Promise<void>): Migration {
  const run = async (db: Kysely<any>) => {
    if (await applied(dialect, db)) return;
    await rebuild(dialect)(db);
    await after?.(db);
  };
  return {
    // SQLite's migrations run outside a transaction (Kysely treats its DDL as not transactional): a
    // failure halfway through must not leave the tokens table gone, so it gets one. Kysely then
    // records the migration in a statement of its own, after that transaction commits: a start
    // that stops in between runs this again on the next, which finds its work done and does
    // nothing (the hook included, which committed with the rest). On PostgreSQL Kysely runs every
    // pending migration and their records in one transaction, so there is no such gap there.
    up: (db: Kysely<any>) => (dialect === 'sqlite' ? db.transaction().execute(run) : run(db)),
    async down(): Promise<void> {
      throw new Error('003-token-authority cannot be undone: token instants and ancestry have no earlier form');
    },
  };
}

/**
 * Whether this migration's transaction has committed already: it adds `tokens.lineage_id` with
 * everything else, so the column is there only if all of it is. Asked of the `tokens` an
 * unqualified name reaches, as every statement here does (on PostgreSQL, through search_path).
 */
async function applied(dialect: Dialect, db: Kysely<any>): Promise<boolean> {
  const found = dialect === 'postgres'
    ? await sql`select 1 from pg_attribute where attrelid = to_regclass('tokens') and attname = 'lineage_id' and not attisdropped`.execute(db)
    : await sql`select 1 from pragma_table_info('tokens') where name = 'lineage_id'`.execute(db);
  return found.rows.length > 0;
}

function rebuild(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('tokens_next')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('visible_prefix', 'text', (c) => c.notNull())
      .addColumn('last4', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('domains', 'text')
      .addColumn('mailbox_id', 'text')
      .addColumn('ip_allowlist', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by_type', 'text', (c) => c.notNull())
      .addColumn('created_by_id', 'text')
      .addColumn('created_by_name', 'text', (c) => c.notNull())
      .addColumn('lineage_id', 'text', (c) => c.notNull())
      .addColumn('ancestry', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('paused_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoke_reason', 'text')
      .addColumn('deleted_at', 'bigint')
      .addColumn('first_used_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .addColumn('last_used_ip', 'text')
      .addColumn('rotated_from', 'text')
      .addColumn('rotated_to', 'text')
      .addColumn('rate_limit', 'text')
      .execute();

    const columns = [...TEXT_COLUMNS, ...TIME_COLUMNS, 'lineage_id', 'ancestry'];
    const values = [...TEXT_COLUMNS.map((c) => sql.ref(c)), ...TIME_COLUMNS.map((c) => millis(dialect, c)), sql.ref('id'), sql.lit('')];
    await sql`insert into tokens_next (${sql.join(columns.map((c) => sql.ref(c)))}) select ${sql.join(values)} from tokens`.execute(db);

    const old = await db.selectFrom('tokens').select(['id', 'type', 'mailbox_id', 'parent_token_id', 'rotated_from', 'rotated_to']).execute() as OldToken[];
    const mailboxDomain = new Map(
      (await db.selectFrom('mailboxes').select(['id', 'domain_id']).execute() as { id: string; domain_id: string }[]).map((m) => [m.id, m.domain_id]),
    );
    const byId = new Map(old.map((row) => [row.id, row]));
    for (const [id, { lineage, ancestry }] of placesOf(old)) {
      const row = byId.get(id)!;
      const domain = row.type === 'message' && row.mailbox_id ? mailboxDomain.get(row.mailbox_id) : undefined;
      // Copied as its own lineage under no one: only a token rotated, minted or bound differs.
      if (lineage === id && ancestry.length === 0 && domain === undefined) continue;
      await db.updateTable('tokens_next')
        .set({ lineage_id: lineage, ancestry: ancestryText(ancestry), ...(domain ? { domains: JSON.stringify([domain]) } : {}) })
        .where('id', '=', id).execute();
    }

    await db.schema.dropTable('tokens').execute();
    await db.schema.alterTable('tokens_next').renameTo('tokens').execute();
    await db.schema.createIndex('tokens_account').on('tokens').columns(['account_id', 'id']).execute();
    await db.schema.createIndex('tokens_lineage').on('tokens').columns(['lineage_id']).execute();

    await db.schema.alterTable('audit_events').addColumn('key_id', 'text').execute();
    await db.schema.alterTable('accounts').addColumn('audit_head_mac', 'text').execute();
  };
}
