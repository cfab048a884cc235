import { describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createToken, expectStatus, login, ownerSession, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

describe('GET /v1/scopes', () => {
  it('lists the catalog with each scope’s availability on the caller’s plan', async () => {
    const starter = await ownerSession(h, 'starter');
    const body = expectStatus(await h.request({ method: 'GET', url: '/v1/scopes?type=api', headers: asSession(starter) }), 200);
    expect(body.plan).toBe('starter');
    const byScope = Object.fromEntries(body.data.map((s: any) => [s.scope, s]));
    expect(byScope['domains:read']).toMatchObject({ available: true, resource: 'domains', level: 'read', unlocked_by: 'starter' });
    expect(byScope['domains:full']).toMatchObject({ available: false, unlocked_by: 'pro', implies: ['domains:read'] });
    expect(byScope['submission:full']).toMatchObject({ requires: ['messages:read'] });
    expect(byScope['email_verification:full']).toMatchObject({ available: true, unlocked_by: 'nano' });
    expect(byScope['tokens:read']).toBeUndefined();
    expect(body.data.every((s: any) => s.type === 'api')).toBe(true);

    const all = expectStatus(await h.request({ method: 'GET', url: '/v1/scopes', headers: asSession(owner) }), 200);
    expect(all.data.filter((s: any) => s.type === 'mcp').map((s: any) => s.scope)).toEqual(['mcp:read', 'mcp:write', 'mcp:send']);
    expect(all.data.filter((s: any) => s.type === 'message').map((s: any) => s.scope)).toEqual(['messages:read', 'messages:send']);
    expect(all.data.every((s: any) => s.available)).toBe(true);
  });

  it('is readable by any token and any member', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'tiny', scopes: ['analytics:read'] });
    expectStatus(await h.request({ method: 'GET', url: '/v1/scopes', headers: bearer(secret) }), 200);
    const member = await login(h, await addUser(h, owner.accountId, 'member'));
    expectStatus(await h.request({ method: 'GET', url: '/v1/scopes', headers: asSession(member) }), 200);
  });
});

describe('audit log', () => {
  it('records who did what, from where, with which user agent', async () => {
    const { token } = await createToken(h, { ...asSession(owner), 'user-agent': 'curl/8.5' }, { name: 'audited', scopes: ['domains:read'] });
    const log = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.created', headers: asSession(owner) }), 200);
    expect(log.data[0]).toMatchObject({
      action: 'token.created', actor: { type: 'user', id: owner.userId, name: owner.email }, target: { type: 'token', id: token.id, name: 'audited' },
      ip: '127.0.0.1', user_agent: 'curl/8.5', details: { scopes: ['domains:read'] }, at: new Date(h.clock.now()).toISOString(),
    });
    expect(JSON.stringify(log)).not.toMatch(/lk_live_[0-9A-Za-z]{20}/);
  });

  it('is a hash chain that verify re-checks, naming the first altered, removed or truncated event', async () => {
    const s = await ownerSession(h);
    for (let i = 0; i < 3; i += 1) await createToken(h, asSession(s), { name: `chained ${i}`, scopes: ['domains:read'] });
    const verify = async () => expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log/verify', headers: asSession(s) }), 200);
    const ok = await verify();
    expect(ok).toMatchObject({ valid: true, first_broken: null });
    expect(ok.checked).toBeGreaterThanOrEqual(5);

    const events = await h.store.db.selectFrom('audit_events').selectAll().where('account_id', '=', s.accountId).orderBy('seq').execute();
    const target = events[2]!;
    await h.store.db.updateTable('audit_events').set({ details: '{"scopes":["*"]}' }).where('id', '=', target.id).execute();
    expect(await verify()).toEqual({ valid: false, checked: 2, unsigned: 0, broken: 1, first_broken: { id: target.id, seq: target.seq, reason: 'hash_mismatch' } });
    await h.store.db.updateTable('audit_events').set({ details: target.details }).where('id', '=', target.id).execute();
    expect((await verify()).valid).toBe(true);

    const last = events[events.length - 1]!;
    await h.store.db.deleteFrom('audit_events').where('id', '=', last.id).execute();
    expect(await verify()).toMatchObject({ valid: false, first_broken: { id: null, seq: last.seq, reason: 'missing' } });
  });

  it('exports CSV with cells neutralised', async () => {
    const s = await ownerSession(h);
    await createToken(h, { ...asSession(s), 'user-agent': '=cmd|calc' }, { name: '+SUM(A1)', scopes: ['domains:read'] });
    const response = await h.request({ method: 'GET', url: '/v1/audit-log?format=csv&action=token.created', headers: asSession(s) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, row] = response.body.trim().split('\n');
    expect(header).toBe('seq,at,action,actor,target,ip,user_agent,details,key_id,hash');
    expect(row).toContain('token:+SUM(A1)');
    expect(row).toContain("'=cmd|calc");
    expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=500', headers: asSession(s) }), 400);
  });

  it('pages with a cursor and filters by time', async () => {
    const s = await ownerSession(h);
    for (let i = 0; i < 4; i += 1) {
      await createToken(h, asSession(s), { name: `page ${i}`, scopes: ['domains:read'] });
      h.clock.advance(1000);
    }
    const first = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=2&action=token.created', headers: asSession(s) }), 200);
    const second = expectStatus(await h.request({ method: 'GET', url: `/v1/audit-log?limit=2&action=token.created&cursor=${first.next_cursor}`, headers: asSession(s) }), 200);
    expect([...first.data, ...second.data].map((e: any) => e.target.name)).toEqual(['page 3', 'page 2', 'page 1', 'page 0']);
    const since = new Date(h.clock.now() - 2000).toISOString();
    const recent = expectStatus(await h.request({ method: 'GET', url: `/v1/audit-log?action=token.created&since=${since}`, headers: asSession(s) }), 200);
    expect(recent.data.map((e: any) => e.target.name)).toEqual(['page 3', 'page 2']);
    // A cursor past what a sequence number holds is refused, not handed to the database.
    expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?cursor=2147483648', headers: asSession(s) }), 400);
  });
});
