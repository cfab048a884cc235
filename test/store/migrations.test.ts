/**
 * Migration 003 on a store as the previous release left it: ISO-text instants become integer
 * milliseconds, every token gets its lineage (rotations share one) and its ancestry (from who
 * minted it, re-parenting after rotations included), and a message token gets its mailbox's
 * domain. On SQLite and on PostgreSQL alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migratorFor } from '../../src/store/database.js';
import { DIALECT, openTestDatabase } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-migration-'));
let store: Awaited<ReturnType<typeof openTestDatabase>>;
beforeAll(async () => {
  store = await openTestDatabase(join(dir, 'old.db'), () => undefined);
});
afterAll(async () => {
  await store.db.destroy();
  await store.drop();
  rmSync(dir, { recursive: true, force: true });
});

const AT = '2026-11-23T12:00:00.000Z';
const LATER = '2027-01-01T00:00:00.000Z';

describe('migration 003', () => {
  it('turns instants into milliseconds and gives every token its lineage, ancestry and domain', async () => {
    const old = store.db as unknown as Kysely<any>;
    const { error } = await (await migratorFor(store.db, DIALECT)).migrateTo('002-token-rate-limit');
    expect(error).toBeUndefined();
    await old.insertInto('accounts').values({ id: 'acc_1', name: 'Old', plan: 'pro', audit_seq: 0, audit_head: '', created_at: AT }).execute();
    await old.insertInto('domains').values({ id: 'dom_1', account_id: 'acc_1', name: 'old.example.com', created_at: AT, deleted_at: null }).execute();
    await old.insertInto('mailboxes').values({ id: 'mbx_1', account_id: 'acc_1', domain_id: 'dom_1', address: 'in@old.example.com', created_at: AT }).execute();
    const token = (id: string, fields: Record<string, unknown>) => ({
      id, account_id: 'acc_1', name: id, description: '', type: 'api', hash: `hash-${id}`, visible_prefix: 'lk_live_x', last4: 'abcd',
      scopes: '["tokens:full"]', domains: null, mailbox_id: null, ip_allowlist: null, created_at: AT, created_by_type: 'user', created_by_id: 'usr_1',
      created_by_name: 'owner', parent_token_id: null, expires_at: null, paused_at: null, revoked_at: null, revoke_reason: null, deleted_at: null,
      first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: null, rotated_to: null, rate_limit: null, ...fields,
    });
    // A root rotated once; its child, re-parented to the successor as the old release did; a
    // grandchild; and a message token the successor minted.
    await old.insertInto('tokens').values([
      token('tok_root', { rotated_to: 'tok_root2', expires_at: LATER, last_used_at: AT }),
      token('tok_root2', { rotated_from: 'tok_root', created_by_type: 'user' }),
      token('tok_child', { parent_token_id: 'tok_root2', created_by_type: 'token', paused_at: AT }),
      token('tok_grandchild', { parent_token_id: 'tok_child', created_by_type: 'token', revoked_at: AT, deleted_at: LATER }),
      token('tok_message', { parent_token_id: 'tok_root2', type: 'message', mailbox_id: 'mbx_1', scopes: '["messages:read"]' }),
    ]).execute();
    await old.insertInto('audit_events').values({
      id: 'evt_1', account_id: 'acc_1', seq: 1, at: AT, action: 'account.created', actor_type: 'operator', actor_id: null, actor_name: 'operator',
      target_type: null, target_id: null, target_name: null, ip: null, user_agent: null, details: '{}', prev_hash: '', hash: 'unsigned',
    }).execute();

    await migrate(store.db, DIALECT);
    const rows = new Map((await store.db.selectFrom('tokens').selectAll().execute()).map((row) => [row.id, row]));
    expect(rows.get('tok_root')).toMatchObject({ lineage_id: 'tok_root', ancestry: '', expires_at: Date.parse(LATER), last_used_at: Date.parse(AT), created_at: Date.parse(AT) });
    expect(rows.get('tok_root2')).toMatchObject({ lineage_id: 'tok_root', ancestry: '' });
    expect(rows.get('tok_child')).toMatchObject({ lineage_id: 'tok_child', ancestry: '/tok_root/', paused_at: Date.parse(AT) });
    expect(rows.get('tok_grandchild')).toMatchObject({ ancestry: '/tok_root/tok_child/', revoked_at: Date.parse(AT), deleted_at: Date.parse(LATER) });
    expect(rows.get('tok_message')).toMatchObject({ ancestry: '/tok_root/', domains: '["dom_1"]' });
    expect(rows.get('tok_root')!.paused_at).toBeNull();
    // Events from before signing keep their hashes and say so: no key signed them.
    expect(await store.db.selectFrom('audit_events').select(['id', 'key_id', 'hash']).execute()).toEqual([{ id: 'evt_1', key_id: null, hash: 'unsigned' }]);
  });
});
