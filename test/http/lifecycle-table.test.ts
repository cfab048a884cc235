/**
 * The lifecycle table (`src/core/lifecycle.ts`), cell by cell, through the HTTP API: for every
 * state a token can be in and every management action, the API does what the table says and no
 * more. The cells are generated from the table itself, so a new state or action is tested the
 * moment it is added.
 */
import { describe, expect, it } from 'vitest';
import { TOKEN_ACTIONS, type TokenAction } from '../../src/core/authority.js';
import { LIFECYCLE, LIFECYCLE_STATES, type LifecycleState } from '../../src/core/lifecycle.js';
import { asSession, bearer, createToken, expectStatus, login, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

const headers = () => asSession(owner);

/** A token in `state`, made through the API; the owner's session is fresh afterwards. */
async function tokenIn(state: LifecycleState): Promise<{ id: string; secret: string }> {
  const { token, secret } = await createToken(h, headers(), { name: `in ${state}`, scopes: ['domains:read'], expires_in: state === 'expired' ? '1s' : '30d' });
  const post = (action: string, payload = {}) => h.request({ method: 'POST', url: `/v1/tokens/${token.id}/${action}`, headers: headers(), payload });
  if (state === 'paused') expectStatus(await post('pause'), 200);
  if (state === 'revoked') expectStatus(await post('revoke'), 200);
  if (state === 'superseded') expectStatus(await post('rotate', { grace_period: '1h' }), 200);
  if (state === 'expired') h.clock.advance(1000);
  owner = await login(h, owner.email);
  return { id: token.id, secret };
}

const REQUEST: Record<TokenAction, (id: string) => { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: object }> = {
  read: (id) => ({ method: 'GET', url: `/v1/tokens/${id}` }),
  rename: (id) => ({ method: 'PATCH', url: `/v1/tokens/${id}`, payload: { name: 'renamed', description: 'new words' } }),
  edit: (id) => ({ method: 'PATCH', url: `/v1/tokens/${id}`, payload: { scopes: ['domains:full'], expires_in: '90d' } }),
  pause: (id) => ({ method: 'POST', url: `/v1/tokens/${id}/pause`, payload: {} }),
  resume: (id) => ({ method: 'POST', url: `/v1/tokens/${id}/resume`, payload: {} }),
  rotate: (id) => ({ method: 'POST', url: `/v1/tokens/${id}/rotate`, payload: {} }),
  revoke: (id) => ({ method: 'POST', url: `/v1/tokens/${id}/revoke`, payload: {} }),
  delete: (id) => ({ method: 'DELETE', url: `/v1/tokens/${id}` }),
};

/** What the token looks like to its owner, leaving out what use changes. */
async function snapshot(id: string) {
  const response = await h.request({ method: 'GET', url: `/v1/tokens/${id}`, headers: headers() });
  if (response.statusCode === 404) return null;
  const { first_used_at: _first, last_used_at: _last, last_used_ip: _ip, ...rest } = expectStatus(response, 200).token;
  return rest;
}

const auditCount = async () => (await h.store.db.selectFrom('audit_events').select('id').where('account_id', '=', owner.accountId).execute()).length;
const use = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });

/** What a successful action leaves behind, as the owner and the token's own secret see it. */
const EFFECT: Record<TokenAction, (after: any, secret: string) => Promise<void>> = {
  read: async () => undefined,
  rename: async (after) => expect(after).toMatchObject({ name: 'renamed', description: 'new words' }),
  edit: async (after) => expect(after.scopes).toEqual(['domains:full']),
  pause: async (after, secret) => {
    expect(after.status).toBe('paused');
    expect((await use(secret)).statusCode).toBe(401);
  },
  resume: async (after, secret) => {
    expect(after.status).toBe('active');
    expect((await use(secret)).statusCode).toBe(200);
  },
  rotate: async (after) => expect(after.rotated_to).toEqual(expect.any(String)),
  revoke: async (after, secret) => {
    expect(after.status).toBe('revoked');
    expect((await use(secret)).statusCode).toBe(401);
  },
  delete: async (after, secret) => {
    expect(after).toBeNull();
    expect((await use(secret)).statusCode).toBe(401);
  },
};

const CELLS = LIFECYCLE_STATES.flatMap((state) => TOKEN_ACTIONS.map((action) => ({ state, action, acceptance: LIFECYCLE[state][action] })));

describe('the lifecycle table, through the API', () => {
  it.each(CELLS)('$state × $action: $acceptance', async ({ state, action, acceptance }) => {
    const { id, secret } = await tokenIn(state);
    const before = await snapshot(id);
    // A rotated token keeps working through its grace period, so the API shows it as active with a successor.
    expect(before?.rotated_to ? 'superseded' : before?.status, 'the token is in the state the cell is about').toBe(state);
    const events = await auditCount();
    const response = await h.request({ ...REQUEST[action](id), headers: headers() });
    if (acceptance === 'no') {
      expect(response.statusCode, response.body).toBe(409);
      expect(response.json().error).toMatchObject({ code: 'conflict', details: { state, action } });
      expect(await snapshot(id)).toEqual(before);
      expect(await auditCount()).toBe(events);
      return;
    }
    expect(response.statusCode, response.body).toBeLessThan(300);
    if (acceptance === 'unchanged' || action === 'read') {
      expect(await snapshot(id)).toEqual(before);
      expect(await auditCount()).toBe(events);
      return;
    }
    expect(await auditCount()).toBeGreaterThan(events);
    await EFFECT[action](await snapshot(id), secret);
  });

  it('rotates a paused token into a paused successor: a rotation never hands out a working secret', async () => {
    const { id } = await tokenIn('paused');
    const rotated = expectStatus(await h.request({ ...REQUEST.rotate(id), headers: headers() }), 200);
    expect(rotated.token).toMatchObject({ status: 'paused', paused_at: expect.any(String) });
    expect((await use(rotated.secret)).json().error.code).toBe('token_paused');
    expectStatus(await h.request({ ...REQUEST.resume(rotated.token.id), headers: headers() }), 200);
    expectStatus(await use(rotated.secret), 200);
  });
});
