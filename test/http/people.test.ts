import { describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createToken, expectError, expectStatus, login, operator, PASSWORD, type Session, teamOf } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { oauthAgent } from '../oauth/client.js';

/**
 * The people of an account over HTTP: who may see and change them, what a role change or a
 * removal does to live sessions, the last owner, one-time passwords, changing one's own password
 * and signing out everywhere. On whichever store the suite runs on.
 */
let h: Harness;
shareApp({ app: (app) => void (h = app) });

const NEW_PASSWORD = 'a brand new passphrase';

const team = () => teamOf(h);

const people = (who: Record<string, string>) => h.request({ method: 'GET', url: '/v1/users', headers: who });
const add = (who: Record<string, string>, payload: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/users', headers: who, payload });
const setRole = (who: Record<string, string>, id: string, role: string) => h.request({ method: 'PATCH', url: `/v1/users/${id}`, headers: who, payload: { role } });
const remove = (who: Record<string, string>, id: string) => h.request({ method: 'DELETE', url: `/v1/users/${id}`, headers: who });
const whoAmI = (s: Session) => h.request({ method: 'GET', url: '/v1/auth/session', headers: asSession(s) });

describe('who sees the people of the account', () => {
  it('owners and admins, and a token with users:read; not members, nor a token without it', async () => {
    const { owner, admin, member } = await team();
    for (const s of [owner, admin]) {
      const listed = expectStatus(await people(asSession(s)), 200).data as { email: string; role: string }[];
      expect(listed.map((person) => person.role)).toEqual(['owner', 'admin', 'member']);
      expect(listed.map((person) => person.email)).toEqual([owner.email, admin.email, member.email]);
    }
    expect(expectError(await people(asSession(member)), 403, 'forbidden').message).toMatch(/only owners and admins/);
    const reader = await createToken(h, asSession(owner), { name: 'people', scopes: ['users:read'] });
    expect(expectStatus(await people(bearer(reader.secret)), 200).data).toHaveLength(3);
    const other = await createToken(h, asSession(owner), { name: 'domains', scopes: ['domains:read'] });
    expectError(await people(bearer(other.secret)), 403, 'insufficient_scope');
  });
});

describe('adding someone', () => {
  it('answers with a one-time password, shown once, that must be changed before anything else', async () => {
    const { owner } = await team();
    const email = `new-${Date.now()}@example.com`;
    const created = await add(asSession(owner), { email, role: 'admin' });
    expect(created.headers['cache-control']).toBe('no-store');
    const { user, password } = expectStatus(created, 201);
    expect(user).toMatchObject({ email, role: 'admin', password_change_required: true });
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(JSON.stringify(expectStatus(await people(asSession(owner)), 200))).not.toContain(password);

    const first = await login(h, email, password);
    expect(expectStatus(await whoAmI(first), 200).user.password_change_required).toBe(true);
    for (const [method, url] of [['GET', '/v1/tokens'], ['GET', '/v1/users'], ['POST', '/v1/auth/reauth']] as const) {
      const refused = expectError(await h.request({ method, url, headers: asSession(first), payload: method === 'POST' ? { password } : undefined }), 403, 'forbidden');
      expect(refused.details).toEqual({ reason: 'password_change_required' });
    }
    expectError(await h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(first), payload: { current_password: password, new_password: password } }), 400, 'invalid_request');
    expectStatus(await h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(first), payload: { current_password: password, new_password: NEW_PASSWORD } }), 200);
    expect(expectStatus(await whoAmI(first), 200).user.password_change_required).toBe(false);
    expectStatus(await h.request({ method: 'GET', url: '/v1/tokens', headers: asSession(first) }), 200);
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email, password } }), 401, 'unauthorized');
  });

  it('refuses an email already taken, and an unknown role, with the field named', async () => {
    const { owner, admin } = await team();
    expect(expectError(await add(asSession(owner), { email: admin.email, role: 'member' }), 409, 'conflict').details).toEqual({ field: 'email' });
    expect(expectError(await add(asSession(owner), { email: 'x@example.com', role: 'root' }), 400, 'invalid_request').details).toMatchObject({ field: 'role' });
  });
});

describe('a role change and a removal', () => {
  it('take effect at the person’s next request: a demoted admin loses token management, a removed person’s session is refused', async () => {
    const { owner, admin, member } = await team();
    const made = await createToken(h, asSession(admin), { name: 'made by the admin', scopes: ['domains:read'] });
    expectStatus(await setRole(asSession(owner), admin.userId, 'member'), 200);
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(admin), payload: { name: 'again', scopes: ['domains:read'] } }), 403, 'forbidden');
    expect(expectStatus(await whoAmI(admin), 200).user.role).toBe('member');

    expectStatus(await remove(asSession(owner), admin.userId), 204);
    expectError(await whoAmI(admin), 401, 'unauthorized');
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: admin.email, password: PASSWORD } }), 401, 'unauthorized');
    // What they created stays with the account, and says so.
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(made.secret) }), 200);
    const { token } = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${made.token.id}`, headers: asSession(owner) }), 200);
    expect(token).toMatchObject({ created_by: { type: 'user', id: admin.userId, name: admin.email }, created_by_removed: true });
    const listed = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens', headers: asSession(owner) }), 200).data as { id: string; created_by_removed: boolean }[];
    expect(listed.find((each) => each.id === made.token.id)?.created_by_removed).toBe(true);
    const events = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: asSession(owner) }), 200).data as { action: string; details: unknown }[];
    expect(events.filter((event) => event.action.startsWith('user.')).map((event) => [event.action, event.details])).toEqual([
      ['user.removed', { role: 'member' }],
      ['user.role_changed', { from: 'admin', to: 'member' }],
      ['user.created', { role: 'member' }],
      ['user.created', { role: 'admin' }],
    ]);
    expect(expectStatus(await people(asSession(owner)), 200).data.map((person: { id: string }) => person.id)).toEqual([owner.userId, member.userId]);
  });

  it('disconnects the agents of someone who may no longer connect them, and of someone removed', async () => {
    const { owner, admin, accountId } = await team();
    const agent = oauthAgent(h, 'http://127.0.0.1:7777');
    const tokens = (pair: { refresh_token: string }, clientId: string) => agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
    const demoted = await agent.connect(admin);
    expectStatus(await setRole(asSession(owner), admin.userId, 'member'), 200);
    expect((await tokens(demoted.pair, demoted.clientId)).json()).toMatchObject({ error: 'invalid_grant' });
    const second = await login(h, await addUser(h, accountId, 'admin'));
    const removed = await agent.connect(second);
    expectStatus(await remove(asSession(owner), second.userId), 204);
    expect((await tokens(removed.pair, removed.clientId)).json()).toMatchObject({ error: 'invalid_grant' });
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(removed.pair.access_token) }), 401, 'token_revoked');
  });

  it('never leave the account without an owner: the last one can be neither demoted nor removed', async () => {
    const { owner, accountId } = await team();
    expect(expectError(await setRole(asSession(owner), owner.userId, 'admin'), 409, 'conflict').message).toMatch(/last owner/);
    expectError(await remove(asSession(owner), owner.userId), 409, 'conflict');
    const second = await login(h, await addUser(h, accountId, 'owner'));
    // Two owners demoting each other at once: one of them stays an owner.
    const answers = await Promise.all([setRole(asSession(owner), second.userId, 'member'), setRole(asSession(second), owner.userId, 'member')]);
    // The second is refused: as the last owner (409), or, read again under the lock, as no owner any more (403).
    expect(answers.map((answer) => answer.statusCode).sort()[0]).toBe(200);
    expect([403, 409]).toContain(answers.map((answer) => answer.statusCode).sort()[1]);
    const stillOwner = answers[0]!.statusCode === 200 ? owner : second;
    const listed = expectStatus(await people(asSession(stillOwner)), 200).data as { id: string; role: string }[];
    expect(listed.filter((person) => person.role === 'owner').map((person) => person.id)).toEqual([stillOwner.userId]);
  });

  it('answer another account’s person as not found', async () => {
    const { owner } = await team();
    const elsewhere = await team();
    expectError(await setRole(asSession(owner), elsewhere.member.userId, 'admin'), 404, 'not_found');
    expectError(await remove(asSession(owner), elsewhere.member.userId), 404, 'not_found');
    expect(expectStatus(await whoAmI(elsewhere.member), 200).user.role).toBe('member');
  });
});

describe('who may change people', () => {
  it('owners only: admins and members are refused, in person and through a users:full token an admin made', async () => {
    const { owner, admin, member } = await team();
    for (const s of [admin, member]) {
      expectError(await add(asSession(s), { email: `x-${Date.now()}@example.com`, role: 'member' }), 403, 'forbidden');
      expectError(await setRole(asSession(s), s.userId, 'owner'), 403, 'forbidden');
      expectError(await remove(asSession(s), owner.userId), 403, 'forbidden');
    }
    const adminsToken = await createToken(h, asSession(admin), { name: 'escalate', scopes: ['users:full'] });
    expectError(await setRole(bearer(adminsToken.secret), admin.userId, 'owner'), 403, 'forbidden');
    expectError(await add(bearer(adminsToken.secret), { email: `y-${Date.now()}@example.com`, role: 'admin' }), 403, 'forbidden');
    expect(expectStatus(await whoAmI(admin), 200).user.role).toBe('admin');
  });

  it('an owner’s users:full token may add and change admins and members, never make or unmake an owner', async () => {
    const { owner, admin, member } = await team();
    const { secret } = await createToken(h, asSession(owner), { name: 'provisioning', scopes: ['users:full'] });
    expectStatus(await add(bearer(secret), { email: `z-${Date.now()}@example.com`, role: 'member' }), 201);
    expectStatus(await setRole(bearer(secret), member.userId, 'admin'), 200);
    expectError(await setRole(bearer(secret), admin.userId, 'owner'), 403, 'forbidden');
    expectError(await add(bearer(secret), { email: `o-${Date.now()}@example.com`, role: 'owner' }), 403, 'forbidden');
    expectError(await remove(bearer(secret), owner.userId), 403, 'forbidden');
    // Once its owner is an owner no more, it changes nobody.
    const second = await login(h, await addUser(h, owner.accountId, 'owner'));
    expectStatus(await setRole(asSession(second), owner.userId, 'admin'), 200);
    expectError(await setRole(bearer(secret), member.userId, 'member'), 403, 'forbidden');
  });

  it('making an owner takes a fresh password check', async () => {
    const { owner, admin } = await team();
    h.clock.advance(11 * 60_000);
    expectError(await setRole(asSession(owner), admin.userId, 'owner'), 403, 'reauth_required');
    expectStatus(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: asSession(owner), payload: { password: PASSWORD } }), 200);
    expect(expectStatus(await setRole(asSession(owner), admin.userId, 'owner'), 200).user.role).toBe('owner');
  });
});

describe('one’s own password and sessions', () => {
  it('a password change needs the current one and ends every other session of that person', async () => {
    const { admin } = await team();
    const elsewhere = await login(h, admin.email);
    const change = (current: string) => h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(admin), payload: { current_password: current, new_password: NEW_PASSWORD } });
    expect(expectError(await change('not my password'), 401, 'unauthorized').details).toEqual({ field: 'current_password' });
    expectStatus(await whoAmI(elsewhere), 200);
    expectStatus(await change(PASSWORD), 200);
    expectError(await whoAmI(elsewhere), 401, 'unauthorized');
    expectStatus(await whoAmI(admin), 200);
    expectError(await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: admin.email, password: PASSWORD } }), 401, 'unauthorized');
    await login(h, admin.email, NEW_PASSWORD);
  });

  it('signing out everywhere ends every session, this one included', async () => {
    const { member } = await team();
    const elsewhere = await login(h, member.email);
    const out = await h.request({ method: 'POST', url: '/v1/auth/logout-everywhere', headers: asSession(member) });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/latchkey_session=;/);
    expectError(await whoAmI(member), 401, 'unauthorized');
    expectError(await whoAmI(elsewhere), 401, 'unauthorized');
  });

  it('the operator resets a lost password: a one-time password, the person’s sessions ended', async () => {
    const { accountId, owner } = await team();
    const reset = await h.request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/users/${owner.userId}/reset-password`, headers: operator(h) });
    expect(reset.headers['cache-control']).toBe('no-store');
    const { password, user } = expectStatus(reset, 200);
    expect(user).toMatchObject({ id: owner.userId, password_change_required: true });
    expectError(await whoAmI(owner), 401, 'unauthorized');
    const again = await login(h, owner.email, password);
    expectError(await people(asSession(again)), 403, 'forbidden');
    expectStatus(await h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(again), payload: { current_password: password, new_password: NEW_PASSWORD } }), 200);
    expectStatus(await people(asSession(again)), 200);
    expectError(await h.request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/users/usr_nobody/reset-password`, headers: operator(h) }), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/users/${owner.userId}/reset-password`, headers: asSession(again) }), 401, 'unauthorized');
  });
});
