import { beforeEach, describe, expect, it } from 'vitest';
import { asSession, createToken, expectStatus, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';
import { connectAgent, entriesOf, ERA_NAMES, textOf, twoDomains, withAgent } from './agent.js';

let h: Harness;
let base: string;
let owner: Session;
let domainA: { id: string; name: string };
let domainB: { id: string; name: string };
let inboxA: { id: string; address: string };

shareApp({ app: (app) => (h = app), listening: (url) => (base = url) });
// Each test gets an account of its own, with two domains, a mailbox in each and a message between them.
beforeEach(async () => {
  ({ owner, domainA, domainB, mailboxA: inboxA } = await twoDomains(h, { a: 'inbox', b: 'sales' }, { from: 'a', subject: 'Quarterly numbers', text: 'attached' }));
});

const agentToken = async (scopes: string[], extra: Record<string, unknown> = {}) =>
  createToken(h, asSession(owner), { name: `agent ${scopes.join(' ')}`, type: 'mcp', scopes, ...extra });

const messageToken = async (scopes: string[]) => {
  const body = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${inboxA.id}/message-tokens`, headers: asSession(owner), payload: { name: 'inbox agent', scopes } }), 201);
  return { token: body.token as { id: string }, secret: body.secret as string };
};

describe('tools/list', () => {
  it.each([
    [['mcp:read'], ['whoami', 'list_domains', 'list_mailboxes', 'list_activity', 'search_messages', 'read_message']],
    [['mcp:read', 'mcp:write', 'mcp:send'], [
      'whoami', 'list_domains', 'list_mailboxes', 'list_activity', 'search_messages', 'read_message',
      'create_mailbox', 'mark_message', 'move_message', 'create_draft', 'send_email', 'send_draft',
    ]],
    [['mcp:write'], ['create_mailbox', 'mark_message', 'move_message', 'create_draft']],
    [['mcp:send'], ['send_email', 'send_draft']],
  ])('an AI-agent token with %j sees %j', async (scopes, tools) => {
    const { secret } = await agentToken(scopes);
    const listed = await withAgent(base, secret, (client) => client.listTools());
    expect(listed.tools.map((t) => t.name)).toEqual(tools);
  });

  it.each([
    [['messages:read'], ['whoami', 'search_messages', 'read_message']],
    [['messages:send'], ['send_email']],
  ])('a message token with %j sees %j', async (scopes, tools) => {
    const { secret } = await messageToken(scopes);
    expect((await withAgent(base, secret, (client) => client.listTools())).tools.map((t) => t.name)).toEqual(tools);
  });

  it('describes every tool for a model: a description, an object input schema, an output schema, read-only hints', async () => {
    const { secret } = await agentToken(['mcp:read']);
    const { tools } = await withAgent(base, secret, (client) => client.listTools());
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(60);
      expect(tool.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.outputSchema).toMatchObject({ type: 'object' });
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    }
    const mailboxes = tools.find((t) => t.name === 'list_mailboxes')!;
    expect(mailboxes.inputSchema.required).toEqual(['domain_id']);
    expect(Object.keys(mailboxes.inputSchema.properties!)).toEqual(['domain_id', 'limit', 'cursor']);
  });
});

describe('each tool, in each protocol era', () => {
  it.each(ERA_NAMES)('%s: whoami, list_domains, list_mailboxes and list_activity answer with structured content and text', async (era) => {
    const { secret, token } = await agentToken(['mcp:read', 'mcp:send'], { expires_in: '30d', rate_limit: { requests: 1000, per: '1m' } });
    const agent = await connectAgent(base, secret, era);
    try {
      const { client } = agent;
      const me = await client.callTool({ name: 'whoami', arguments: {} });
      expect(me.isError).toBeFalsy();
      expect(me.structuredContent).toMatchObject({
        token: { id: token.id, type: 'mcp', name: 'agent mcp:read mcp:send' },
        plan: 'pro',
        scopes: [
          { scope: 'mcp:read', meaning: 'lets you call whoami, list_domains, list_mailboxes, list_activity, search_messages, read_message' },
          { scope: 'mcp:send', meaning: 'lets you call send_email, send_draft' },
        ],
        domains: null, mailbox: null, ip_allowlist: null,
        rate_limit: { requests: 1000, per_seconds: 60 },
        expires_at: token.expires_at,
        tools: ['whoami', 'list_domains', 'list_mailboxes', 'list_activity', 'search_messages', 'read_message', 'send_email', 'send_draft'],
      });
      expect(textOf(me)).toContain('every domain of the account');

      const domains = await client.callTool({ name: 'list_domains', arguments: { limit: 1 } });
      expect(domains.structuredContent).toMatchObject({ domains: [{ id: domainB.id, name: domainB.name }], next_cursor: domainB.id });
      const rest = await client.callTool({ name: 'list_domains', arguments: { cursor: domainB.id } });
      expect(rest.structuredContent).toMatchObject({ domains: [{ id: domainA.id }], next_cursor: null });
      expect(textOf(rest)).toContain(domainA.name);

      const mailboxes = await client.callTool({ name: 'list_mailboxes', arguments: { domain_id: domainA.id } });
      expect(mailboxes.structuredContent).toMatchObject({ mailboxes: [{ id: inboxA.id, address: inboxA.address, domain_id: domainA.id }], next_cursor: null });

      const activity = await client.callTool({ name: 'list_activity', arguments: {} });
      const events = (activity.structuredContent as { events: { event: string; domain_id: string; subject: string }[] }).events;
      expect(events.map((e) => [e.event, e.domain_id]).sort()).toEqual([['accepted', domainA.id], ['delivered', domainB.id]].sort());
      expect(textOf(activity)).toContain('Quarterly numbers');
    } finally {
      await agent.close();
    }
  });
});

describe('refusals', () => {
  it('answers a tool outside the token’s scopes with a tool error naming the missing scope', async () => {
    const { secret } = await agentToken(['mcp:send']);
    await withAgent(base, secret, async (client) => {
      const refused = await client.callTool({ name: 'list_domains', arguments: {} });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe("insufficient_scope: this token lacks the 'mcp:read' scope");
    });
  });

  it('holds a message token to its mailbox’s tools, and tells it which scope and token type the other tools need', async () => {
    const { secret, token } = await messageToken(['messages:read']);
    await withAgent(base, secret, async (client) => {
      const me = await client.callTool({ name: 'whoami', arguments: {} });
      expect(me.structuredContent).toMatchObject({
        token: { id: token.id, type: 'message' }, mailbox: { id: inboxA.id, address: inboxA.address }, domains: [{ id: domainA.id, name: domainA.name }], tools: ['whoami', 'search_messages', 'read_message'],
      });
      expect(textOf(me)).toContain(`the mailbox ${inboxA.address} only`);
      for (const name of ['list_domains', 'list_mailboxes', 'list_activity']) {
        const refused = await client.callTool({ name, arguments: name === 'list_mailboxes' ? { domain_id: domainA.id } : {} });
        expect(refused.isError).toBe(true);
        expect(textOf(refused)).toMatch(/^insufficient_scope: .* needs an AI-agent token \(lk_mcp_\) with the 'mcp:read' scope/);
      }
    });
  });

  it('treats a domain outside the token’s constraint exactly as one that does not exist', async () => {
    const { secret } = await agentToken(['mcp:read'], { domains: [domainA.id] });
    await withAgent(base, secret, async (client) => {
      expect((await client.callTool({ name: 'list_domains', arguments: {} })).structuredContent).toEqual({ domains: [expect.objectContaining({ id: domainA.id })], next_cursor: null });
      const outside = await client.callTool({ name: 'list_mailboxes', arguments: { domain_id: domainB.id } });
      const missing = await client.callTool({ name: 'list_mailboxes', arguments: { domain_id: 'dom_01HZZZZZZZZZZZZZZZZZZZZZZZ' } });
      expect(outside).toEqual(missing);
      expect(outside.isError).toBe(true);
      expect(textOf(outside)).toBe('not_found: domain not found');
      const events = (await client.callTool({ name: 'list_activity', arguments: {} })).structuredContent as { events: { domain_id: string }[] };
      expect(events.events.map((e) => e.domain_id)).toEqual([domainA.id]);
      expect((await client.callTool({ name: 'whoami', arguments: {} })).structuredContent).toMatchObject({ domains: [{ id: domainA.id, name: domainA.name }] });
    });
  });

  it('answers wrong arguments with a tool error naming the argument, and an unknown tool with a JSON-RPC error', async () => {
    const { secret } = await agentToken(['mcp:read']);
    await withAgent(base, secret, async (client) => {
      for (const args of [{ domain_id: 5 }, {}, { domain_id: domainA.id, limit: 0 }, { domain_id: domainA.id, cursor: 'yesterday' }, { domain_id: domainA.id, colour: 'red' }]) {
        const wrong = await client.callTool({ name: 'list_mailboxes', arguments: args });
        expect(wrong.isError).toBe(true);
        expect(textOf(wrong)).toMatch(/^invalid_request: invalid arguments for list_mailboxes: /);
      }
      await expect(client.callTool({ name: 'delete_everything', arguments: {} })).rejects.toThrow(/Unknown tool 'delete_everything'/);
    });
  });
});

describe('access log', () => {
  it('writes an entry per tool call: mcp:<tool>, status, error code, duration, and the argument names without their values', async () => {
    const { secret, token } = await agentToken(['mcp:read']);
    await withAgent(base, secret, async (client) => {
      await client.callTool({ name: 'list_domains', arguments: { limit: 5 } });
      await client.callTool({ name: 'list_mailboxes', arguments: { domain_id: domainB.id, limit: 3 } });
      await client.callTool({ name: 'list_mailboxes', arguments: { domain_id: 'dom_01HZZZZZZZZZZZZZZZZZZZZZZZ' } });
      await client.callTool({ name: 'list_activity', arguments: { limit: 'many' } });
    });
    const entries = await entriesOf(h, owner, token.id);
    const calls = entries.filter((e) => String(e.route).startsWith('mcp:'));
    expect(calls.map((e) => [e.route, e.status, e.error_code, e.request_summary])).toEqual([
      ['mcp:list_domains', 200, null, 'arguments: limit'],
      ['mcp:list_mailboxes', 200, null, 'arguments: domain_id, limit'],
      ['mcp:list_mailboxes', 404, 'not_found', 'arguments: domain_id'],
      ['mcp:list_activity', 400, 'invalid_request', 'arguments: limit'],
    ]);
    for (const entry of calls) {
      expect(entry).toMatchObject({ method: 'POST', path: '/mcp', token_name: 'agent mcp:read', ip: '127.0.0.1', user_agent: 'mcp-test-agent/1.0' });
      expect(entry.duration_ms).toBeGreaterThanOrEqual(0);
    }
    // The handshake and the listing are requests too, named by their method.
    expect(entries.filter((e) => e.route === '/mcp').map((e) => e.request_summary)).toContain('method: initialize');
    expect(JSON.stringify(entries)).not.toContain(domainB.id);
  });
});
