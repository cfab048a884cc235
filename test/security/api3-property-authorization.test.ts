/**
 * OWASP API3:2023 Broken Object Property Level Authorization: fields a caller may not set
 * (mass assignment) and fields a caller may not see (excessive exposure).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectError, expectStatus, login } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
beforeAll(async () => ({ h, a } = await world()));
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

const TOKEN_FIELDS = [
  'id', 'name', 'description', 'type', 'status', 'scopes', 'domains', 'mailbox_id', 'ip_allowlist', 'visible_prefix', 'last4', 'created_at', 'created_by',
  'expires_at', 'first_used_at', 'last_used_at', 'last_used_ip', 'revoked_at', 'rotated_from', 'rotated_to',
  // Beyond the spec's list, and harmless: what the plan allows today, pause and revoke details, the rate limit.
  'effective_scopes', 'paused_at', 'revoke_reason', 'rate_limit',
];

describe('API3 broken object property level authorization', () => {
  it.each([
    ['hash', 'x'.repeat(43)],
    ['account_id', 'acc_01JZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['status', 'active'],
    ['created_by', { type: 'user', id: 'usr_x', name: 'someone else' }],
    ['id', 'tok_01JZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['visible_prefix', 'lk_live_AAAAAAAA'],
    ['revoked_at', null],
    ['secret', 'lk_live_chosen'],
  ])('refuses %s in a new token’s body (mass assignment)', async (field, value) => {
    const before = (await h.store.db.selectFrom('tokens').select('id').execute()).length;
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: a.session, payload: { name: 'mass', scopes: ['domains:read'], [field]: value } }), 400, 'invalid_request');
    expect((await h.store.db.selectFrom('tokens').select('id').execute()).length).toBe(before);
  });

  it.each([
    ['status', 'active'],
    ['revoked_at', null],
    ['hash', 'x'.repeat(43)],
    ['account_id', 'acc_01JZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['type', 'mcp'],
    ['created_by', { type: 'user', id: 'usr_x', name: 'x' }],
  ])('refuses %s in a token update, and the stored row keeps its value', async (field, value) => {
    const row = () => h.store.db.selectFrom('tokens').selectAll().where('id', '=', a.reader.token.id).executeTakeFirstOrThrow();
    const before = await row();
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${a.reader.token.id}`, headers: a.session, payload: { [field]: value } }), 400, 'invalid_request');
    expect(await row()).toEqual(before);
  });

  it('shows a token with exactly the spec’s fields: no hash, no secret, no account id', async () => {
    const one = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${a.full.token.id}`, headers: a.session }), 200).token;
    expect(Object.keys(one).sort()).toEqual([...TOKEN_FIELDS].sort());
    const list = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens', headers: a.session }), 200);
    for (const token of list.data) expect(Object.keys(token).sort()).toEqual([...TOKEN_FIELDS].sort());
    expect(JSON.stringify(list)).not.toContain(a.full.secret);
  });

  it('answers a rotation with the new secret once, and the previous token without one', async () => {
    const rotated = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${a.reader.token.id}/rotate`, headers: a.session, payload: {} }), 200);
    expect(Object.keys(rotated).sort()).toEqual(['previous', 'secret', 'token']);
    expect(Object.keys(rotated.previous).sort()).toEqual([...TOKEN_FIELDS].sort());
    const again = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${rotated.token.id}`, headers: a.session }), 200).token;
    expect(JSON.stringify(again)).not.toContain(rotated.secret);
  });

  it('never returns a password hash or session secret about a user', async () => {
    const response = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: a.owner.email, password: 'correct horse battery staple' } });
    const body = expectStatus(response, 200);
    expect(JSON.stringify(body)).not.toMatch(/password|\$argon2/);
    const session = await login(h, a.owner.email);
    const me = await h.request({ method: 'GET', url: '/v1/auth/session', headers: { cookie: session.cookie } });
    if (me.statusCode === 200) expect(me.body).not.toMatch(/password|\$argon2/);
  });

  it('does not expose the verified token’s hash or secret through /v1/verify', async () => {
    const answer = expectStatus(await h.request({ method: 'POST', url: '/v1/verify', headers: { authorization: `Bearer ${h.operatorToken}` }, payload: { token: a.full.secret } }), 200);
    expect(answer.valid).toBe(true);
    expect(JSON.stringify(answer)).not.toContain(a.full.secret);
    expect(Object.keys(answer.token)).not.toContain('hash');
  });
});
