/** OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: plans, CSRF, the last domain token. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createToken, expectError, expectStatus, operator } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { agentToken, callTool, draftIn, listening, mailState, messageAsOwner, signInAgain, world, type Party } from './world.js';

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

describe('API6 unrestricted access to sensitive business flows', () => {
  it('narrows a cached token the moment its account’s plan is downgraded', async () => {
    const { secret } = await createToken(h, a.session, { name: 'writer', scopes: ['domains:full'] });
    expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: 'before-downgrade.example.com' } }), 201);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'starter' } }), 200);
    expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: 'after-downgrade.example.com' } }), 403, 'plan_restricted');
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'basic' } }), 200);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 403, 'plan_restricted');
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'pro' } }), 200);
  });

  it('does not let a plan-restricted scope be granted by creating a token on a lower plan', async () => {
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'nano' } }), 200);
    const response = await h.request({ method: 'POST', url: '/v1/tokens', headers: a.session, payload: { name: 'too much', scopes: ['domains:full'] } });
    expect(response.statusCode).toBe(403);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'pro' } }), 200);
  });

  it('refuses every cookie-authenticated mutation without the session’s X-CSRF-Token', async () => {
    const spec = expectStatus(await h.request({ method: 'GET', url: '/openapi.json' }), 200) as { paths: Record<string, Record<string, unknown>> };
    const ids: Record<string, string> = { '/v1/domains/': a.domain.id, '/v1/mailboxes/': a.mailbox.id, '/v1/tokens/': a.reader.token.id };
    let checked = 0;
    for (const [path, operations] of Object.entries(spec.paths)) {
      if (!path.startsWith('/v1/') || path.startsWith('/v1/auth/login') || path === '/v1/verify') continue;
      for (const method of Object.keys(operations).filter((m) => ['post', 'patch', 'put', 'delete'].includes(m))) {
        const prefix = Object.keys(ids).find((p) => path.startsWith(p));
        const url = path.replace(/\{[^}]+\}/, prefix ? ids[prefix]! : 'x');
        for (const csrf of [undefined, 'forged', a.owner.csrf.slice(0, -1)]) {
          const headers: Record<string, string> = { cookie: a.owner.cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) };
          const response = await h.request({ method: method.toUpperCase() as 'POST', url, headers, payload: {} });
          expect(response.statusCode, `${method} ${url}`).toBe(403);
          expect(JSON.parse(response.body).error.code).toBe('forbidden');
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('refuses to delete a domain’s last domain token (the references’ rule)', async () => {
    const domainCreated = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: 'last-token.example.com' } }), 201);
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${domainCreated.token.id}`, headers: a.session }), 409, 'last_domain_token');
  });
});

const newDomain = async (p: Party, label: string) => {
  const domain = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: p.session, payload: { name: `${label}-${Date.now()}.example.com` } }), 201).domain;
  const mailbox = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${domain.id}/mailboxes`, headers: p.session, payload: { local_part: 'boss' } }), 201).mailbox;
  return { domain, mailbox };
};

describe('API6 sending mail through MCP', () => {
  it('refuses send_email from a mailbox the token cannot reach: another mailbox, another domain, another account', async () => {
    const other = await newDomain(a, 'sender');
    const sameDomain = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${a.domain.id}/mailboxes`, headers: a.session, payload: { local_part: `ceo${Date.now()}` } }), 201).mailbox;
    const constrained = await agentToken(h, a, ['mcp:send'], { domains: [a.domain.id] });
    const unconstrained = await agentToken(h, a, ['mcp:send']);
    const before = { a: await mailState(h, a), b: await mailState(h, b) };
    const attempts: [string, string, string][] = [
      ['a message token, from another mailbox of its domain', a.message.secret, sameDomain.id],
      ['a domain-constrained token, from another domain of its account', constrained.secret, other.mailbox.id],
      ['an unconstrained token, from another account’s mailbox', unconstrained.secret, b.mailbox.id],
    ];
    for (const [who, secret, from] of attempts) {
      const refused = await callTool(base, secret, 'send_email', { from_mailbox_id: from, to: [a.mailbox.address, b.mailbox.address], subject: 'wire the money', text: 'now' });
      expect(refused.result?.isError, who).toBe(true);
      expect(refused.text, who).toBe('not_found: mailbox not found');
    }
    expect({ a: await mailState(h, a), b: await mailState(h, b) }).toEqual(before);
  });

  it('takes no sender of the caller’s choosing: no From argument, no display name, no header smuggled in by CR/LF', async () => {
    const { secret } = await agentToken(h, a, ['mcp:send']);
    const bcc = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${a.domain.id}/mailboxes`, headers: a.session, payload: { local_part: `bcc${Date.now()}` } }), 201).mailbox;
    const send = (args: Record<string, unknown>) => callTool(base, secret, 'send_email', { from_mailbox_id: a.mailbox.id, to: ['x@example.com'], subject: 's', text: 't', ...args });
    const before = await mailState(h, a);
    for (const spoof of [{ from: `ceo@${b.domain.name}` }, { from_address: `"CEO" <ceo@${b.domain.name}>` }, { sender: b.mailbox.address }, { reply_to: b.mailbox.address }, { headers: { From: b.mailbox.address } }]) {
      const refused = await send(spoof);
      expect(refused.text, JSON.stringify(spoof)).toMatch(/^invalid_request: invalid arguments for send_email: \(arguments\): unknown argument/);
    }
    for (const to of [`"CEO" <${bcc.address}>`, `x@example.com\r\nBcc: ${bcc.address}`, `x@example.com\nFrom: ceo@${b.domain.name}`, `${bcc.address}, y@example.com`]) {
      const refused = await send({ to: [to] });
      expect(refused.text, to).toMatch(/^invalid_request: .*is not an email address$/s);
    }
    const smuggledId = await send({ from_mailbox_id: `${a.mailbox.id}\r\nFrom: ceo` });
    expect(smuggledId.text).toBe('not_found: mailbox not found');
    expect(await mailState(h, a)).toEqual(before);

    // CR/LF in the subject is text, not a header: no one else receives the message, and its sender is the mailbox.
    const sent = await send({ to: [a.mailbox.address], subject: `hello\r\nBcc: ${bcc.address}\r\nFrom: ceo@${b.domain.name}` });
    expect(sent.result?.structuredContent).toEqual({ accepted: [a.mailbox.address], delivered_locally: [a.mailbox.address] });
    const inbox = expectStatus(await h.request({ method: 'GET', url: `/v1/messages?mailbox_id=${bcc.id}&limit=100`, headers: a.session }), 200).data;
    expect(inbox).toEqual([]);
    const received = expectStatus(await h.request({ method: 'GET', url: `/v1/messages?mailbox_id=${a.mailbox.id}&folder=inbox&limit=1`, headers: a.session }), 200).data[0];
    expect(received).toMatchObject({ from: a.mailbox.address, to: a.mailbox.address });
    expect(JSON.stringify(await mailState(h, b))).not.toContain('hello');
  });

  it('refuses send_draft of a draft in a mailbox the token cannot reach, and leaves it a draft', async () => {
    const other = await newDomain(a, 'drafts');
    const draft = await draftIn(h, a, other.mailbox.id, a.mailbox.address);
    const { secret } = await agentToken(h, a, ['mcp:send', 'mcp:read'], { domains: [a.domain.id] });
    const before = await mailState(h, a);
    const refused = await callTool(base, secret, 'send_draft', { message_id: draft });
    expect(refused.text).toBe('not_found: message not found');
    // A message token cannot send drafts at all, not even its own mailbox's.
    const own = await draftIn(h, a, a.mailbox.id, a.mailbox.address);
    expect((await callTool(base, a.message.secret, 'send_draft', { message_id: own })).text).toMatch(/^insufficient_scope: /);
    expect(await messageAsOwner(h, a, draft)).toMatchObject({ folder: 'drafts' });
    expect(await messageAsOwner(h, a, own)).toMatchObject({ folder: 'drafts' });
    const after = (await mailState(h, a)) as { messages: { id: string }[] };
    expect({ ...after, messages: after.messages.filter((m) => m.id !== own) }).toEqual(before);
  });
});
