/**
 * OWASP API5:2023 Broken Function Level Authorization: who may call what, and a token minting
 * tokens can never hand out more than it holds.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TOOL_SCOPES, TOOLS, type ToolName } from '../../src/mcp/tools.js';
import { addUser, asSession, bearer, createToken, expectError, expectStatus, login } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { agentToken, callTool, draftIn, listedTools, listening, mailState, mailTo, messageToken, signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
let base: string;
beforeAll(async () => {
  ({ h, a } = await world());
  base = await listening(h);
});
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

const MANAGEMENT = (id: string) => [
  ['POST', '/v1/tokens', { name: 'x', scopes: ['domains:read'] }],
  ['GET', '/v1/tokens', undefined],
  ['GET', `/v1/tokens/${id}`, undefined],
  ['PATCH', `/v1/tokens/${id}`, { name: 'renamed' }],
  ['POST', `/v1/tokens/${id}/pause`, {}],
  ['POST', `/v1/tokens/${id}/revoke`, {}],
  ['POST', `/v1/tokens/${id}/rotate`, {}],
  ['DELETE', `/v1/tokens/${id}`, undefined],
] as const;

const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
  h.request({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('API5 broken function level authorization', () => {
  it('refuses a member on every token-management route', async () => {
    const member = asSession(await login(h, await addUser(h, a.owner.accountId, 'member')));
    for (const [method, url, payload] of MANAGEMENT(a.reader.token.id)) expectError(await call(method, url, member, payload), 403, 'forbidden');
  });

  it('refuses a message token on every token-management route', async () => {
    for (const [method, url, payload] of MANAGEMENT(a.reader.token.id)) expect([401, 403]).toContain((await call(method, url, bearer(a.message.secret), payload)).statusCode);
    expectError(await call('GET', '/v1/tokens', bearer(a.message.secret)), 403, 'forbidden');
  });

  it('refuses an api token without tokens:full on every token-management route, naming the scope', async () => {
    for (const [method, url, payload] of MANAGEMENT(a.full.token.id)) {
      const error = expectError(await call(method, url, bearer(a.reader.secret), payload), 403, 'insufficient_scope');
      expect(error.details).toEqual({ scope: 'tokens:full' });
    }
  });

  it('refuses an mcp token on routes of the api type', async () => {
    const { secret } = await createToken(h, a.session, { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    expectError(await call('POST', '/v1/tokens', bearer(secret), { name: 'x', scopes: ['domains:read'] }), 403, 'forbidden');
  });

  it('refuses a session on the operator API and on /v1/verify', async () => {
    expectError(await call('PATCH', `/admin/v1/accounts/${a.owner.accountId}`, a.session, { plan: 'enterprise' }), 401, 'unauthorized');
    expectError(await call('POST', '/v1/verify', a.session, { token: a.full.secret }), 401, 'unauthorized');
  });

  it('does not let a minting token grant scopes it lacks', async () => {
    const { secret } = await createToken(h, a.session, { name: 'minter', scopes: ['tokens:full', 'domains:read'] });
    const error = expectError(await call('POST', '/v1/tokens', bearer(secret), { name: 'child', scopes: ['domains:full'] }), 403, 'insufficient_scope');
    expect(JSON.stringify(error)).toContain('domains:full');
    // '*' from a token means everything it holds itself, not everything the plan allows.
    const star = expectStatus(await call('POST', '/v1/tokens', bearer(secret), { name: 'star', scopes: ['*'] }), 201);
    expect([...star.token.scopes].sort()).toEqual(['domains:read', 'tokens:full']);
  });

  it('does not let a domain-constrained minting token mint for all domains or for another domain', async () => {
    const { secret } = await createToken(h, a.session, { name: 'dom minter', scopes: ['tokens:full', 'domains:read'], domains: [a.domain.id] });
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'all', scopes: ['domains:read'], domains: null })).statusCode).toBeGreaterThanOrEqual(400);
    const other = expectStatus(await call('POST', '/v1/domains', a.session, { name: 'mint-other.example.com' }), 201).domain;
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'other', scopes: ['domains:read'], domains: [other.id] })).statusCode).toBeGreaterThanOrEqual(400);
    const child = expectStatus(await call('POST', '/v1/tokens', bearer(secret), { name: 'inherits', scopes: ['domains:read'] }), 201);
    expect(child.token.domains).toEqual([a.domain.id]);
  });

  it('does not let an allowlisted minting token mint a wider allowlist or none', async () => {
    const { secret } = await createToken(h, a.session, { name: 'ip minter', scopes: ['tokens:full', 'domains:read'], ip_allowlist: ['10.0.0.0/8'] });
    const from = { remoteAddress: '10.1.1.1' };
    const mint = (payload: object) => h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload, ...from });
    expect((await mint({ name: 'wider', scopes: ['domains:read'], ip_allowlist: ['0.0.0.0/0'] })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await mint({ name: 'none', scopes: ['domains:read'], ip_allowlist: null })).statusCode).toBeGreaterThanOrEqual(400);
    const child = expectStatus(await mint({ name: 'narrower', scopes: ['domains:read'], ip_allowlist: ['10.1.0.0/16'] }), 201);
    expect(child.token.ip_allowlist).toEqual(['10.1.0.0/16']);
  });

  it('does not let an expiring minting token mint one that outlives it', async () => {
    const { secret } = await createToken(h, a.session, { name: 'short minter', scopes: ['tokens:full', 'domains:read'], expires_in: '7d' });
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'long', scopes: ['domains:read'], expires_in: '90d' })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await call('POST', '/v1/tokens', bearer(secret), { name: 'forever', scopes: ['domains:read'], expires_at: null })).statusCode).toBeGreaterThanOrEqual(400);
  });

  it('does not let a message token mint anything', async () => {
    expect([401, 403]).toContain((await call('POST', `/v1/mailboxes/${a.mailbox.id}/message-tokens`, bearer(a.message.secret), { name: 'self-copy', scopes: ['messages:read'] })).statusCode);
    expect([401, 403]).toContain((await call('POST', '/v1/tokens', bearer(a.message.secret), { name: 'x', type: 'message', scopes: ['messages:read'] })).statusCode);
  });
});

const TOOL_NAMES = TOOLS.map((t) => t.name);
/** What each tool needs of a token of this type; undefined: the type may not call it at all. */
const needs = (tool: ToolName, type: 'mcp' | 'message') => (TOOL_SCOPES[tool] as Partial<Record<'mcp' | 'message', string>>)[type];

describe('API5 broken function level authorization, at /mcp', () => {
  it('refuses an mcp:read token every write and send tool with an error naming the scope, and writes nothing', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    const message = await mailTo(h, a, a.mailbox, 'not to be touched');
    const draft = await draftIn(h, a, a.mailbox.id);
    const before = await mailState(h, a);
    const attempts: [ToolName, Record<string, unknown>, string][] = [
      ['create_mailbox', { domain_id: a.domain.id, local_part: 'written' }, 'mcp:write'],
      ['mark_message', { message_id: message, read: true }, 'mcp:write'],
      ['move_message', { message_id: message, folder: 'trash' }, 'mcp:write'],
      ['create_draft', { mailbox_id: a.mailbox.id, to: ['x@example.com'], subject: 's', text: 't' }, 'mcp:write'],
      ['send_email', { from_mailbox_id: a.mailbox.id, to: [a.mailbox.address], subject: 's', text: 't' }, 'mcp:send'],
      ['send_draft', { message_id: draft }, 'mcp:send'],
    ];
    for (const [tool, args, scope] of attempts) {
      const refused = await callTool(base, secret, tool, args);
      expect(refused.result?.isError, tool).toBe(true);
      expect(refused.text).toMatch(/^insufficient_scope: /);
      expect(refused.text, tool).toContain(`'${scope}'`);
      expect(refused.result?.structuredContent).toBeUndefined();
    }
    expect(await mailState(h, a)).toEqual(before);
  });

  it('lists exactly the tools each combination of scopes may call, and refuses every other one (property)', async () => {
    const reached = { listed: 0, refused: 0, message: 0 };
    const MCP = ['mcp:read', 'mcp:write', 'mcp:send'];
    const MESSAGE = ['messages:read', 'messages:send'];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.subarray(MCP, { minLength: 1 }).map((scopes) => ({ type: 'mcp' as const, scopes })),
          fc.subarray(MESSAGE, { minLength: 1 }).map((scopes) => ({ type: 'message' as const, scopes })),
        ),
        async ({ type, scopes }) => {
          const { secret } = type === 'mcp' ? await agentToken(h, a, scopes) : await messageToken(h, a, a.mailbox.id, scopes);
          const callable = TOOL_NAMES.filter((tool) => scopes.includes(needs(tool, type) ?? '-'));
          const listed = await listedTools(base, secret);
          expect(listed).toEqual(callable);
          if (listed.length) reached.listed += 1;
          if (type === 'message') reached.message += 1;
          // Empty arguments: a callable tool gets past the scope check (and stops at its arguments, writing nothing).
          for (const tool of TOOL_NAMES) {
            const answer = await callTool(base, secret, tool, {});
            const refusedForScope = answer.text.startsWith('insufficient_scope: ');
            expect(refusedForScope, `${type} ${scopes.join(' ')} → ${tool}: ${answer.text.slice(0, 120)}`).toBe(!callable.includes(tool));
            if (refusedForScope) {
              reached.refused += 1;
              // The scope it lacks; a tool its type may never call names the agent token's scope.
              expect(answer.text).toContain(`'${needs(tool, type) ?? TOOL_SCOPES[tool].mcp}'`);
            }
          }
        },
      ),
      { numRuns: 20 },
    );
    expect(reached.listed).toBeGreaterThanOrEqual(15);
    expect(reached.refused).toBeGreaterThanOrEqual(60);
    expect(reached.message).toBeGreaterThanOrEqual(3);
  });

  it('refuses send_email to a message token holding messages:read only, and sends nothing', async () => {
    const { secret } = await messageToken(h, a, a.mailbox.id, ['messages:read']);
    const before = await mailState(h, a);
    for (const args of [{ to: [a.mailbox.address], subject: 's', text: 't' }, { from_mailbox_id: a.mailbox.id, to: ['x@example.com'], subject: 's', text: 't' }]) {
      const refused = await callTool(base, secret, 'send_email', args);
      expect(refused.result?.isError).toBe(true);
      expect(refused.text).toMatch(/^insufficient_scope: .*'messages:send'/);
    }
    // Nor may it reach for the tools of an AI-agent token.
    for (const tool of ['send_draft', 'create_draft', 'create_mailbox'] as const) {
      expect((await callTool(base, secret, tool, {})).text).toMatch(/^insufficient_scope: .*AI-agent token/);
    }
    expect(await mailState(h, a)).toEqual(before);
  });
});
