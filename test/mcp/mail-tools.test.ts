import { beforeEach, describe, expect, it } from 'vitest';
import { asSession, createToken, expectStatus, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';
import { entriesOf, ERA_NAMES, textOf, twoDomains, withAgent } from './agent.js';

let h: Harness;
let base: string;
let owner: Session;
let alice: { id: string; address: string };
let bob: { id: string; address: string };
let domainA: { id: string; name: string };

shareApp({ app: (app) => (h = app), listening: (url) => (base = url) });
// Each test: an account of its own, alice@ in one domain, bob@ in another, and a message from bob to alice.
beforeEach(async () => {
  ({ owner, domainA, mailboxA: alice, mailboxB: bob } = await twoDomains(h, { a: 'alice', b: 'bob' }, { from: 'b', subject: 'Invoice 42', text: 'Please pay by Friday.' }));
});

const agent = (scopes: string[], extra: Record<string, unknown> = {}) =>
  createToken(h, asSession(owner), { name: `agent ${scopes.join(' ')}`, type: 'mcp', scopes, ...extra });
type Call = (name: string, args?: Record<string, unknown>) => Promise<{ structuredContent?: any; isError?: boolean; content?: unknown }>;

describe('the mail tools', () => {
  it.each(ERA_NAMES)('%s: an agent finds a message, reads it, marks it, files it, drafts a reply and sends it', async (era) => {
    const { secret } = await agent(['mcp:read', 'mcp:write', 'mcp:send']);
    await withAgent(base, secret, async (client) => {
      const call: Call = (name, args = {}) => client.callTool({ name, arguments: args }) as never;
      const found = await call('search_messages', { mailbox_id: alice.id, text: 'invoice', folder: 'inbox' });
      expect(found.isError).toBeFalsy();
      const [hit] = found.structuredContent.messages;
      expect(hit).toMatchObject({ from: bob.address, subject: 'Invoice 42', read: false, snippet: 'Please pay by Friday.' });
      expect(textOf(found)).toContain('1 message, newest first');
      expect((await call('read_message', { message_id: hit.id })).structuredContent.message).toMatchObject({ text: 'Please pay by Friday.', read: false });
      expect((await call('mark_message', { message_id: hit.id, read: true })).structuredContent.message.read).toBe(true);
      expect((await call('move_message', { message_id: hit.id, folder: 'archive' })).structuredContent.message.folder).toBe('archive');
      const draft = (await call('create_draft', { mailbox_id: alice.id, to: [bob.address], subject: 'Re: Invoice 42', text: 'Paid.' })).structuredContent.draft;
      expect(draft).toMatchObject({ folder: 'drafts', from: alice.address });
      expect((await call('send_draft', { message_id: draft.id })).structuredContent).toEqual({ accepted: [bob.address], delivered_locally: [bob.address] });
      const sent = await call('send_email', { from_mailbox_id: alice.id, to: [bob.address], subject: 'Receipt', text: 'Attached.' });
      expect(textOf(sent)).toBe(`Sent to ${bob.address}. Delivered at once to ${bob.address}.`);
    });
    const inbox = expectStatus(await h.request({ method: 'GET', url: `/v1/messages?mailbox_id=${bob.id}&folder=inbox`, headers: asSession(owner) }), 200);
    expect(inbox.data.map((m: { subject: string }) => m.subject)).toEqual(['Receipt', 'Re: Invoice 42']);
  });

  it('refuses each tool the token’s scopes do not open, naming the scope, and changes nothing', async () => {
    const { secret } = await agent(['mcp:read']);
    await withAgent(base, secret, async (client) => {
      const [message] = ((await client.callTool({ name: 'search_messages', arguments: {} })).structuredContent as { messages: unknown }).messages as { id: string }[];
      for (const [name, args, scope] of [
        ['mark_message', { message_id: message!.id, read: true }, 'mcp:write'],
        ['create_draft', { mailbox_id: alice.id, to: [bob.address], subject: 's', text: 't' }, 'mcp:write'],
        ['send_email', { from_mailbox_id: alice.id, to: [bob.address], subject: 's', text: 't' }, 'mcp:send'],
      ] as const) {
        const refused = await client.callTool({ name, arguments: args });
        expect(refused.isError).toBe(true);
        expect(textOf(refused)).toContain(`'${scope}'`);
      }
    });
    const all = expectStatus(await h.request({ method: 'GET', url: '/v1/messages', headers: asSession(owner) }), 200);
    expect(all.data.map((m: { folder: string; read: boolean }) => [m.folder, m.read]).sort()).toEqual([['inbox', false], ['sent', true]]);
  });

  it('refuses a NUL in any text argument, as the REST API does, so that no filter is cut short and nothing is stored', async () => {
    const { secret } = await agent(['mcp:read', 'mcp:write']);
    await withAgent(base, secret, async (client) => {
      for (const args of [{ from: '\u0000' }, { text: 'x\u0000' }]) {
        const refused = await client.callTool({ name: 'search_messages', arguments: args });
        expect(refused.isError).toBe(true);
        expect(textOf(refused)).toMatch(/^invalid_request: .*holds no NUL character/);
      }
      const draft = await client.callTool({ name: 'create_draft', arguments: { mailbox_id: alice.id, to: [bob.address], subject: 's\u0000x', text: 't' } });
      expect(textOf(draft)).toMatch(/^invalid_request: invalid arguments for create_draft: subject: holds no NUL character/);
    });
    const drafts = expectStatus(await h.request({ method: 'GET', url: `/v1/messages?folder=drafts`, headers: asSession(owner) }), 200);
    expect(drafts.data).toEqual([]);
  });

  it('shows a domain-constrained agent only its domains’ mail: another domain’s message is as absent as none', async () => {
    const { secret } = await agent(['mcp:read', 'mcp:write', 'mcp:send'], { domains: [domainA.id] });
    await withAgent(base, secret, async (client) => {
      const found = ((await client.callTool({ name: 'search_messages', arguments: {} })).structuredContent as { messages: unknown }).messages as { mailbox_id: string }[];
      expect(found.map((m) => m.mailbox_id)).toEqual([alice.id]);
      const bobsCopy = expectStatus(await h.request({ method: 'GET', url: `/v1/messages?mailbox_id=${bob.id}`, headers: asSession(owner) }), 200).data[0].id;
      const outside = await client.callTool({ name: 'read_message', arguments: { message_id: bobsCopy } });
      const missing = await client.callTool({ name: 'read_message', arguments: { message_id: 'msg_01HZZZZZZZZZZZZZZZZZZZZZZZ' } });
      expect(outside).toEqual(missing);
      expect(textOf(outside)).toBe('not_found: message not found');
      expect(textOf(await client.callTool({ name: 'send_email', arguments: { from_mailbox_id: bob.id, to: [alice.address], subject: 's', text: 't' } })))
        .toBe('not_found: mailbox not found');
    });
  });

  it('holds a message token to its mailbox: it searches and sends from there only', async () => {
    const minted = expectStatus(await h.request({
      method: 'POST', url: `/v1/mailboxes/${alice.id}/message-tokens`, headers: asSession(owner), payload: { name: 'alice agent', scopes: ['messages:read', 'messages:send'] },
    }), 201);
    await withAgent(base, minted.secret, async (client) => {
      const found = ((await client.callTool({ name: 'search_messages', arguments: {} })).structuredContent as { messages: unknown }).messages as { mailbox_id: string }[];
      expect(found.map((m) => m.mailbox_id)).toEqual([alice.id]);
      expect(textOf(await client.callTool({ name: 'search_messages', arguments: { mailbox_id: bob.id } }))).toBe('not_found: mailbox not found');
      const sent = await client.callTool({ name: 'send_email', arguments: { to: [bob.address], subject: 'From the agent', text: 'hi' } });
      expect(sent.structuredContent).toEqual({ accepted: [bob.address], delivered_locally: [] });
      expect(textOf(await client.callTool({ name: 'send_email', arguments: { from_mailbox_id: bob.id, to: [alice.address], subject: 's', text: 't' } })))
        .toBe('not_found: mailbox not found');
    });
    const entries = await entriesOf(h, owner, minted.token.id);
    expect(entries.filter((e) => String(e.route).startsWith('mcp:')).map((e) => [e.route, e.status])).toEqual([
      ['mcp:search_messages', 200], ['mcp:search_messages', 404], ['mcp:send_email', 200], ['mcp:send_email', 404],
    ]);
  });
});
