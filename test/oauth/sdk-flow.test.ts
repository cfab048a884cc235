import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import type { DocumentFetcher, FetchedDocument } from '../../src/net/document-fetcher.js';
import { asSession, createDomain, expectStatus, login, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { REDIRECT } from './client.js';
import { HeadlessBrowserProvider, recordingFetch } from './sdk-provider.js';

/**
 * The official MCP SDK client, driven headlessly against a listening server, through the whole
 * OAuth flow a host application runs: the 401 and discovery, registration (or a metadata
 * document), a person's consent through the consent page's API, the code exchange, tools, a
 * refresh when the access token's hour is over, a step-up when a tool needs more, and Disconnect.
 */
const METADATA_URL = 'https://agent.example/oauth/client.json';
const documents = new Map<string, FetchedDocument>();
const fetcher: DocumentFetcher = {
  async fetch(url) {
    return documents.get(url) ?? { ok: false, reason: 'status', description: 'the document’s server answered 404' };
  },
};

let h: Harness;
let base: string;
shareApp({ app: (app) => void (h = app), listening: (url) => void (base = url), options: { fetcher } });

const HOUR = 3600_000;

/** A host's connection: the provider, the fetch it goes through, and a client connected once consent is given. */
function host(provider: HeadlessBrowserProvider) {
  const recorder = recordingFetch();
  const transport = () => new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider, fetch: recorder.fetch });
  const client = () => new Client({ name: 'latchkey-sdk-flow', version: '1.0.0' });

  /** As a host does: try, be sent through the browser, finish with the code, connect again. */
  const connect = async (): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> => {
    const first = transport();
    await expect(client().connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    await first.finishAuth(provider.lastCallback);
    const connected = { client: client(), transport: transport() };
    await connected.client.connect(connected.transport);
    return connected;
  };
  return { recorder, connect };
}

const connectedAgents = async (person: Parameters<typeof asSession>[0]) =>
  expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(person) }), 200).data as { id: string; scopes: string[]; client: Record<string, unknown> }[];

describe('the MCP SDK client through OAuth', () => {
  it('registers, is allowed, calls tools, refreshes, steps up after insufficient_scope, and is refused once disconnected', async () => {
    const owner = await ownerSession(h);
    const domain = await createDomain(h, asSession(owner));
    const provider = new HeadlessBrowserProvider(h, base);
    // The person allows less than was asked: reading only.
    provider.signedIn = { person: owner, decision: { scopes: ['mcp:read'] } };
    const { recorder, connect } = host(provider);
    const { client, transport } = await connect();

    // The 401, the discovery it leads to, registration, and the code exchange, in that order.
    const flow = recorder.seen.map((e) => `${e.method} ${e.path} ${e.status}`);
    expect(flow.slice(0, 5)).toEqual([
      'POST /mcp 401', 'GET /.well-known/oauth-protected-resource/mcp 200', 'GET /.well-known/oauth-authorization-server 200', 'POST /oauth/register 201', 'POST /oauth/token 200',
    ]);
    expect(recorder.seen[0]!.challenge).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(recorder.seen[4]!.grantType).toBe('authorization_code');
    expect(flow.slice(5).every((line) => line.startsWith('POST /mcp 2'))).toBe(true);
    const [visit] = provider.visits;
    expect(Object.fromEntries(visit!.authorization.searchParams)).toMatchObject({
      response_type: 'code', code_challenge_method: 'S256', redirect_uri: REDIRECT, resource: `${base}/mcp`, scope: 'mcp:read mcp:write mcp:send',
    });
    expect(visit!.described).toMatchObject({ client: { name: 'SDK agent', verified: false }, scopes: ['mcp:read', 'mcp:write', 'mcp:send'] });
    expect(provider.tokens()).toMatchObject({ token_type: 'Bearer', scope: 'mcp:read', access_token: expect.stringMatching(/^lk_mcp_/), refresh_token: expect.stringMatching(/^lk_refresh_/) });

    // Tools, with what was allowed.
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['whoami', 'list_domains', 'list_mailboxes', 'list_activity', 'search_messages', 'read_message']);
    const domains = await client.callTool({ name: 'list_domains', arguments: {} });
    expect(domains.structuredContent).toMatchObject({ domains: [expect.objectContaining({ id: domain.id })] });

    // The hour is over: the server says invalid_token, the SDK refreshes and calls again.
    const firstAccess = provider.tokens()!.access_token;
    h.clock.advance(HOUR + 1000);
    let mark = recorder.seen.length;
    expect((await client.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    expect(recorder.since(mark).map((e) => `${e.method} ${e.path} ${e.status}${e.grantType ? ` ${e.grantType}` : ''}`)).toEqual([
      'POST /mcp 401', 'POST /oauth/token 200 refresh_token', 'POST /mcp 200',
    ]);
    expect(recorder.since(mark)[0]!.challenge).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", error="invalid_token"`);
    expect(provider.tokens()!.access_token).not.toBe(firstAccess);

    // A tool that needs mcp:write: the server challenges, the SDK asks for the wider scope through
    // the browser (the person signs in again, the hour has passed), the host finishes, the call is retried.
    provider.signedIn = { person: await login(h, owner.email), decision: {} };
    mark = recorder.seen.length;
    const create = () => client.callTool({ name: 'create_mailbox', arguments: { domain_id: domain.id, local_part: 'stepped-up' } });
    await expect(create()).rejects.toBeInstanceOf(UnauthorizedError);
    expect(recorder.since(mark)[0]).toMatchObject({
      status: 403, challenge: `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", scope="mcp:read mcp:write"`,
    });
    const stepUp = provider.visits.at(-1)!;
    expect(provider.visits).toHaveLength(2);
    expect(stepUp.authorization.searchParams.get('scope')).toBe('mcp:read mcp:write');
    expect(stepUp.described).toMatchObject({ scopes: ['mcp:read', 'mcp:write'] });
    await transport.finishAuth(provider.lastCallback);
    expect(provider.tokens()!.scope).toBe('mcp:read mcp:write');
    const created = await create();
    expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    expect(created.structuredContent).toMatchObject({ mailbox: { address: expect.stringMatching(/^stepped-up@/) } });

    // Disconnect: the next request is a 401; the refresh the SDK tries is refused, and it can only
    // send the person to the browser again (where nobody answers now).
    const stepped = (await connectedAgents(owner)).find((agent) => agent.scopes.includes('mcp:write'))!;
    expect(stepped.client).toMatchObject({ name: 'SDK agent', verified: false });
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${stepped.id}`, headers: asSession(owner) }), 204);
    provider.signedIn = null;
    mark = recorder.seen.length;
    await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toBeInstanceOf(UnauthorizedError);
    const after = recorder.since(mark);
    expect(after[0]).toMatchObject({ method: 'POST', path: '/mcp', status: 401, challenge: expect.stringContaining('error="invalid_token"') });
    expect(after.find((e) => e.grantType === 'refresh_token')).toMatchObject({ status: 400 });
    expect(after.filter((e) => e.path === '/mcp')).toHaveLength(1);
    expect(provider.visits).toHaveLength(3);
    await client.close();
  });

  it('connects a client known by its metadata document, without registering', async () => {
    documents.set(METADATA_URL, { ok: true, url: METADATA_URL, body: { client_id: METADATA_URL, client_name: 'Agent Example', redirect_uris: [REDIRECT] }, freshForMs: 600_000 });
    const owner = await ownerSession(h);
    const provider = new HeadlessBrowserProvider(h, base, METADATA_URL);
    provider.signedIn = { person: owner, decision: {} };
    const { recorder, connect } = host(provider);
    const { client } = await connect();

    expect(recorder.seen.some((e) => e.path === '/oauth/register')).toBe(false);
    expect(provider.visits[0]!.authorization.searchParams.get('client_id')).toBe(METADATA_URL);
    expect(provider.visits[0]!.described).toMatchObject({ client: { id: METADATA_URL, name: 'Agent Example', verified: true, host: 'agent.example' } });
    const me = await client.callTool({ name: 'whoami', arguments: {} });
    expect(me.structuredContent).toMatchObject({ token: { type: 'mcp' }, scopes: expect.arrayContaining([expect.objectContaining({ scope: 'mcp:send' })]) });
    expect(await connectedAgents(owner)).toEqual([expect.objectContaining({ client: { id: METADATA_URL, name: 'Agent Example', verified: true, host: 'agent.example' } })]);
    await client.close();
  });
});
