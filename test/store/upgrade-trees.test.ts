/**
 * The upgrade to token trees (migration 003 and its hook, and 004 after it) on a store as the previous release left
 * it, seen from where it matters: `/v1/verify` of a real app started on that store. Nothing below a
 * token may outlive it, whatever state that token is in: the previous release checked no ancestor
 * when a token was used, let a token outlive the one that minted it, and purged dead parents from
 * under live children. On SQLite and on PostgreSQL alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Latchkey } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { hashSecret, mintSecret } from '../../src/core/token-format.js';
import { AuditLog, auditKeys } from '../../src/services/audit.js';
import { messageFolders } from '../../src/store/migrations/005-message-folders.js';
import { oauth } from '../../src/store/migrations/006-oauth.js';
import { tokenAudience } from '../../src/store/migrations/007-token-audience.js';
import { oauthLineage } from '../../src/store/migrations/008-oauth-lineage.js';
import { people } from '../../src/store/migrations/009-people.js';
import { storeUpgrades } from '../../src/services/upgrade.js';
import { migrate, migratorFor } from '../../src/store/database.js';
import { asSession, bearer, createToken, ownerSession } from '../helpers/actors.js';
import { DIALECT, openTestDatabase, TEST_AUDIT_KEY, TEST_POSTGRES_URL, TestClock, withHarness } from '../helpers/harness.js';

const OPERATOR = 'test-operator-token-0123456789abcdefghijklmnop';
const AT = '2026-01-01T00:00:00.000Z';
/** Before the upgrade's clock (2026-11-23T12:00Z): what had already expired when the old release stopped. */
const PAST = '2026-11-01T00:00:00.000Z';
const LATER = '2027-06-01T00:00:00.000Z';
const FULL = '["tokens:full","domains:full","messages:read"]';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-upgrade-'));
const secrets = new Map<string, string>();
let store: Awaited<ReturnType<typeof openTestDatabase>>;
let latchkey: Latchkey;

/**
 * The tree, as the previous release stored it (parent_token_id; rotation moved a parent's children
 * to its successor, but a token minted by a secret in its grace period kept that secret as parent).
 */
const LEGACY: [string, Record<string, unknown>][] = [
  // Still working: a root and its child, which keep working.
  ['tok_live', {}],
  ['tok_live_child', { parent_token_id: 'tok_live' }],
  // An expired parent; a child with no expiry; its grandchild.
  ['tok_expired', { expires_at: PAST }],
  ['tok_expired_child', { parent_token_id: 'tok_expired' }],
  ['tok_expired_grandchild', { parent_token_id: 'tok_expired_child', expires_at: LATER }],
  // A working root, an expired child of it, and a grandchild with no expiry.
  ['tok_top', {}],
  ['tok_top_expired', { parent_token_id: 'tok_top', expires_at: PAST }],
  ['tok_top_grandchild', { parent_token_id: 'tok_top_expired' }],
  // A revoked parent whose child and grandchild were not (a mint racing the revocation's cascade, which read children once).
  ['tok_revoked', { revoked_at: PAST, revoke_reason: 'leaked' }],
  ['tok_revoked_child', { parent_token_id: 'tok_revoked' }],
  ['tok_revoked_grandchild', { parent_token_id: 'tok_revoked_child' }],
  // A deleted parent.
  ['tok_deleted', { deleted_at: PAST }],
  ['tok_deleted_child', { parent_token_id: 'tok_deleted' }],
  // Rotated, successor working and narrower: a child of the rotated-out secret lies inside the successor.
  ['tok_rot', { rotated_to: 'tok_rot2', expires_at: LATER }],
  ['tok_rot2', { rotated_from: 'tok_rot', scopes: '["tokens:full","domains:read"]' }],
  ['tok_rot_child', { parent_token_id: 'tok_rot' }],
  // Rotated, successor since expired while the replaced secret's grace runs on: neither it nor the child works.
  ['tok_stale', { rotated_to: 'tok_stale2', expires_at: LATER }],
  ['tok_stale2', { rotated_from: 'tok_stale', expires_at: PAST }],
  ['tok_stale_child', { parent_token_id: 'tok_stale' }],
  // Rotated, successor since revoked; a child re-parented to it.
  ['tok_cut', { rotated_to: 'tok_cut2', expires_at: LATER }],
  ['tok_cut2', { rotated_from: 'tok_cut', revoked_at: PAST }],
  ['tok_cut_child', { parent_token_id: 'tok_cut2' }],
  // A child whose parent the old release purged once it had been dead for the retention period.
  ['tok_orphan', { parent_token_id: 'tok_purged' }],
  ['tok_orphan_child', { parent_token_id: 'tok_orphan' }],
  // A successor purged: the child moved to it, the replaced secret still names it.
  ['tok_lost', { rotated_to: 'tok_lost2', expires_at: PAST }],
  ['tok_lost_child', { parent_token_id: 'tok_lost2' }],
];

const verify = async (id: string) => {
  const response = await latchkey.app.inject({
    method: 'POST', url: '/v1/verify', headers: { authorization: `Bearer ${OPERATOR}` }, payload: { token: secrets.get(id) },
  });
  expect(response.statusCode).toBe(200);
  return response.json() as { valid: boolean; code?: string; token?: { scopes: string[]; expires_at: string | null } };
};

beforeAll(async () => {
  const dbPath = join(dir, 'old.db');
  store = await openTestDatabase(dbPath);
  const old = store.db as unknown as Kysely<any>;
  expect((await (await migratorFor(store.db, DIALECT)).migrateTo('002-token-rate-limit')).error).toBeUndefined();
  const config = loadConfig({
    LATCHKEY_DATABASE_URL: TEST_POSTGRES_URL ?? `sqlite:${dbPath}`, LATCHKEY_ADMIN_TOKEN: OPERATOR, LATCHKEY_AUDIT_KEY: TEST_AUDIT_KEY,
    LATCHKEY_ARGON2_MEMORY_KIB: '1024', LATCHKEY_ARGON2_PASSES: '1', LATCHKEY_USAGE_FLUSH_INTERVAL_MS: '600000',
  });
  await old.insertInto('accounts').values({ id: 'acc_1', name: 'Old', plan: 'pro', audit_seq: 0, audit_head: '', created_at: AT }).execute();
  await old.insertInto('tokens').values(LEGACY.map(([id, fields]) => {
    const minted = mintSecret(config.tokenPrefix, 'live');
    secrets.set(id, minted.secret);
    return {
      id, account_id: 'acc_1', name: id, description: '', type: 'api', hash: minted.hash, visible_prefix: minted.visiblePrefix, last4: minted.last4,
      scopes: FULL, domains: null, mailbox_id: null, ip_allowlist: null, created_at: AT,
      created_by_type: fields.parent_token_id ? 'token' : 'user', created_by_id: 'usr_1', created_by_name: 'owner',
      parent_token_id: null, expires_at: null, paused_at: null, revoked_at: null, revoke_reason: null, deleted_at: null,
      first_used_at: null, last_used_at: null, last_used_ip: null, rotated_from: null, rotated_to: null, rate_limit: null, ...fields,
    };
  })).execute();
  // The new release started on the old store: the upgrade runs inside its migration.
  latchkey = await buildApp({
    config, clock: new TestClock(), db: store.db, operatorTokenHash: hashSecret(OPERATOR), auditKeys: [TEST_AUDIT_KEY],
    logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
});

afterAll(async () => {
  await latchkey.close();
  await store.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the upgrade to token trees', () => {
  it('keeps working trees working', async () => {
    for (const id of ['tok_live', 'tok_live_child', 'tok_top', 'tok_rot', 'tok_rot2', 'tok_rot_child']) expect(await verify(id), id).toMatchObject({ valid: true });
  });

  it('ends what lies below an expired token, at any depth, with it', async () => {
    for (const id of ['tok_expired_child', 'tok_expired_grandchild', 'tok_top_grandchild']) {
      expect(await verify(id), id).toEqual({ valid: false, code: 'token_expired' });
    }
    const rows = await store.db.selectFrom('tokens').select(['id', 'expires_at', 'revoked_at']).where('id', 'in', ['tok_expired_child', 'tok_expired_grandchild', 'tok_top_grandchild']).execute();
    // Narrowed into the token above: its expiry, not a revocation.
    for (const row of rows) expect(row, row.id).toMatchObject({ expires_at: Date.parse(PAST), revoked_at: null });
  });

  it('revokes what lies below a revoked or deleted token, at any depth', async () => {
    for (const id of ['tok_revoked_child', 'tok_revoked_grandchild', 'tok_deleted_child']) {
      expect(await verify(id), id).toEqual({ valid: false, code: 'token_revoked' });
    }
    const reasons = await store.db.selectFrom('tokens').select(['id', 'revoke_reason']).where('id', 'in', ['tok_revoked_child', 'tok_revoked_grandchild', 'tok_deleted_child', 'tok_revoked', 'tok_deleted']).orderBy('id').execute();
    expect(reasons).toEqual([
      { id: 'tok_deleted', revoke_reason: null },
      { id: 'tok_deleted_child', revoke_reason: 'parent tok_deleted deleted' },
      { id: 'tok_revoked', revoke_reason: 'leaked' },
      { id: 'tok_revoked_child', revoke_reason: 'parent tok_revoked revoked' },
      { id: 'tok_revoked_grandchild', revoke_reason: 'parent tok_revoked revoked' },
    ]);
  });

  it('holds what a rotated-out secret minted, and the secret itself, to the lineage\'s current token', async () => {
    const child = await verify('tok_rot_child');
    expect(child).toMatchObject({ valid: true });
    expect(child.token!.scopes.sort()).toEqual((await verify('tok_rot2')).token!.scopes.sort());
    for (const id of ['tok_stale', 'tok_stale_child']) expect(await verify(id), id).toEqual({ valid: false, code: 'token_expired' });
    for (const id of ['tok_cut', 'tok_cut_child']) expect(await verify(id), id).toEqual({ valid: false, code: 'token_revoked' });
  });

  it('revokes what lies below a token the old release purged', async () => {
    for (const id of ['tok_orphan', 'tok_orphan_child', 'tok_lost_child']) expect(await verify(id), id).toEqual({ valid: false, code: 'token_revoked' });
    const rows = new Map((await store.db.selectFrom('tokens').select(['id', 'ancestry', 'revoke_reason']).execute()).map((row) => [row.id, row]));
    expect(rows.get('tok_orphan')).toMatchObject({ ancestry: '/tok_purged/', revoke_reason: 'parent tok_purged purged' });
    expect(rows.get('tok_orphan_child')).toMatchObject({ ancestry: '/tok_purged/tok_orphan/', revoke_reason: 'parent tok_purged purged' });
    // The purged successor's lineage is that of the secret it replaced.
    expect(rows.get('tok_lost_child')).toMatchObject({ ancestry: '/tok_lost/', revoke_reason: 'parent tok_lost2 purged' });
  });

  it('audits every token it ends, in a chain that still verifies', async () => {
    const events = await store.db.selectFrom('audit_events').select(['action', 'target_id', 'details']).orderBy('seq').execute();
    const ended = events.filter((e) => e.action === 'token.revoked').map((e) => e.target_id).sort();
    expect(ended).toEqual(['tok_cut', 'tok_cut_child', 'tok_deleted_child', 'tok_lost_child', 'tok_orphan', 'tok_orphan_child', 'tok_revoked_child', 'tok_revoked_grandchild']);
    const narrowed = events.filter((e) => e.action === 'token.updated').map((e) => e.target_id).sort();
    // The secret tok_rot2 replaced, still in its grace period, is narrowed into it as well.
    expect(narrowed).toEqual(['tok_expired_child', 'tok_expired_grandchild', 'tok_rot', 'tok_rot_child', 'tok_stale', 'tok_stale_child', 'tok_top_grandchild']);
    expect(await new AuditLog(auditKeys([TEST_AUDIT_KEY]), (text) => text).verify(store.db, 'acc_1')).toMatchObject({ valid: true });
  });
});

describe('migration 004, on a store the first release of token trees upgraded', () => {
  it('ends what that upgrade left working below an expired or revoked token, and changes nothing else', () => withHarness({}, async (h) => {
    const owner = asSession(await ownerSession(h));
    const mint = async (secret: string, name: string) =>
      (await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload: { name, scopes: ['domains:read', 'tokens:full'] } })).json();
    const made = async (name: string) => createToken(h, owner, { name, scopes: ['domains:read', 'tokens:full'], expires_in: '30d' });
    const [expiring, revoked, fine] = [await made('expired above'), await made('revoked above'), await made('fine')];
    const [expiredChild, revokedChild, fineChild] = [await mint(expiring.secret, 'child'), await mint(revoked.secret, 'child'), await mint(fine.secret, 'child')];
    const grandchild = await mint(expiredChild.secret, 'grandchild');
    // As that upgrade left them: the tokens above ended, those below as they were before the rule.
    const past = h.clock.now() - 86_400_000;
    await h.store.db.updateTable('tokens').set({ expires_at: past }).where('id', '=', expiring.token.id).execute();
    await h.store.db.updateTable('tokens').set({ revoked_at: past, revoke_reason: 'leaked' }).where('id', '=', revoked.token.id).execute();
    await h.store.db.updateTable('tokens').set({ expires_at: null }).where('id', 'in', [expiredChild.token.id, revokedChild.token.id, grandchild.token.id]).execute();
    // That release had neither 004 nor what came after it.
    await people(DIALECT).down!(h.store.db);
    await oauthLineage(DIALECT).down!(h.store.db);
    await tokenAudience(DIALECT).down!(h.store.db);
    await oauth(DIALECT).down!(h.store.db);
    await messageFolders(DIALECT).down!(h.store.db);
    await h.store.db.deleteFrom('kysely_migration' as never).where('name' as never, 'in', ['004-token-trees', '005-message-folders', '006-oauth', '007-token-audience', '008-oauth-lineage', '009-people'] as never).execute();
    const untouched = await h.store.db.selectFrom('tokens').selectAll().where('id', 'in', [fine.token.id, fineChild.token.id]).orderBy('id').execute();
    const eventsBefore = (await h.store.db.selectFrom('audit_events').select('id').execute()).length;

    await migrate(h.store.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], h.clock));
    h.ctx.verifier.clear();
    const use = async (secret: string) => (await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) })).json().error?.code ?? 'ok';
    expect(await use(expiredChild.secret)).toBe('token_expired');
    expect(await use(grandchild.secret)).toBe('token_expired');
    expect(await use(revokedChild.secret)).toBe('token_revoked');
    expect(await use(fineChild.secret)).toBe('ok');
    expect(await h.store.db.selectFrom('tokens').selectAll().where('id', 'in', [fine.token.id, fineChild.token.id]).orderBy('id').execute()).toEqual(untouched.map((row) => ({ ...row, audience: null })));
    // Two narrowed, one revoked, each audited, in a chain that verifies.
    expect((await h.store.db.selectFrom('audit_events').select('id').execute()).length).toBe(eventsBefore + 3);
    expect((await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: owner })).json()).toMatchObject({ valid: true });

    // Run again (a start stopped before the record, on SQLite): nothing changes.
    const after = await h.store.db.selectFrom('tokens').selectAll().orderBy('id').execute();
    // That release had neither 004 nor what came after it.
    await people(DIALECT).down!(h.store.db);
    await oauthLineage(DIALECT).down!(h.store.db);
    await tokenAudience(DIALECT).down!(h.store.db);
    await oauth(DIALECT).down!(h.store.db);
    await messageFolders(DIALECT).down!(h.store.db);
    await h.store.db.deleteFrom('kysely_migration' as never).where('name' as never, 'in', ['004-token-trees', '005-message-folders', '006-oauth', '007-token-audience', '008-oauth-lineage', '009-people'] as never).execute();
    await migrate(h.store.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], h.clock));
    expect(await h.store.db.selectFrom('tokens').selectAll().orderBy('id').execute()).toEqual(after);
  }));
});
