/**
 * OWASP API1:2023 Broken Object Level Authorization. Another account's objects must be exactly as
 * invisible as objects that do not exist: same status, same body.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, expectError, expectStatus } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import {
  agentToken, callTool, draftIn, GHOST_MESSAGE, listening, mailState, mailTo, messageAsOwner, notFoundShape, signInAgain, world, type McpAnswer, type Party,
} from './world.js';

let h: Harness;
let a: Party;
let b: Party;
let base: string;
beforeAll(async () => {
  ({ h, a, b } = await world());
  base = await listening(h);
});
beforeEach(() => signInAgain(h, a, b));
afterAll(() => h.close());

const GHOST_TOKEN = 'tok_01JZZZZZZZZZZZZZZZZZZZZZZZ';
const GHOST_DOMAIN = 'dom_01JZZZZZZZZZZZZZZZZZZZZZZZ';
const GHOST_MAILBOX = 'mbx_01JZZZZZZZZZZZZZZZZZZZZZZZ';

async function sameAsNonexistent(method: 'GET' | 'PATCH' | 'POST' | 'DELETE', template: string, theirs: string, ghost: string, headers: Record<string, string>, payload?: unknown) {
  const request = (id: string) => h.request({ method, url: template.replace(':id', id), headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const other = await request(theirs);
  const none = await request(ghost);
  expect(other.statusCode).toBe(404);
  expect(notFoundShape(other, theirs, 'ID')).toEqual(notFoundShape(none, ghost, 'ID'));
}

describe('API1 broken object level authorization', () => {
  it('another account’s token id reads as nonexistent on GET, PATCH and DELETE', async () => {
    await sameAsNonexistent('GET', '/v1/tokens/:id', b.full.token.id, GHOST_TOKEN, a.session);
    await sameAsNonexistent('PATCH', '/v1/tokens/:id', b.full.token.id, GHOST_TOKEN, a.session, { name: 'mine now' });
    await sameAsNonexistent('DELETE', '/v1/tokens/:id', b.full.token.id, GHOST_TOKEN, a.session);
  });

  it('another account’s token cannot be paused, revoked, rotated or have its activity read', async () => {
    for (const action of ['pause', 'resume', 'revoke', 'rotate']) await sameAsNonexistent('POST', `/v1/tokens/:id/${action}`, b.full.token.id, GHOST_TOKEN, a.session, {});
    await sameAsNonexistent('GET', '/v1/tokens/:id/activity', b.full.token.id, GHOST_TOKEN, a.session);
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(b.full.secret) }), 200);
  });

  it('another account’s token is just as invisible to a token as to a session', async () => {
    await sameAsNonexistent('GET', '/v1/tokens/:id', b.reader.token.id, GHOST_TOKEN, bearer(a.full.secret));
    await sameAsNonexistent('POST', '/v1/tokens/:id/revoke', b.reader.token.id, GHOST_TOKEN, bearer(a.full.secret), {});
  });

  it('another account’s domain reads as nonexistent, and cannot be deleted or given mailboxes', async () => {
    await sameAsNonexistent('GET', '/v1/domains/:id', b.domain.id, GHOST_DOMAIN, bearer(a.full.secret));
    await sameAsNonexistent('GET', '/v1/domains/:id/mailboxes', b.domain.id, GHOST_DOMAIN, a.session);
    await sameAsNonexistent('POST', '/v1/domains/:id/mailboxes', b.domain.id, GHOST_DOMAIN, a.session, { local_part: 'takeover' });
    await sameAsNonexistent('DELETE', '/v1/domains/:id', b.domain.id, GHOST_DOMAIN, a.session);
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${b.domain.id}`, headers: b.session }), 200);
  });

  it('another account’s mailbox: its messages, sending from it and minting for it read as nonexistent', async () => {
    await sameAsNonexistent('GET', '/v1/mailboxes/:id/messages', b.mailbox.id, GHOST_MAILBOX, bearer(a.full.secret));
    await sameAsNonexistent('POST', '/v1/mailboxes/:id/messages/send', b.mailbox.id, GHOST_MAILBOX, bearer(a.full.secret), { to: 'x@example.com', subject: 's', text: 't' });
    await sameAsNonexistent('POST', '/v1/mailboxes/:id/message-tokens', b.mailbox.id, GHOST_MAILBOX, a.session, { name: 'steal', scopes: ['messages:read'] });
  });

  it('a message token bound to one mailbox sees another mailbox of its own account as nonexistent', async () => {
    const second = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${a.domain.id}/mailboxes`, headers: a.session, payload: { local_part: 'second' } }), 201).mailbox;
    expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${a.mailbox.id}/messages`, headers: bearer(a.message.secret) }), 200);
    await sameAsNonexistent('GET', '/v1/mailboxes/:id/messages', second.id, GHOST_MAILBOX, bearer(a.message.secret));
  });

  it('another account’s access log and audit log are never listed, even when asked for by token id', async () => {
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(b.reader.secret) }), 200);
    await h.ctx.accessLog.flush();
    const logs = expectStatus(await h.request({ method: 'GET', url: `/v1/access-logs?token_id=${b.reader.token.id}`, headers: a.session }), 200);
    expect(logs.data).toEqual([]);
    const csv = await h.request({ method: 'GET', url: `/v1/access-logs?format=csv&token_id=${b.reader.token.id}`, headers: a.session });
    expect(csv.body).not.toContain(b.reader.token.id);
    const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log', headers: a.session }), 200);
    expect(JSON.stringify(audit)).not.toContain(b.owner.accountId);
    expect(JSON.stringify(audit)).not.toContain(b.full.token.id);
  });

  it('an account id smuggled into the query string is refused, not obeyed', async () => {
    for (const url of [`/v1/tokens?account_id=${b.owner.accountId}`, `/v1/access-logs?account_id=${b.owner.accountId}`, `/v1/audit-log?account_id=${b.owner.accountId}`]) {
      expectError(await h.request({ method: 'GET', url, headers: a.session }), 400, 'invalid_request');
    }
  });

  it('an account id or token id smuggled into a body is refused, and nothing lands in the other account', async () => {
    const names = async () => expectStatus(await h.request({ method: 'GET', url: '/v1/tokens', headers: b.session }), 200).data.map((t: { name: string }) => t.name).sort();
    const before = await names();
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: a.session, payload: { name: 'x', scopes: ['domains:read'], account_id: b.owner.accountId } }), 400, 'invalid_request');
    expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: 'smuggled.example.com', account_id: b.owner.accountId } }), 400, 'invalid_request');
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${a.reader.token.id}`, headers: a.session, payload: { id: b.reader.token.id, name: 'swap' } }), 400, 'invalid_request');
    expect(await names()).toEqual(before);
  });

  it('a domain-constrained token sees its account’s other domains as nonexistent', async () => {
    const other = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: 'second-a.example.com' } }), 201).domain;
    const constrained = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: a.session, payload: { name: 'one domain', scopes: ['domains:read'], domains: [a.domain.id] } }), 201);
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${a.domain.id}`, headers: bearer(constrained.secret) }), 200);
    await sameAsNonexistent('GET', '/v1/domains/:id', other.id, GHOST_DOMAIN, bearer(constrained.secret));
  });
});

/** A tool's refusal as the caller reads it, with the id it was given replaced: "someone else's" must read as "nonexistent". */
const refusalShape = (answer: McpAnswer, id: string) => ({
  status: answer.status,
  isError: answer.result?.isError,
  structured: answer.result?.structuredContent,
  text: answer.text.split(id).join('ID'),
});

async function toolSameAsNonexistent(secret: string, tool: string, args: (id: string) => Record<string, unknown>, theirs: string, ghost: string) {
  const other = await callTool(base, secret, tool, args(theirs));
  const none = await callTool(base, secret, tool, args(ghost));
  expect(other.status, other.raw).toBe(200);
  expect(other.result?.isError, `${tool}: ${other.text}`).toBe(true);
  expect(other.text).toMatch(/^not_found: /);
  expect(refusalShape(other, theirs)).toEqual(refusalShape(none, ghost));
}

describe('API1 broken object level authorization, through MCP', () => {
  it('another account’s message is nonexistent to read_message, mark_message, move_message and send_draft, and stays as it was', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read', 'mcp:write', 'mcp:send']);
    const theirs = await mailTo(h, b, b.mailbox);
    const draft = await draftIn(h, b, b.mailbox.id);
    const before = await mailState(h, b);
    await toolSameAsNonexistent(secret, 'read_message', (id) => ({ message_id: id }), theirs, GHOST_MESSAGE);
    await toolSameAsNonexistent(secret, 'mark_message', (id) => ({ message_id: id, read: true }), theirs, GHOST_MESSAGE);
    await toolSameAsNonexistent(secret, 'move_message', (id) => ({ message_id: id, folder: 'trash' }), theirs, GHOST_MESSAGE);
    await toolSameAsNonexistent(secret, 'send_draft', (id) => ({ message_id: id }), draft, GHOST_MESSAGE);
    expect(await mailState(h, b)).toEqual(before);
    expect(await messageAsOwner(h, b, theirs)).toMatchObject({ read: false, folder: 'inbox' });
    expect(await messageAsOwner(h, b, draft)).toMatchObject({ folder: 'drafts' });
  });

  it('another account’s domain and mailbox are nonexistent to list_mailboxes, create_mailbox, search_messages, create_draft and send_email', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read', 'mcp:write', 'mcp:send']);
    await mailTo(h, b, b.mailbox);
    const before = await mailState(h, b);
    await toolSameAsNonexistent(secret, 'list_mailboxes', (id) => ({ domain_id: id }), b.domain.id, GHOST_DOMAIN);
    await toolSameAsNonexistent(secret, 'create_mailbox', (id) => ({ domain_id: id, local_part: 'takeover' }), b.domain.id, GHOST_DOMAIN);
    await toolSameAsNonexistent(secret, 'search_messages', (id) => ({ mailbox_id: id }), b.mailbox.id, GHOST_MAILBOX);
    await toolSameAsNonexistent(secret, 'create_draft', (id) => ({ mailbox_id: id, to: ['x@example.com'], subject: 's', text: 't' }), b.mailbox.id, GHOST_MAILBOX);
    await toolSameAsNonexistent(secret, 'send_email', (id) => ({ from_mailbox_id: id, to: [b.mailbox.address], subject: 's', text: 't' }), b.mailbox.id, GHOST_MAILBOX);
    // Nor does anything of theirs turn up unasked.
    const everything = JSON.stringify([
      await callTool(base, secret, 'list_domains'), await callTool(base, secret, 'search_messages'), await callTool(base, secret, 'list_activity'),
    ].map((answer) => answer.body));
    for (const theirs of [b.domain.id, b.domain.name, b.mailbox.id, b.mailbox.address]) expect(everything).not.toContain(theirs);
    expect(await mailState(h, b)).toEqual(before);
  });

  it('a domain-constrained AI-agent token finds its account’s other domain, its mail and activity nonexistent', async () => {
    const other = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: `mcp-other-${Date.now()}.example.com` } }), 201).domain;
    const outside = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${other.id}/mailboxes`, headers: a.session, payload: { local_part: 'hidden' } }), 201).mailbox;
    const hidden = await mailTo(h, a, outside, 'outside the constraint');
    const inside = await mailTo(h, a, a.mailbox, 'inside the constraint');
    const { secret } = await agentToken(h, a, ['mcp:read', 'mcp:write'], { domains: [a.domain.id] });

    const domains = await callTool(base, secret, 'list_domains', { limit: 100 });
    expect(domains.result?.structuredContent.domains.map((d: { id: string }) => d.id)).toEqual([a.domain.id]);
    const found = await callTool(base, secret, 'search_messages', { limit: 100 });
    const ids = found.result?.structuredContent.messages.map((m: { id: string }) => m.id);
    expect(ids).toContain(inside);
    expect(ids).not.toContain(hidden);
    expect(found.raw).not.toContain(outside.address);
    expect((await callTool(base, secret, 'list_activity', { limit: 100 })).raw).not.toContain(outside.address);
    await toolSameAsNonexistent(secret, 'read_message', (id) => ({ message_id: id }), hidden, GHOST_MESSAGE);
    await toolSameAsNonexistent(secret, 'mark_message', (id) => ({ message_id: id, read: true }), hidden, GHOST_MESSAGE);
    await toolSameAsNonexistent(secret, 'search_messages', (id) => ({ mailbox_id: id }), outside.id, GHOST_MAILBOX);
    await toolSameAsNonexistent(secret, 'list_mailboxes', (id) => ({ domain_id: id }), other.id, GHOST_DOMAIN);
    await toolSameAsNonexistent(secret, 'create_mailbox', (id) => ({ domain_id: id, local_part: 'sneaky' }), other.id, GHOST_DOMAIN);
    expect(await messageAsOwner(h, a, hidden)).toMatchObject({ read: false });
  });

  it('a message token reaches no other mailbox of its own account through MCP', async () => {
    const second = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${a.domain.id}/mailboxes`, headers: a.session, payload: { local_part: `sideways${Date.now()}` } }), 201).mailbox;
    const elsewhere = await mailTo(h, a, second, 'for the other mailbox');
    const own = await mailTo(h, a, a.mailbox, 'for the bound mailbox');
    const found = await callTool(base, a.message.secret, 'search_messages', { limit: 100 });
    const ids = found.result?.structuredContent.messages.map((m: { id: string }) => m.id);
    expect(ids).toContain(own);
    expect(ids).not.toContain(elsewhere);
    expect(found.raw).not.toContain(second.address);
    await toolSameAsNonexistent(a.message.secret, 'read_message', (id) => ({ message_id: id }), elsewhere, GHOST_MESSAGE);
    await toolSameAsNonexistent(a.message.secret, 'search_messages', (id) => ({ mailbox_id: id }), second.id, GHOST_MAILBOX);
    await toolSameAsNonexistent(a.message.secret, 'send_email', (id) => ({ from_mailbox_id: id, to: ['x@example.com'], subject: 's', text: 't' }), second.id, GHOST_MAILBOX);
  });
});
