/**
 * An outside attack round on the People API and one's own password and sessions, over HTTP: the
 * races it found (a reset undone by a change in flight, sessions outliving a reset or change, an
 * owner demoted or removed mid-request still promoting someone) are tests here, with what held.
 */
import { describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createAccount, createToken, expectError, expectStatus, login, operator, PASSWORD, type Session, teamOf } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';

let h: Harness;
shareApp({ app: (app) => void (h = app) });

const NEW_PASSWORD = 'a brand new passphrase';
const ATTACKER_PASSWORD = 'attacker chosen passphrase';

const team = () => teamOf(h);
const changePassword = (s: Session, current: string, next: string) =>
  h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(s), payload: { current_password: current, new_password: next } });
const reset = (accountId: string, userId: string) =>
  h.request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/users/${userId}/reset-password`, headers: operator(h) });

const audit = async (s: Session) =>
  (expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log', headers: asSession(s) }), 200).data as { action: string; seq: number; actor: { id: string | null }; target: { id: string } }[]);
const sessionAlive = async (response: { headers: Record<string, unknown>; statusCode: number }) => {
  if (response.statusCode !== 200) return false;
  const cookie = String(response.headers['set-cookie']).split(';')[0]!;
  return (await h.request({ method: 'GET', url: '/v1/auth/session', headers: { cookie } })).statusCode === 200;
};

describe('races and contracts an attack round found open (each was a hole)', () => {
  it('an operator reset is not undone by a password change already under way from a session it ends', async () => {
    const { accountId, admin } = await team();
    // The attacker holds the admin's session and old password; the operator resets to lock them out.
    const [changed, wasReset] = await Promise.all([changePassword(admin, PASSWORD, ATTACKER_PASSWORD), reset(accountId, admin.userId)]);
    expect(wasReset.statusCode).toBe(200);
    const otp = JSON.parse(wasReset.body).password as string;
    const withAttacker = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: admin.email, password: ATTACKER_PASSWORD } });
    const withOtp = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: admin.email, password: otp } });
    // Expected: the reset wins (the change is refused, or applied before it and overwritten): the OTP works, the attacker's password does not.
    expect({ change: changed.statusCode, attackerLogin: withAttacker.statusCode, otpLogin: withOtp.statusCode }).toEqual({ change: expect.any(Number), attackerLogin: 401, otpLogin: 200 });
  });

  it('a sign-in under way when the operator resets the password yields no session that outlives the reset', async () => {
    const survivors: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const { accountId, admin } = await team();
      const [loggedIn, wasReset] = await Promise.all([
        h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: admin.email, password: PASSWORD } }),
        reset(accountId, admin.userId),
      ]);
      expect(wasReset.statusCode).toBe(200);
      if (await sessionAlive(loggedIn)) survivors.push(i);
    }
    // Expected: no session signed in with the old password lives after the reset ends "every session".
    expect(survivors).toEqual([]);
  });

  it('a sign-in under way when the person changes their password yields no session that outlives the change', async () => {
    const survivors: number[] = [];
    for (let delay = 0; delay < 8; delay += 1) {
      const { admin } = await team();
      const changing = changePassword(admin, PASSWORD, NEW_PASSWORD);
      for (let i = 0; i < delay; i += 1) await new Promise((r) => setImmediate(r));
      const loggedIn = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: admin.email, password: PASSWORD } });
      expect((await changing).statusCode).toBe(200);
      if (await sessionAlive(loggedIn)) survivors.push(delay);
    }
    expect(survivors).toEqual([]);
  });

  it('an owner demoted while their request is in flight makes nobody an owner after the demotion committed', async () => {
    const { accountId, owner, admin } = await team();
    const second = await login(h, await addUser(h, accountId, 'owner'));
    const [demoted, promoted] = await Promise.all([
      h.request({ method: 'PATCH', url: `/v1/users/${second.userId}`, headers: asSession(owner), payload: { role: 'member' } }),
      h.request({ method: 'PATCH', url: `/v1/users/${admin.userId}`, headers: asSession(second), payload: { role: 'owner' } }),
    ]);
    expect(demoted.statusCode).toBe(200);
    if (promoted.statusCode === 200) {
      const events = await audit(owner);
      const demotion = events.find((e) => e.action === 'user.role_changed' && e.target.id === second.userId)!;
      const promotion = events.find((e) => e.action === 'user.role_changed' && e.target.id === admin.userId)!;
      // Expected: the rule sees the role "now" (under the account lock): a promotion by `second` must come before their demotion.
      expect(promotion.seq).toBeLessThan(demotion.seq);
    }
  });

  it('an owner removed while their request is in flight makes nobody an owner after the removal committed', async () => {
    const { accountId, owner, admin } = await team();
    const second = await login(h, await addUser(h, accountId, 'owner'));
    const [removed, promoted] = await Promise.all([
      h.request({ method: 'DELETE', url: `/v1/users/${second.userId}`, headers: asSession(owner) }),
      h.request({ method: 'PATCH', url: `/v1/users/${admin.userId}`, headers: asSession(second), payload: { role: 'owner' } }),
    ]);
    expect(removed.statusCode).toBe(204);
    if (promoted.statusCode === 200) {
      const events = await audit(owner);
      const removal = events.find((e) => e.action === 'user.removed' && e.target.id === second.userId)!;
      const promotion = events.find((e) => e.action === 'user.role_changed' && e.target.id === admin.userId)!;
      expect(promotion.seq).toBeLessThan(removal.seq);
    }
  });

  it('POST /v1/auth/password answers 429 once the budget is spent, a status its API document lists', async () => {
    const { owner } = await team();
    for (let i = 0; i < 10; i += 1) expectError(await changePassword(owner, `wrong password ${i}`, NEW_PASSWORD), 401, 'unauthorized');
    expectError(await changePassword(owner, 'wrong password 10', NEW_PASSWORD), 429, 'rate_limited');
  });
});

describe('what held in that round', () => {
  it('throttle: wrong current passwords spend the login budget, sequentially and in parallel', async () => {
    const { owner } = await team();
    const codes: number[] = [];
    for (let i = 0; i < 12; i += 1) codes.push((await h.app.inject({ method: 'POST', url: '/v1/auth/password', headers: asSession(owner), payload: { current_password: `wrong password ${i}`, new_password: NEW_PASSWORD } })).statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(10);
    const t = await team();
    const par = await Promise.all(Array.from({ length: 30 }, (_, i) => h.app.inject({ method: 'POST', url: '/v1/auth/password', headers: asSession(t.owner), payload: { current_password: `wrong password ${i}`, new_password: NEW_PASSWORD } })));
    expect(par.filter((r) => r.statusCode === 401).length).toBeLessThanOrEqual(10);
  });

  it('tokens: an admin-minted users:full token, and a demoted owner’s child token, may not change people', async () => {
    const { accountId, owner, admin, member } = await team();
    const second = await login(h, await addUser(h, accountId, 'owner'));
    const parent = await createToken(h, asSession(second), { name: 'p', scopes: ['users:full', 'tokens:full'] });
    const child = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(parent.secret), payload: { name: 'c', scopes: ['users:full'] } }), 201);
    const adminToken = await createToken(h, asSession(admin), { name: 'a', scopes: ['users:full'] });
    expectError(await h.request({ method: 'PATCH', url: `/v1/users/${member.userId}`, headers: bearer(adminToken.secret), payload: { role: 'admin' } }), 403, 'forbidden');
    expectError(await h.request({ method: 'PATCH', url: `/v1/users/${admin.userId}`, headers: bearer(child.secret), payload: { role: 'owner' } }), 403, 'forbidden');
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/users/${second.userId}`, headers: asSession(owner), payload: { role: 'admin' } }), 200);
    expectError(await h.request({ method: 'PATCH', url: `/v1/users/${member.userId}`, headers: bearer(child.secret), payload: { role: 'admin' } }), 403, 'forbidden');
    expectError(await h.request({ method: 'POST', url: '/v1/users', headers: bearer(child.secret), payload: { email: `zz${Date.now()}@example.com`, role: 'admin' } }), 403, 'forbidden');
  });

  it('a one-time password’s session reaches nothing but choosing a password', async () => {
    const { owner } = await team();
    const email = `otp-${Date.now()}@example.com`;
    const { password } = expectStatus(await h.request({ method: 'POST', url: '/v1/users', headers: asSession(owner), payload: { email, role: 'admin' } }), 201);
    const s = await login(h, email, password);
    for (const [method, url] of [['GET', '/v1/oauth/consent?request=abc'], ['HEAD', '/v1/tokens'], ['OPTIONS', '/v1/users'], ['GET', '/v1/audit?format=csv'], ['GET', '/v1/tokens?format=csv'], ['POST', '/mcp'], ['GET', '/v1/oauth/connections'], ['GET', '/v1/users/'], ['GET', '/V1/users'], ['GET', '/v1//users'], ['GET', '/v1/users?x=1'], ['GET', '/v1/catalog'], ['GET', '/v1/account']] as const) {
      try {
        const r = await h.request({ method, url, headers: asSession(s), payload: method === 'POST' ? {} : undefined });
        console.log(method, url, r.statusCode, r.body.slice(0, 150));
      } catch (e) { console.log(method, url, 'threw', String(e).slice(0, 200)); }
    }
  });

  it('echoes no password in a validation error', async () => {
    const { owner } = await team();
    const r = await changePassword(owner, PASSWORD, 'shortpw');
    console.log(r.statusCode, r.body);
    const r2 = await changePassword(owner, 'x'.repeat(2000), NEW_PASSWORD);
    console.log(r2.statusCode, r2.body.slice(0, 300));
    const r3 = await h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(owner), payload: { current_password: PASSWORD, new_password: NEW_PASSWORD, role: 'owner' } });
    console.log(r3.statusCode, r3.body.slice(0, 300));
    const r4 = await h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(owner), payload: { current_password: PASSWORD, new_password: 12345678901 } });
    console.log(r4.statusCode, r4.body.slice(0, 300));
    const r5 = await h.request({ method: 'POST', url: '/v1/auth/password', headers: { ...asSession(owner), 'content-type': 'application/json' }, payload: `{"current_password":"${PASSWORD}","new_password":"secret-passphrase-x",}` });
    console.log(r5.statusCode, r5.body.slice(0, 300));
  });

  it('answers hostile emails, ids and roles with a 4xx', async () => {
    const { owner, accountId } = await team();
    const other = await createAccount(h);
    const otherOwner = await login(h, other.ownerEmail);
    for (const payload of [{ email: 'A'.repeat(250) + '@x.co', role: 'member' }, { email: 'é@x.com', role: 'member' }, { email: ' ' + owner.email.toUpperCase() + ' ', role: 'member' }, { email: owner.email.replace('o', '\u00f6'), role: 'member' }, { email: 'x@x', role: 'member' }, { email: 'a@b.c', role: 'owner' }, { email: 'k@x.com', role: 'member', account_id: other.accountId }, { email: 'q@x.com', role: ['owner'] }, { email: 'q2@x.com', role: 'Owner' }, { email: 'q3@x.com\u0000', role: 'member' }]) {
      const r = await h.request({ method: 'POST', url: '/v1/users', headers: asSession(owner), payload });
      console.log(JSON.stringify(payload).slice(0, 80), r.statusCode, r.body.slice(0, 200));
    }
    for (const id of [otherOwner.userId, 'y'.repeat(5000), '../', '%00', 'usr_' + 'a'.repeat(30)]) {
      for (const method of ['PATCH', 'DELETE'] as const) {
        const r = await h.request({ method, url: `/v1/users/${encodeURIComponent(id)}`, headers: asSession(owner), payload: method === 'PATCH' ? { role: 'member' } : undefined });
        console.log(method, id.slice(0, 30), r.statusCode, r.body.slice(0, 150));
      }
    }
    const rr = await reset(accountId, otherOwner.userId);
    console.log('cross reset', rr.statusCode, rr.body.slice(0, 150));
  });
});
