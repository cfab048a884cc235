import { InsufficientScopeError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asSession, createDomain, createMailbox, createToken, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { entriesOf, post, textOf, withAgent } from './agent.js';
import { oauthAgent, pkce, REDIRECT } from '../oauth/client.js';

/**
 * How /mcp tells a client that its token is not enough: a tool call needing a scope the
 * authorization server could grant is an HTTP scope challenge (so that an OAuth client can ask for
 * it and retry); an expired token is an invalid one.
 */
let h: Harness;
let base: string;
let owner: Session;

beforeAll(async () => {
  h = await startHarness();
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
});
beforeEach(async () => {
  owner = await ownerSession(h);
});
afterAll(() => h.close());

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const call = (name: string, args: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } });
const metadata = () => `${base}/.well-known/oauth-protected-resource/mcp`;
/** An access token issued through OAuth with `scopes`: one the authorization server could give more. */
const agentToken = async (scopes: string[]) => {
  const agent = oauthAgent(h, base);
  const clientId = await agent.register();
  const { verifier, challenge } = pkce();
  const back = await agent.consent(owner, agent.authorizeQuery(clientId, challenge, { scope: 'mcp:read mcp:write mcp:send' }), { scopes });
  const pair = expectStatus(await agent.tokens({
    grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${base}/mcp`,
  }), 200);
  const listed = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?type=mcp', headers: asSession(owner) }), 200).data as { id: string }[];
  return { secret: pair.access_token as string, token: listed[0]! };
};

describe('a tool call the token lacks the scope for', () => {
  it('is 403 with a challenge naming the scopes held and the one needed, in JSON-RPC’s shape', async () => {
    const { secret } = await agentToken(['mcp:read']);
    const refused = await post(base, call('create_mailbox', { domain_id: 'dom_x', local_part: 'x' }), bearer(secret));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadata()}", error="insufficient_scope", scope="mcp:read mcp:write"`);
    expect(await refused.json()).toMatchObject({
      jsonrpc: '2.0', id: 7, error: { code: -32000, message: "this token lacks the 'mcp:write' scope", data: { code: 'insufficient_scope', details: { scope: 'mcp:write' } } },
    });

    const sender = await agentToken(['mcp:send']);
    const listing = await post(base, call('list_domains'), bearer(sender.secret));
    expect(listing.status).toBe(403);
    expect(listing.headers.get('www-authenticate')).toContain('scope="mcp:read mcp:send"');
  });

  it('is logged under the tool’s route with the refusal’s status, and runs nothing', async () => {
    const { secret, token } = await agentToken(['mcp:read']);
    const domain = await createDomain(h, asSession(owner));
    expect((await post(base, call('create_mailbox', { domain_id: domain.id, local_part: 'never' }), bearer(secret))).status).toBe(403);
    const mailboxes = expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${domain.id}/mailboxes`, headers: asSession(owner) }), 200);
    expect(mailboxes.data).toEqual([]);
    expect(await entriesOf(h, owner, token.id)).toEqual([
      expect.objectContaining({ route: 'mcp:create_mailbox', status: 403, error_code: 'insufficient_scope', request_summary: 'arguments: domain_id, local_part' }),
    ]);
  });

  it('reaches the SDK client as an error it can act on, and a call within the scopes still works on the same connection', async () => {
    const { secret } = await agentToken(['mcp:read']);
    await withAgent(base, secret, async (client) => {
      // Without an OAuth provider the SDK cannot step up: it says what the server asked for.
      const refused = await client.callTool({ name: 'create_draft', arguments: {} }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(InsufficientScopeError);
      expect(refused).toMatchObject({ requiredScope: 'mcp:read mcp:write', resourceMetadataUrl: new URL(metadata()) });
      expect((await client.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    });
  });

  it('stays a tool error where asking again cannot help: a token pasted into the agent, a message token, or a tool its type may never call', async () => {
    const pasted = await createToken(h, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    const told = await post(base, call('create_mailbox', { domain_id: 'dom_x', local_part: 'x' }), bearer(pasted.secret));
    expect(told.status).toBe(200);
    expect(told.headers.get('www-authenticate')).toBeNull();
    expect(textOf((await told.json()).result)).toBe("insufficient_scope: this token lacks the 'mcp:write' scope");
    const domain = await createDomain(h, asSession(owner));
    const mailbox = await createMailbox(h, asSession(owner), domain.id);
    const { secret } = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: asSession(owner), payload: { name: 'reader', scopes: ['messages:read'] } }), 201);
    for (const [tool, args] of [['send_email', { to: ['x@example.com'], subject: 's', text: 't' }], ['list_domains', {}]] as const) {
      const answered = await post(base, call(tool, args), bearer(secret));
      expect(answered.status, tool).toBe(200);
      expect(answered.headers.get('www-authenticate')).toBeNull();
      const body = await answered.json();
      expect(body.result.isError).toBe(true);
      expect(textOf(body.result)).toMatch(/^insufficient_scope: /);
    }
  });

  it('leaves other refusals and batches as they were: an unknown tool is a JSON-RPC error, a batch a tool error per call', async () => {
    const { secret } = await agentToken(['mcp:read']);
    const unknown = await post(base, call('no_such_tool'), bearer(secret));
    expect(unknown.status).toBe(200);
    expect((await unknown.json()).error).toMatchObject({ code: -32602 });
    const batch = JSON.stringify([JSON.parse(call('create_mailbox')), { ...JSON.parse(call('whoami')), id: 8 }]);
    const answered = await post(base, batch, { ...bearer(secret), 'mcp-protocol-version': '2025-03-26' });
    expect(answered.status).toBe(200);
    const [refused, fine] = await answered.json();
    expect(textOf(refused.result)).toMatch(/^insufficient_scope: /);
    expect(fine.result.isError).toBeUndefined();
  });
});

describe('an expired token', () => {
  it('is 401 invalid_token with the resource metadata, and no scope challenge', async () => {
    const { secret } = await agentToken(['mcp:read']);
    expect((await post(base, call('whoami'), bearer(secret))).status).toBe(200);
    h.clock.advance(3600_000);
    const refused = await post(base, call('whoami'), bearer(secret));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadata()}", error="invalid_token"`);
    expect(await refused.json()).toMatchObject({ id: 7, error: { data: { code: 'token_expired' } } });
  });
});
