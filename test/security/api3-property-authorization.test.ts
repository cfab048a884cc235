/**
 * OWASP API3:2023 Broken Object Property Level Authorization: fields a caller may not set
 * (mass assignment) and fields a caller may not see (excessive exposure).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createToken, expectError, expectStatus, login } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { TOOL_SCOPES, TOOLS } from '../../src/mcp/tools.js';
import { agentToken, callTool, listening, mailTo, signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
let b: Party;
let base: string;
beforeAll(async () => {
  ({ h, a, b } = await world());
  base = await listening(h);
});
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

const TOKEN_FIELDS = [
  'id', 'name', 'description', 'type', 'status', 'scopes', 'domains', 'mailbox_id', 'ip_allowlist', 'visible_prefix', 'last4', 'created_at', 'created_by',
  'expires_at', 'first_used_at', 'last_used_at', 'last_used_ip', 'revoked_at', 'rotated_from', 'rotated_to',
  // Beyond the spec's list, and harmless: what the plan allows today, pause and revoke details, the rate limit,
  // the connected agent (its grant id and client name) an OAuth-issued token belongs to, and whether its creator was removed.
  'effective_scopes', 'paused_at', 'revoke_reason', 'rate_limit', 'connected_agent', 'created_by_removed',
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
    // Only the flag that asks for a new password names one; no value or hash of one, under any key.
    expect(JSON.stringify(body).replaceAll('"password_change_required":false', '')).not.toMatch(/password|\$argon2/);
    const session = await login(h, a.owner.email);
    const me = await h.request({ method: 'GET', url: '/v1/auth/session', headers: { cookie: session.cookie } });
    if (me.statusCode === 200) expect(me.body.replaceAll('"password_change_required":false', '')).not.toMatch(/password|\$argon2/);
  });

  it('does not expose the verified token’s hash or secret through /v1/verify', async () => {
    const answer = expectStatus(await h.request({ method: 'POST', url: '/v1/verify', headers: { authorization: `Bearer ${h.operatorToken}` }, payload: { token: a.full.secret } }), 200);
    expect(answer.valid).toBe(true);
    expect(JSON.stringify(answer)).not.toContain(a.full.secret);
    expect(Object.keys(answer.token)).not.toContain('hash');
  });
});

/** What whoami may say of a token: its own access, and nothing of how it is stored or who made it. */
const WHOAMI_FIELDS = ['token', 'account_id', 'plan', 'scopes', 'scopes_not_on_plan', 'domains', 'mailbox', 'ip_allowlist', 'rate_limit', 'expires_at', 'tools'];

describe('API3 broken object property level authorization, through MCP', () => {
  it('answers no tool call with a secret, a token hash, a session hash or a password hash', async () => {
    const agent = await agentToken(h, a, ['mcp:read', 'mcp:write', 'mcp:send']);
    const message = await mailTo(h, a, a.mailbox, 'hash hunt');
    const calls: [string, string, Record<string, unknown>][] = [
      [agent.secret, 'whoami', {}], [agent.secret, 'list_domains', {}], [agent.secret, 'list_mailboxes', { domain_id: a.domain.id }],
      [agent.secret, 'list_activity', {}], [agent.secret, 'search_messages', {}], [agent.secret, 'read_message', { message_id: message }],
      [agent.secret, 'create_mailbox', { domain_id: a.domain.id, local_part: `hunt${Date.now()}` }], [agent.secret, 'mark_message', { message_id: message, read: true }],
      [agent.secret, 'create_draft', { mailbox_id: a.mailbox.id, to: ['x@example.com'], subject: 'hunt', text: 'hunt' }],
      [a.message.secret, 'whoami', {}], [a.message.secret, 'search_messages', {}], [a.message.secret, 'read_message', { message_id: message }],
    ];
    const answers: string[] = [];
    for (const [secret, tool, args] of calls) {
      const answer = await callTool(base, secret, tool, args);
      expect(answer.result?.isError, `${tool}: ${answer.text}`).toBeFalsy();
      answers.push(answer.raw);
    }
    const all = answers.join('\n');
    const tokens = await h.store.db.selectFrom('tokens').select(['hash', 'ancestry', 'lineage_id']).execute();
    const sessions = await h.store.db.selectFrom('sessions').select(['hash', 'csrf_hash']).execute();
    const users = await h.store.db.selectFrom('users').select('password_hash').execute();
    const forbidden = [
      agent.secret, a.full.secret, a.reader.secret, a.message.secret, b.full.secret, b.message.secret, h.operatorToken,
      ...tokens.map((t) => t.hash), ...sessions.flatMap((s) => [s.hash, s.csrf_hash]), ...users.map((u) => u.password_hash),
    ];
    expect(forbidden.filter((value) => all.includes(value)).map((value) => value.slice(0, 12))).toEqual([]);
    // Nor the names of stored fields a tool has no business passing on (a structured result is JSON in a JSON string).
    expect(all).not.toMatch(/\\?"(hash|password_hash|csrf_hash|secret|ancestry|lineage_id|created_by\w*|deleted_at)\\?":/);
    expect(all).not.toContain('$argon2');
  });

  it('whoami of a narrowed token lists exactly its own access: scopes, domain, allowlist, limit, expiry and tools', async () => {
    const other = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: `whoami-other-${Date.now()}.example.com` } }), 201).domain;
    const { secret, token } = await agentToken(h, a, ['mcp:read', 'mcp:write'], {
      domains: [a.domain.id], ip_allowlist: ['127.0.0.1', '10.0.0.0/8'], rate_limit: { requests: 50, per: '1m' }, expires_in: '7d',
    });
    const me = await callTool(base, secret, 'whoami');
    const structured = me.result!.structuredContent;
    expect(Object.keys(structured).sort()).toEqual([...WHOAMI_FIELDS].sort());
    const mayCall = TOOLS.map((t) => t.name).filter((name) => ['mcp:read', 'mcp:write'].includes(TOOL_SCOPES[name].mcp));
    expect(structured).toEqual({
      token: { id: token.id, name: 'agent mcp:read mcp:write', type: 'mcp' },
      account_id: a.owner.accountId,
      plan: 'pro',
      scopes: [{ scope: 'mcp:read', meaning: expect.stringMatching(/^lets you call whoami, /) }, { scope: 'mcp:write', meaning: expect.stringMatching(/^lets you call create_mailbox, /) }],
      scopes_not_on_plan: [],
      domains: [{ id: a.domain.id, name: a.domain.name }],
      mailbox: null,
      ip_allowlist: ['127.0.0.1', '10.0.0.0/8'],
      rate_limit: { requests: 50, per_seconds: 60 },
      expires_at: token.expires_at,
      tools: mayCall,
    });
    expect(me.raw).not.toContain(other.id);
    expect(me.raw).not.toContain(other.name);
    // A message token's whoami names its one mailbox and no domain list.
    const bound = (await callTool(base, a.message.secret, 'whoami')).result!.structuredContent;
    expect(bound).toMatchObject({ mailbox: { id: a.mailbox.id, address: a.mailbox.address }, tools: ['whoami', 'search_messages', 'read_message', 'send_email'] });
  });

  it('whoami of a message token minted by another token names neither its parent nor who made it', async () => {
    // An agent token cannot be minted by a token at all; a message token can, by an api token allowed to.
    const minter = await createToken(h, a.session, { name: 'minter of agents', scopes: ['message_tokens:full', 'messages:read'] });
    const child = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${a.mailbox.id}/message-tokens`, headers: bearer(minter.secret), payload: { name: 'minted agent', scopes: ['messages:read'] } }), 201);
    const me = await callTool(base, child.secret, 'whoami');
    expect(me.result?.structuredContent.token).toEqual({ id: child.token.id, name: 'minted agent', type: 'message' });
    for (const parent of [minter.token.id, 'minter of agents', a.owner.userId, a.owner.email]) expect(me.raw).not.toContain(parent);
  });
});
