/**
 * Migration 003 on a store as the previous release left it: ISO-text instants become integer
 * milliseconds, every token gets its lineage (rotations share one) and its ancestry (from who
 * minted it, re-parenting after rotations included), and a message token gets its mailbox's
 * domain. On SQLite and on PostgreSQL alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { AuditLog, auditKeys } from '../../src/services/audit.js';
import { storeUpgrades } from '../../src/services/upgrade.js';
import { migrate, migratorFor } from '../../src/store/database.js';
import * as initial from '../../src/store/migrations/001-initial.js';
import * as tokenRateLimit from '../../src/store/migrations/002-token-rate-limit.js';
import { tokenAuthority } from '../../src/store/migrations/003-token-authority.js';
import type { Database } from '../../src/store/schema.js';
import { DIALECT, openTestDatabase, TEST_AUDIT_KEY, TestClock } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-migration-'));
let store: Awaited<ReturnType<typeof openTestDatabase>>;
beforeAll(async () => {
  store = await openTestDatabase(join(dir, 'old.db'));
});
afterAll(async () => {
  await store.db.destroy();
  await store.drop();
  rmSync(dir, { recursive: true, force: true });
});

const AT = '2026-11-23T12:00:00.123Z';
const LATER = '2027-01-01T00:00:00.000Z';
/** What the old release stored for `expires_in: "999999w"`. */
const BEYOND = '+021200-01-01T00:00:00.000Z';

/** An event as the old release hashed it: plain SHA-256, no key. */
function legacyEvent(seq: number, prev: string) {
  const row = {
    id: `evt_${seq}`, account_id: 'acc_1', seq, at: AT, action: 'account.created', actor_type: 'operator', actor_id: null, actor_name: 'operator',
    target_type: null, target_id: null, target_name: null, ip: null, user_agent: null, details: '{}', prev_hash: prev,
  };
  const hash = createHash('sha256').update(JSON.stringify([
    row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
    row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash,
  ])).digest('hex');
  return { ...row, hash };
}

/** A token row as the old release stored it, with `fields` over the defaults. */
const legacyToken = (id: string, fields: Record<string, unknown>) => ({
  id, account_id: 'acc_1', name: id, description: '', type: 'api', hash: `hash-${id}`, visible_prefix: 'lk_live_x', last4: 'abcd',
  scopes: '["tokens:full","domains:read"]', domains: null, mailbox_id: null, ip_allowlist: null, created_at: AT, created_by_type: 'user', created_by_id: 'usr_1',
  created_by_name: 'owner', parent_token_id: null, expires_at: null, paused_at: null, revoked_at: null, revoke_reason: null, deleted_at: null,
  first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: null, rotated_to: null, rate_limit: null, ...fields,
});

/** The store as the release before 003 left it: migrated to 002, one account and the unsigned event of its creation; typed as that release's rows. */
async function atRelease002(db: Kysely<Database>): Promise<Kysely<any>> {
  expect((await (await migratorFor(db, DIALECT)).migrateTo('002-token-rate-limit')).error).toBeUndefined();
  const old = db as unknown as Kysely<any>;
  const event = legacyEvent(1, '');
  await old.insertInto('accounts').values({ id: 'acc_1', name: 'Old', plan: 'pro', audit_seq: 1, audit_head: event.hash, created_at: AT }).execute();
  await old.insertInto('audit_events').values(event).execute();
  return old;
}

describe('migration 003', () => {
  it('turns instants into milliseconds, gives every token its lineage, ancestry and domain, closes the unsigned chain and narrows wide children, at once', async () => {
    const old = await atRelease002(store.db);
    await old.insertInto('domains').values({ id: 'dom_1', account_id: 'acc_1', name: 'old.example.com', created_at: AT, deleted_at: null }).execute();
    await old.insertInto('mailboxes').values({ id: 'mbx_1', account_id: 'acc_1', domain_id: 'dom_1', address: 'in@old.example.com', created_at: AT }).execute();
    // A root rotated once, with a limit; its child, re-parented to the successor as the old release
    // did, later widened by the owner and never limited; a grandchild; a message token the successor
    // minted; and a token the old release let live past year 9999.
    await old.insertInto('tokens').values([
      legacyToken('tok_root', { rotated_to: 'tok_root2', expires_at: LATER, last_used_at: AT, scopes: '["tokens:full","domains:read","message_tokens:full","messages:read"]', rate_limit: '{"requests":10,"per":"1m"}' }),
      legacyToken('tok_root2', { rotated_from: 'tok_root', rate_limit: '{"requests":10,"per":"1m"}', scopes: '["tokens:full","domains:read","message_tokens:full","messages:read"]' }),
      legacyToken('tok_child', { parent_token_id: 'tok_root2', created_by_type: 'token', paused_at: AT, scopes: '["tokens:full","domains:full","activity:read"]' }),
      legacyToken('tok_grandchild', { parent_token_id: 'tok_child', created_by_type: 'token', revoked_at: AT, deleted_at: LATER }),
      legacyToken('tok_message', { parent_token_id: 'tok_root2', type: 'message', mailbox_id: 'mbx_1', scopes: '["messages:read"]' }),
      legacyToken('tok_forever', { expires_at: BEYOND }),
    ]).execute();

    await migrate(store.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], new TestClock()));
    const rows = new Map((await store.db.selectFrom('tokens').selectAll().execute()).map((row) => [row.id, row]));
    expect(rows.get('tok_root')).toMatchObject({ lineage_id: 'tok_root', ancestry: '', expires_at: Date.parse(LATER), last_used_at: Date.parse(AT), created_at: Date.parse(AT) });
    expect(rows.get('tok_root2')).toMatchObject({ lineage_id: 'tok_root', ancestry: '' });
    expect(rows.get('tok_child')).toMatchObject({
      lineage_id: 'tok_child', ancestry: '/tok_root/', paused_at: Date.parse(AT),
      // Brought inside the token above it: no activity, read-only domains, its limit.
      scopes: '["domains:read","tokens:full"]', rate_limit: '{"requests":10,"per":"1m"}',
    });
    expect(rows.get('tok_grandchild')).toMatchObject({ ancestry: '/tok_root/tok_child/', revoked_at: Date.parse(AT), deleted_at: Date.parse(LATER) });
    expect(rows.get('tok_message')).toMatchObject({ ancestry: '/tok_root/', domains: '["dom_1"]' });
    expect(rows.get('tok_forever')!.expires_at).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    expect(rows.get('tok_root')!.paused_at).toBeNull();
    // The unsigned event keeps its hash; a signed event closes it, and one about the narrowed child follows.
    expect(rows.get('tok_message')!.revoked_at).toBeNull();
    const verify = await new AuditLog(auditKeys([TEST_AUDIT_KEY]), (text) => text).verify(store.db, 'acc_1');
    expect(verify).toMatchObject({ valid: true, unsigned: 1 });
    const events = await store.db.selectFrom('audit_events').select(['action', 'target_id']).orderBy('seq').execute();
    expect(events.slice(0, 2).map((e) => e.action)).toEqual(['account.created', 'audit.signing_started']);
    // The child, and the message token, which now counts against the limit above it.
    expect(events.slice(2).map((e) => `${e.action} ${e.target_id}`).sort()).toEqual(['token.updated tok_child', 'token.updated tok_message']);
  });
});

describe('migration 003, interrupted', () => {
  it('leaves the store as it was when anything in it fails, and runs again whole', async () => {
    const broken = await openTestDatabase(join(dir, 'interrupted.db'));
    try {
      const old = broken.db as unknown as Kysely<any>;
      expect((await (await migratorFor(broken.db, DIALECT)).migrateTo('002-token-rate-limit')).error).toBeUndefined();
      await old.insertInto('accounts').values({ id: 'acc_1', name: 'Old', plan: 'pro', audit_seq: 0, audit_head: '', created_at: AT }).execute();
      const failing = { afterTokenAuthority: async () => { throw new Error('the upgrade failed halfway'); } };
      await expect(migrate(broken.db, DIALECT, failing)).rejects.toThrow('the upgrade failed halfway');
      // Still the old shape: no tokens_next left over, no new columns, nothing recorded as done.
      await expect(old.selectFrom('tokens').select('parent_token_id').execute()).resolves.toEqual([]);
      await expect(old.selectFrom('tokens_next').selectAll().execute()).rejects.toThrow();
      await migrate(broken.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], new TestClock()));
      await expect(broken.db.selectFrom('tokens').select(['lineage_id', 'ancestry']).execute()).resolves.toEqual([]);
    } finally {
      await broken.db.destroy();
      await broken.drop();
    }
  });
});

/** The store's tables, columns and indexes, and every row but the migrator's own, as plain data. */
async function snapshot(db: Kysely<any>): Promise<Record<string, unknown>> {
  const shape: { name: string; type?: string }[] = DIALECT === 'sqlite'
    ? (await sql<{ type: string; name: string; sql: string | null }>`select type, name, sql from sqlite_master where name not like 'kysely_%' and name not like 'sqlite_%' order by name`.execute(db)).rows
    : [
        ...(await sql<{ name: string }>`select table_name as name, column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = current_schema() and table_name not like 'kysely_%' order by table_name, ordinal_position`.execute(db)).rows,
        ...(await sql<{ name: string }>`select indexname as name, indexdef from pg_indexes where schemaname = current_schema() and tablename not like 'kysely_%' order by indexname`.execute(db)).rows,
      ];
  const tables = DIALECT === 'sqlite'
    ? shape.filter((row) => row.type === 'table').map((row) => row.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name not like 'kysely_%' order by table_name`.execute(db)).rows.map((row) => row.name);
  const rows: Record<string, unknown[]> = {};
  for (const table of tables) rows[table] = (await sql`select * from ${sql.table(table)} order by 1`.execute(db)).rows;
  return { shape, rows };
}

const recorded = async (db: Kysely<any>) => (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((row) => row.name);

/**
 * What Kysely does with a migration on SQLite, stopped between its two steps: `up` runs (and
 * commits), and the row recording it is never written. On PostgreSQL Kysely runs both in one
 * transaction, so this cannot happen there; `up` is run in a transaction all the same.
 */
async function applyUnrecorded(db: Kysely<Database>, migration: Migration): Promise<void> {
  if (DIALECT === 'sqlite') await migration.up(db);
  else await db.transaction().execute((trx) => migration.up(trx));
}

describe('a migration applied but not recorded (a start stopped between the two)', () => {
  const withStore = async (name: string, use: (db: Kysely<Database>) => Promise<void>) => {
    const opened = await openTestDatabase(join(dir, name));
    try {
      await use(opened.db);
    } finally {
      await opened.db.destroy();
      await opened.drop();
    }
  };

  it('003: the next start records it and changes nothing, the upgrade hook included', () => withStore('unrecorded-003.db', async (db) => {
    const old = await atRelease002(db);
    await old.insertInto('tokens').values([
      legacyToken('tok_root', { scopes: '["domains:read"]', expires_at: LATER }),
      legacyToken('tok_child', { parent_token_id: 'tok_root', created_by_type: 'token', scopes: '["tokens:full","domains:full"]' }),
    ]).execute();
    const hooks = storeUpgrades([TEST_AUDIT_KEY], new TestClock());
    await applyUnrecorded(db, tokenAuthority(DIALECT, (trx) => hooks.afterTokenAuthority!(trx as Transaction<Database>)));
    expect(await recorded(db)).toEqual(['001-initial', '002-token-rate-limit']);
    const applied = await snapshot(db);
    // It did its work: the child inside its parent, the chain closed (and signed, so not again).
    expect(await db.selectFrom('tokens').select(['scopes', 'expires_at']).where('id', '=', 'tok_child').executeTakeFirst()).toEqual({ scopes: '["domains:read"]', expires_at: Date.parse(LATER) });

    // Up to the release that shipped it: what later migrations add is theirs.
    expect((await (await migratorFor(db, DIALECT, hooks)).migrateTo('004-token-trees')).error).toBeUndefined();
    expect(await recorded(db)).toEqual(['001-initial', '002-token-rate-limit', '003-token-authority', '004-token-trees']);
    expect(await snapshot(db)).toEqual(applied);
    expect(await new AuditLog(auditKeys([TEST_AUDIT_KEY]), (text) => text).verify(db, 'acc_1')).toMatchObject({ valid: true, unsigned: 1 });
  }));

  it.skipIf(DIALECT === 'postgres')('001 and 002 on SQLite: the next start records them and changes nothing', () => withStore('unrecorded-001.db', async (db) => {
    await applyUnrecorded(db, initial);
    const created = await snapshot(db);
    expect((await (await migratorFor(db, DIALECT)).migrateTo('001-initial')).error).toBeUndefined();
    expect(await snapshot(db)).toEqual(created);
    await applyUnrecorded(db, tokenRateLimit);
    const limited = await snapshot(db);
    expect((await (await migratorFor(db, DIALECT)).migrateTo('002-token-rate-limit')).error).toBeUndefined();
    expect(await recorded(db)).toEqual(['001-initial', '002-token-rate-limit']);
    expect(await snapshot(db)).toEqual(limited);
    await migrate(db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], new TestClock()));
    expect(await recorded(db)).toEqual(['001-initial', '002-token-rate-limit', '003-token-authority', '004-token-trees', '005-message-folders', '006-oauth', '007-token-audience', '008-oauth-lineage', '009-people']);
  }));

  it.skipIf(DIALECT === 'postgres')('001 on SQLite: a failure halfway leaves no table behind, and the next start runs it whole', () => withStore('halfway-001.db', async (db) => {
    // The last table 001 creates cannot be: as if the start had stopped just before it.
    await sql`create table settings (key text)`.execute(db);
    await expect(applyUnrecorded(db, initial)).rejects.toThrow(/settings/);
    await expect(sql`select 1 from accounts`.execute(db)).rejects.toThrow(/no such table/);
    await sql`drop table settings`.execute(db);
    await migrate(db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], new TestClock()));
    expect(await recorded(db)).toEqual(['001-initial', '002-token-rate-limit', '003-token-authority', '004-token-trees', '005-message-folders', '006-oauth', '007-token-audience', '008-oauth-lineage', '009-people']);
  }));
});

describe('migration 005', () => {
  it('files every stored message where it was: received mail in the inbox, unread; sent mail in sent, read when it was sent', async () => {
    const opened = await openTestDatabase(join(dir, 'folders.db'));
    const db = opened.db as unknown as Kysely<any>;
    try {
      expect((await (await migratorFor(opened.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], new TestClock()))).migrateTo('004-token-trees')).error).toBeUndefined();
      await db.insertInto('accounts').values({ id: 'acc_1', name: 'Old', plan: 'pro', audit_seq: 0, audit_head: '', created_at: AT }).execute();
      await db.insertInto('domains').values({ id: 'dom_1', account_id: 'acc_1', name: 'old.example.com', created_at: AT, deleted_at: null }).execute();
      await db.insertInto('mailboxes').values({ id: 'mbx_1', account_id: 'acc_1', domain_id: 'dom_1', address: 'in@old.example.com', created_at: AT }).execute();
      const message = (id: string, direction: string) => ({
        id, account_id: 'acc_1', mailbox_id: 'mbx_1', direction, from_address: 'a@x.example', to_address: 'in@old.example.com', subject: id, body: '', created_at: AT,
      });
      await db.insertInto('messages').values([message('msg_in', 'inbound'), message('msg_out', 'outbound')]).execute();
      await migrate(opened.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], new TestClock()));
      const rows = await db.selectFrom('messages').select(['id', 'folder', 'read_at']).orderBy('id').execute();
      expect(rows).toEqual([{ id: 'msg_in', folder: 'inbox', read_at: null }, { id: 'msg_out', folder: 'sent', read_at: AT }]);
    } finally {
      await opened.db.destroy();
      await opened.drop();
    }
  });
});
