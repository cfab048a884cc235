/**
 * The audit chain against someone who can write the database but does not hold the audit key:
 * every field of every event is covered, a chain recomputed without the key does not verify, and
 * keys can be rotated. Events written before signing are accepted only as a prefix that a signed
 * event closes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditLog, auditKeys, listAudit } from '../../src/services/audit.js';
import type { AuditEventsTable } from '../../src/store/schema.js';
import { asSession, bearer, createToken, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { TEST_AUDIT_KEY, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

const identityRedactor = (text: string) => text;

let h: Harness;
shareApp({ app: (app) => (h = app) });

async function accountWithEvents(): Promise<{ owner: Session; events: AuditEventsTable[] }> {
  const owner = await ownerSession(h);
  for (let i = 0; i < 3; i += 1) await createToken(h, asSession(owner), { name: `audited ${i}`, scopes: ['domains:read'] });
  const events = await h.store.db.selectFrom('audit_events').selectAll().where('account_id', '=', owner.accountId).orderBy('seq').execute();
  return { owner, events };
}

const verify = async (owner: Session) => expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: asSession(owner) }), 200);

const FIELDS = ['id', 'account_id', 'seq', 'at', 'action', 'actor_type', 'actor_id', 'actor_name', 'target_type', 'target_id', 'target_name', 'ip', 'user_agent', 'details', 'prev_hash', 'key_id'] as const;

/** A value for `field` that differs from the stored one but is still a value the column holds. */
function tampered(field: (typeof FIELDS)[number], event: AuditEventsTable): string | number {
  if (field === 'seq') return 1_000_000 + event.seq;
  // Moved to an account of its own, the event leaves a gap where it was.
  if (field === 'account_id') return 'acc_elsewhere';
  if (field === 'details') return '{"scopes":["*"]}';
  if (field === 'at') return '2020-01-01T00:00:00.000Z';
  return `${String(event[field] ?? '')}tampered`;
}

/** The plain chain an attacker without the key can compute: SHA-256 over the same fields. */
const plainHash = (row: Omit<AuditEventsTable, 'hash'>, withKeyId: boolean): string =>
  createHash('sha256').update(JSON.stringify([
    row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
    row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash, ...(withKeyId ? [row.key_id] : []),
  ])).digest('hex');

/** Rewrites an account's chain from its first event, as a database writer could: every hash and the head. */
async function recompute(accountId: string, change: (row: AuditEventsTable) => AuditEventsTable, hash: (row: AuditEventsTable) => string): Promise<void> {
  const rows = await h.store.db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).orderBy('seq').execute();
  let prev = '';
  for (const original of rows) {
    const row = { ...change(original), prev_hash: prev };
    row.hash = hash(row);
    await h.store.db.updateTable('audit_events').set(row).where('id', '=', original.id).execute();
    prev = row.hash;
  }
  await h.store.db.updateTable('accounts').set({ audit_head: prev }).where('id', '=', accountId).execute();
}

describe('the audit chain', () => {
  it('breaks at the very event whose field was changed, for every field an event stores', async () => {
    const { owner, events } = await accountWithEvents();
    const target = events[2]!;
    expect(await verify(owner)).toMatchObject({ valid: true, checked: events.length });
    for (const field of FIELDS) {
      await h.store.db.updateTable('audit_events').set({ [field]: tampered(field, target) }).where('id', '=', target.id).execute();
      const answer = await verify(owner);
      expect(answer.valid, field).toBe(false);
      expect(answer.first_broken.seq, field).toBe(target.seq);
      await h.store.db.updateTable('audit_events').set({ [field]: target[field] }).where('id', '=', field === 'id' ? String(tampered(field, target)) : target.id).execute();
      expect((await verify(owner)).valid, `${field} restored`).toBe(true);
    }
  });

  it('cannot be recomputed without the key: not as a plain SHA-256 chain, not as unsigned events, not under another key', async () => {
    const attacks: ((accountId: string, target: string) => Promise<void>)[] = [
      (accountId, target) => recompute(accountId, (row) => (row.id === target ? { ...row, details: '{"scopes":["*"]}' } : row), (row) => plainHash(row, true)),
      (accountId, target) => recompute(accountId, (row) => ({ ...row, key_id: null, ...(row.id === target ? { details: '{}' } : {}) }), (row) => plainHash(row, false)),
      async (accountId, target) => {
        const forger = auditKeys(['an attacker’s guess at the key, 32+ chars long']);
        const { createHmac } = await import('node:crypto');
        await recompute(accountId, (row) => ({ ...row, key_id: forger.signing.id, ...(row.id === target ? { details: '{}' } : {}) }), (row) =>
          createHmac('sha256', forger.signing.secret).update(JSON.stringify([
            row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
            row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash, row.key_id,
          ])).digest('hex'));
      },
    ];
    const reasons: string[] = [];
    for (const attack of attacks) {
      const { owner, events } = await accountWithEvents();
      await attack(owner.accountId, events[1]!.id);
      const answer = await verify(owner);
      expect(answer.valid).toBe(false);
      reasons.push(answer.first_broken.reason);
    }
    expect(reasons).toEqual(['hash_mismatch', 'unsigned', 'unknown_key']);
  });

  it('counts every break, so that one cannot hide another behind it', async () => {
    const { owner, events } = await accountWithEvents();
    for (const event of [events[1]!, events[3]!]) await h.store.db.updateTable('audit_events').set({ details: '{"forged":true}' }).where('id', '=', event.id).execute();
    expect(await verify(owner)).toMatchObject({ valid: false, broken: 2, first_broken: { seq: events[1]!.seq, reason: 'hash_mismatch' } });
    await h.store.db.updateTable('audit_events').set({ details: events[1]!.details }).where('id', '=', events[1]!.id).execute();
    expect(await verify(owner)).toMatchObject({ valid: false, broken: 1, first_broken: { seq: events[3]!.seq } });
  });

  it('refuses text the database would store differently from what is signed, and signs text as stored', async () => {
    const { owner } = await accountWithEvents();
    const { token } = await createToken(h, asSession(owner), { name: 'to rename', scopes: ['domains:read'] });
    const lone = await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: { ...asSession(owner), 'content-type': 'application/json' }, payload: '{"name":"x\\ud800"}' });
    expect(lone.statusCode).toBe(400);
    expect(lone.json().error.code).toBe('invalid_request');
    // Past the API, as another caller of the audit log might: the event still verifies once stored.
    await h.store.db.transaction().execute((trx) =>
      h.ctx.audit.append(trx, owner.accountId, { action: 'test.odd_text', actor: { type: 'system', id: null, name: 'x\ud800' }, meta: null }, h.clock.now()));
    expect((await verify(owner)).valid).toBe(true);
  });

  it('verifies alike while events are being appended', async () => {
    const { owner } = await accountWithEvents();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? verify(owner) : createToken(h, asSession(owner), { name: `busy ${i}`, scopes: ['domains:read'] }).then(() => ({ valid: true }))));
    expect(answers.map((answer) => answer.valid)).toEqual(answers.map(() => true));
  });

  it('tells a token whether the chain holds, and nothing of its length or where it breaks', async () => {
    const { owner } = await accountWithEvents();
    const { secret } = await createToken(h, asSession(owner), { name: 'auditor', scopes: ['tokens:full'] });
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: bearer(secret) }), 200)).toEqual({ valid: true });
  });

  it('notices a chain cut short or emptied, though the account row was made to match, and names its head for anchoring elsewhere', async () => {
    const { owner, events } = await accountWithEvents();
    const whole = await verify(owner);
    expect(whole.head).toEqual({ seq: events.length, hash: events[events.length - 1]!.hash });
    const cut = async (keep: number) => {
      await h.store.db.deleteFrom('audit_events').where('account_id', '=', owner.accountId).where('seq', '>', keep).execute();
      const last = keep === 0 ? '' : (await h.store.db.selectFrom('audit_events').select('hash').where('account_id', '=', owner.accountId).where('seq', '=', keep).executeTakeFirstOrThrow()).hash;
      await h.store.db.updateTable('accounts').set({ audit_seq: keep, audit_head: last }).where('id', '=', owner.accountId).execute();
    };
    await cut(2);
    expect(await verify(owner)).toMatchObject({ valid: false, checked: 2, first_broken: { id: null, seq: 3, reason: 'missing' } });
    await cut(0);
    expect(await verify(owner)).toMatchObject({ valid: false, checked: 0, first_broken: { seq: 1, reason: 'missing' } });
  });

  it('names each event’s key, and still verifies after the key is rotated while the old one is kept for verifying', async () => {
    const { owner, events } = await accountWithEvents();
    const oldKeyId = auditKeys([TEST_AUDIT_KEY]).signing.id;
    expect(new Set(events.map((e) => e.key_id))).toEqual(new Set([oldKeyId]));
    const rotated = new AuditLog(auditKeys(['the next audit key, at least 32 characters', TEST_AUDIT_KEY]), identityRedactor);
    await h.store.db.transaction().execute((trx) =>
      rotated.append(trx, owner.accountId, { action: 'test.after_rotation', actor: { type: 'system', id: null, name: 'test' }, meta: null }, h.clock.now()));
    expect(await rotated.verify(h.store.db, owner.accountId)).toMatchObject({ valid: true, checked: events.length + 1 });
    const withoutOld = new AuditLog(auditKeys(['the next audit key, at least 32 characters']), identityRedactor);
    expect(await withoutOld.verify(h.store.db, owner.accountId)).toMatchObject({ valid: false, first_broken: { seq: 1, reason: 'unknown_key' } });
    expect(await h.ctx.audit.verify(h.store.db, owner.accountId)).toMatchObject({ valid: false, first_broken: { seq: events.length + 1, reason: 'unknown_key' } });
  });

  it('accepts events from before signing only as a prefix closed by a signed event when signing begins', async () => {
    const { owner } = await accountWithEvents();
    // As a deployment from before signing left it: the same events, hashed the old way.
    await recompute(owner.accountId, (row) => ({ ...row, key_id: null }), (row) => plainHash(row, false));
    expect(await verify(owner)).toMatchObject({ valid: false, first_broken: { seq: 1, reason: 'unsigned' } });
    expect(await h.store.db.transaction().execute((trx) => h.ctx.audit.closeUnsignedChains(trx, h.clock.now()))).toBeGreaterThanOrEqual(1);
    const closed = await verify(owner);
    expect(closed).toMatchObject({ valid: true, unsigned: closed.checked - 1 });
    await createToken(h, asSession(owner), { name: 'after the upgrade', scopes: ['domains:read'] });
    expect(await verify(owner)).toMatchObject({ valid: true, unsigned: closed.checked - 1, checked: closed.checked + 1 });
    // Changing an old event breaks the link the signed closing event holds.
    const first = await h.store.db.selectFrom('audit_events').selectAll().where('account_id', '=', owner.accountId).where('seq', '=', 1).executeTakeFirstOrThrow();
    await recompute(owner.accountId, (row) => (row.seq === 1 ? { ...row, actor_name: 'someone else' } : row), (row) => (row.key_id === null ? plainHash(row, false) : row.hash));
    expect((await verify(owner)).valid).toBe(false);
    expect(first.actor_name).not.toBe('someone else');
  });
});

/**
 * The account row's head (`accounts.audit_seq`, with its signature) says where the chain ends. An
 * event someone writing the database inserts beyond it is no part of the chain: it is never listed,
 * and verify says it is there rather than passing over it.
 */
describe('events beyond the signed head', () => {
  const list = async (auth: Record<string, string>, query = '') =>
    expectStatus(await h.request({ method: 'GET', url: `/v1/audit-log?${query.includes('limit=') ? '' : 'limit=100'}${query}`, headers: auth }), 200) as { data: { id: string; seq: number }[]; next_cursor: string | null };
  const csv = async (auth: Record<string, string>, query = '') => {
    const response = await h.request({ method: 'GET', url: `/v1/audit-log?format=csv&limit=1000${query}`, headers: auth });
    expect(response.statusCode).toBe(200);
    return response.body;
  };
  const eventsOf = (accountId: string) => h.store.db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).orderBy('seq').execute();
  const headOf = (accountId: string) => h.store.db.selectFrom('accounts').select(['audit_seq', 'audit_head']).where('id', '=', accountId).executeTakeFirstOrThrow();

  /** As a database writer without the key would: the next event after the head, linked to it, under the key's (public) id, the head left alone. */
  async function forge(accountId: string, seq: number, overrides: Partial<AuditEventsTable> = {}): Promise<AuditEventsTable> {
    const head = await headOf(accountId);
    const row = {
      id: `evt_forged${seq}`, account_id: accountId, seq, at: new Date(h.clock.now()).toISOString(), action: 'token.created',
      actor_type: 'system', actor_id: null, actor_name: 'operator', target_type: 'token', target_id: 'tok_forged', target_name: 'backdoor',
      ip: null, user_agent: null, details: '{"scopes":["*"]}', prev_hash: head.audit_head, key_id: auditKeys([TEST_AUDIT_KEY]).signing.id,
      ...overrides,
    };
    const event = { ...row, hash: plainHash(row, true) };
    await h.store.db.insertInto('audit_events').values(event).execute();
    return event;
  }

  it('are not listed, on any path, and verify reports them as unanchored, counting each', async () => {
    const { owner } = await accountWithEvents();
    const { token, secret } = await createToken(h, asSession(owner), { name: 'auditor', scopes: ['tokens:full'] });
    const events = await eventsOf(owner.accountId);
    const head = (await headOf(owner.accountId)).audit_seq;
    expect(head).toBe(events.length);
    // One right after the head, about the token reading, and one far past it, in the future.
    const next = await forge(owner.accountId, head + 1, { actor_type: 'token', actor_id: token.id, actor_name: 'auditor' });
    const far = await forge(owner.accountId, head + 1000, { id: 'evt_forgedfar', at: '2030-01-01T00:00:00.000Z', action: 'account.plan_changed' });
    const forged = [next, far];

    const real = events.map((e) => e.id).reverse();
    const ids = (page: { data: { id: string }[] }) => page.data.map((e) => e.id);
    expect(ids(await list(asSession(owner)))).toEqual(real);
    expect(ids(await list(asSession(owner), '&action=token.created'))).toEqual(events.filter((e) => e.action === 'token.created').map((e) => e.id).reverse());
    expect(ids(await list(asSession(owner), '&action=account.plan_changed'))).toEqual([]);
    expect(ids(await list(asSession(owner), '&since=2029-01-01T00:00:00Z'))).toEqual([]);
    expect(ids(await list(asSession(owner), `&cursor=${head + 2000}`))).toEqual(real);
    const paged = await list(asSession(owner), `&limit=2&cursor=${head + 2}`);
    expect(paged).toEqual({ data: [expect.objectContaining({ seq: head }), expect.objectContaining({ seq: head - 1 })], next_cursor: String(head - 1) });
    // A token reads events by or about itself: the forged one acted as it, and is still not shown.
    const asToken = ids(await list(bearer(secret)));
    expect(asToken.length).toBeGreaterThan(0);
    expect(asToken).not.toContain(next.id);

    for (const body of [await csv(asSession(owner)), await csv(asSession(owner), '&action=token.created'), await csv(bearer(secret))]) {
      for (const event of forged) expect(body).not.toContain(event.hash);
      expect(body).not.toContain('backdoor');
    }
    expect((await csv(asSession(owner))).trim().split('\n')).toHaveLength(events.length + 1);

    expect(await verify(owner)).toEqual({ valid: false, checked: events.length, unsigned: 0, broken: 2, first_broken: { id: next.id, seq: head + 1, reason: 'unanchored' } });
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: bearer(secret) }), 200)).toEqual({ valid: false });
    // Behind an earlier break, they are still counted.
    await h.store.db.updateTable('audit_events').set({ details: '{"scopes":["*"]}' }).where('id', '=', events[1]!.id).execute();
    expect(await verify(owner)).toMatchObject({ valid: false, broken: 3, first_broken: { seq: events[1]!.seq, reason: 'hash_mismatch' } });
    await h.store.db.updateTable('audit_events').set({ details: events[1]!.details }).where('id', '=', events[1]!.id).execute();
    // Taken out again, the chain holds as before.
    await h.store.db.deleteFrom('audit_events').where('id', 'in', forged.map((e) => e.id)).execute();
    expect(await verify(owner)).toMatchObject({ valid: true, checked: events.length });
  });

  it('never include an event the service appended: not while many are appended at once, nor one in a transaction still open', async () => {
    const { owner } = await accountWithEvents();
    const answers: { valid: boolean }[] = [];
    const pages: number[][] = [];
    await Promise.all(Array.from({ length: 36 }, async (_, i) => {
      if (i % 3 === 0) answers.push(await verify(owner));
      else if (i % 3 === 1) await createToken(h, asSession(owner), { name: `concurrent ${i}`, scopes: ['domains:read'] });
      else pages.push((await list(asSession(owner))).data.map((e) => e.seq));
    }));
    // Every verify held, and every listing was the whole chain up to some head: nothing hidden.
    expect(answers.map((a) => a.valid)).toEqual(answers.map(() => true));
    for (const seqs of pages) expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => seqs.length - k));

    // Appends inside a transaction that has not committed yet, with readers waiting on it
    // (SQLite) or reading beside it (PostgreSQL); and readers inside it.
    const committed = (await eventsOf(owner.accountId)).length;
    const during = await h.store.db.transaction().execute(async (trx) => {
      for (const n of [1, 2]) await h.ctx.audit.append(trx, owner.accountId, { action: `test.in_transaction_${n}`, actor: { type: 'system', id: null, name: 'test' }, meta: null }, h.clock.now());
      expect(await h.ctx.audit.verify(trx, owner.accountId)).toMatchObject({ valid: true, checked: committed + 2 });
      expect((await listAudit(trx, owner.accountId, { limit: 100 })).data).toHaveLength(committed + 2);
      // Not awaited here: on SQLite they wait for this transaction's connection.
      return { readers: Promise.all([verify(owner), list(asSession(owner))]) };
    }).then(({ readers }) => readers);
    expect(during[0]).toMatchObject({ valid: true });
    expect([committed, committed + 2]).toContain(during[1].data.length);

    const all = (await eventsOf(owner.accountId)).map((e) => e.id).reverse();
    expect(all).toHaveLength(committed + 2);
    expect((await list(asSession(owner))).data.map((e) => e.id)).toEqual(all);
    expect(await verify(owner)).toMatchObject({ valid: true, checked: all.length, broken: 0 });

    // And the same account, the same moment, with one forged past its head: that one, and only it.
    const forged = await forge(owner.accountId, all.length + 1);
    expect((await list(asSession(owner))).data.map((e) => e.id)).toEqual(all);
    expect(await verify(owner)).toMatchObject({ valid: false, checked: all.length, broken: 1, first_broken: { id: forged.id, seq: forged.seq, reason: 'unanchored' } });
  });
});
