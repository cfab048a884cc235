import { describe, expect, it } from 'vitest';
import type { DocumentFetcher, FetchedDocument } from '../../src/net/document-fetcher.js';
import { addUser, asSession, bearer, createDomain, createToken, expectError, expectStatus, login, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { oauthAgent, pkce, REDIRECT } from './client.js';

/**
 * Who may allow an agent what: the person's role, the account's plan, narrowing only, the CSRF
 * check; how long a code lives; clients known by a metadata document (served here by a fetcher
 * that stands in for the Internet); registrations nobody used.
 */
const METADATA_URL = 'https://agent.example/oauth/client.json';
const documents = new Map<string, FetchedDocument>();
const fetched: string[] = [];
const fetcher: DocumentFetcher = {
  async fetch(url) {
    fetched.push(url);
    return documents.get(url) ?? { ok: false, reason: 'status', description: 'the document’s server answered 404' };
  },
};

let h: Harness;
let base: string;
let agent: ReturnType<typeof oauthAgent>;
shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, (base = url))), options: { fetcher } });

const query = async (scope = 'mcp:read mcp:write') => agent.authorizeQuery(await agent.register(), pkce().challenge, { scope });

describe('who may allow what', () => {
  it('refuses consent without the CSRF header', async () => {
    const owner = await ownerSession(h);
    const { request } = await agent.openConsent(owner, await query());
    const refused = await h.request({ method: 'POST', url: '/v1/oauth/consent', headers: { cookie: owner.cookie, host: new URL(base).host }, payload: { request, allow: true } });
    expect(refused.statusCode).toBe(403);
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data).toEqual([]);
  });

  it('lets a member connect nothing, and says so before they try', async () => {
    const owner = await ownerSession(h);
    const member = await login(h, await addUser(h, owner.accountId, 'member'));
    const { request, described } = await agent.openConsent(member, await query());
    expect(described.refusal).toMatchObject({ code: 'forbidden' });
    expectError(await agent.decide(member, request, { allow: true }), 403, 'forbidden');
  });

  it('offers only what the plan has, refuses a plan without API access, and never widens what was asked', async () => {
    const starter = await ownerSession(h, 'starter');
    const offered = await agent.openConsent(starter, await query());
    expect(offered.described).toMatchObject({ scopes: ['mcp:read', 'mcp:write'], offered_scopes: ['mcp:read'], refusal: null });
    expectError(await agent.decide(starter, offered.request, { allow: true, scopes: ['mcp:write'] }), 403, 'plan_restricted');
    const narrowed = await agent.connect(starter);
    expect(narrowed.pair.scope).toBe('mcp:read');

    const basic = await ownerSession(h, 'basic');
    const none = await agent.openConsent(basic, await query());
    expect(none.described.refusal).toMatchObject({ code: 'plan_restricted' });
    expectError(await agent.decide(basic, none.request, { allow: true }), 403, 'plan_restricted');

    const pro = await ownerSession(h);
    const readOnly = await agent.openConsent(pro, await query('mcp:read'));
    const widened = expectError(await agent.decide(pro, readOnly.request, { allow: true, scopes: ['mcp:read', 'mcp:send'] }), 400, 'invalid_request');
    expect(widened.details).toMatchObject({ field: 'scopes', scope: 'mcp:send' });
  });

  it('holds the tokens to the domains chosen, which must be the account’s own', async () => {
    const owner = await ownerSession(h);
    const [chosen] = [await createDomain(h, asSession(owner)), await createDomain(h, asSession(owner))];
    const foreign = await createDomain(h, asSession(await ownerSession(h)));
    const { request } = await agent.openConsent(owner, await query());
    expectError(await agent.decide(owner, request, { allow: true, domains: [foreign.id] }), 400, 'invalid_request');
    await agent.connect(owner, { domains: [chosen!.id] });
    const listed = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?type=mcp', headers: asSession(owner) }), 200).data;
    expect(listed).toEqual([expect.objectContaining({ domains: [chosen!.id] })]);
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data).toEqual([
      expect.objectContaining({ domains: [chosen!.id] }),
    ]);
  });
});

describe('what a token cannot do here', () => {
  it('lists and disconnects agents for people only: an agent’s own token, or an api token with tokens:full, is refused', async () => {
    const owner = await ownerSession(h);
    const { pair } = await agent.connect(owner);
    const [connected] = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;
    const { secret: manager } = await createToken(h, asSession(owner), { name: 'manager', scopes: ['tokens:full'] });
    for (const secret of [pair.access_token, manager, pair.refresh_token]) {
      expect((await h.request({ method: 'GET', url: '/v1/connected-agents', headers: bearer(secret) })).statusCode).toBe(401);
      expect((await h.request({ method: 'DELETE', url: `/v1/connected-agents/${connected.id}`, headers: bearer(secret) })).statusCode).toBe(401);
      const { request } = await agent.openConsent(owner, await query());
      expect((await h.request({ method: 'POST', url: '/v1/oauth/consent', headers: bearer(secret), payload: { request, allow: true } })).statusCode).toBe(401);
    }
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data).toHaveLength(1);
  });
});

describe('codes', () => {
  it('lives a minute, and is stored only by its hash', async () => {
    const owner = await ownerSession(h);
    const clientId = await agent.register();
    const { verifier, challenge } = pkce();
    const code = (await agent.consent(owner, agent.authorizeQuery(clientId, challenge))).searchParams.get('code')!;
    expect(code).toMatch(/^lk_code_/);
    expect(await h.store.dump()).not.toContain(code);
    h.clock.advance(61_000);
    const late = await agent.tokens({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier });
    expect(JSON.parse(late.body)).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('clients known by a metadata document', () => {
  const document = (body: Record<string, unknown>): FetchedDocument => ({ ok: true, url: METADATA_URL, body, freshForMs: 600_000 });

  it('are shown as verified by their host, fetched once while fresh, and connect like any client', async () => {
    documents.set(METADATA_URL, document({ client_id: METADATA_URL, client_name: 'Agent Example', redirect_uris: [REDIRECT] }));
    fetched.length = 0;
    const owner = await ownerSession(h);
    const { verifier, challenge } = pkce();
    const { described } = await agent.openConsent(owner, agent.authorizeQuery(METADATA_URL, challenge));
    expect(described.client).toEqual({ id: METADATA_URL, name: 'Agent Example', verified: true, host: 'agent.example' });
    const back = await agent.consent(owner, agent.authorizeQuery(METADATA_URL, challenge));
    expect(fetched).toEqual([METADATA_URL]);
    const pair = expectStatus(await agent.tokens({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, client_id: METADATA_URL, code_verifier: verifier }), 200);
    expect(pair.access_token).toMatch(/^lk_mcp_/);
    const [connected] = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;
    expect(connected.client).toEqual({ id: METADATA_URL, name: 'Agent Example', verified: true, host: 'agent.example' });
  });

  it('are refused, without a redirect, when the document names another client or cannot be had, and a refusal is not fetched again at once', async () => {
    const other = 'https://other.example/client.json';
    documents.set(other, { ok: true, url: other, body: { client_id: 'https://elsewhere.example/client.json', redirect_uris: [REDIRECT] }, freshForMs: 600_000 });
    fetched.length = 0;
    for (const clientId of [other, other, 'https://missing.example/client.json', 'https://127.0.0.1/client.json']) {
      const sent = await agent.authorize(agent.authorizeQuery(clientId, pkce().challenge));
      expect(sent.statusCode).toBe(400);
      expect(sent.headers.location).toBeUndefined();
      expect(JSON.parse(sent.body)).toMatchObject({ error: 'invalid_client' });
    }
    // The literal address is refused before any fetch; the refused document is fetched once.
    expect(fetched).toEqual([other, 'https://missing.example/client.json']);
  });
});

describe('registrations', () => {
  it('are forgotten after a day when nobody allowed them; one in use stays', async () => {
    const owner = await ownerSession(h);
    const unused = await agent.register();
    const { clientId: used } = await agent.connect(owner);
    h.clock.advance(25 * 3600_000);
    await h.ctx.oauth.clients.purgeUnused();
    expect((await agent.authorize(agent.authorizeQuery(unused, pkce().challenge))).statusCode).toBe(400);
    expect((await agent.authorize(agent.authorizeQuery(used, pkce().challenge))).statusCode).toBe(302);
  });

  it('enter an account’s audit chain at its first connection there, with when and from where it was registered', async () => {
    const owner = await ownerSession(h);
    const clientId = await agent.register();
    for (let i = 0; i < 2; i += 1) {
      const { verifier, challenge } = pkce();
      const code = (await agent.consent(owner, agent.authorizeQuery(clientId, challenge))).searchParams.get('code')!;
      expectStatus(await agent.tokens({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier }), 200);
    }
    const events = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=oauth.client_registered', headers: asSession(owner) }), 200).data;
    expect(events).toEqual([expect.objectContaining({
      action: 'oauth.client_registered', target: expect.objectContaining({ id: clientId, name: 'Claude' }),
      details: { registered_at: expect.any(String), registered_ip: '127.0.0.1', redirect_uris: [REDIRECT] },
    })]);
    const other = await ownerSession(h);
    await agent.consent(other, agent.authorizeQuery(clientId, pkce().challenge));
    expect(expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=oauth.client_registered', headers: asSession(other) }), 200).data).toHaveLength(1);
  });

  it('keep no secret pasted into a client name', async () => {
    const owner = await ownerSession(h);
    const { secret } = await createToken(h, asSession(owner), { name: 'pasted', scopes: ['domains:read'] });
    const clientId = await agent.register({ client_name: `Claude ${secret}` });
    const { described } = await agent.openConsent(owner, agent.authorizeQuery(clientId, pkce().challenge));
    expect(described.client.name).not.toContain(secret);
    expect(await h.store.dump()).not.toContain(secret);
  });
});
