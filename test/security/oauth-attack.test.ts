/**
 * The authorization server attacked again over HTTP by someone who holds one connection (or one
 * stolen refresh token) and wants more than the account's limits allow.
 */
import { describe, expect, it } from 'vitest';
import { asSession, bearer, createToken, expectStatus, ownerSession } from '../helpers/actors.js';
import { startHarness, withHarness } from '../helpers/harness.js';
import { oauthAgent, pkce } from '../oauth/client.js';

const BASE = 'http://127.0.0.1:7777';

describe('the account’s limit on live tokens', () => {
  it('holds for tokens issued through OAuth: refreshing cannot mint live tokens past LATCHKEY_MAX_TOKENS_PER_ACCOUNT', async () => {
    await withHarness({ LATCHKEY_MAX_TOKENS_PER_ACCOUNT: '4' }, async (h) => {
      const agent = oauthAgent(h, BASE);
      const owner = await ownerSession(h);
      const handMade = await createToken(h, asSession(owner), { name: 'ci', scopes: ['domains:read'] });
      let { pair, clientId } = await agent.connect(owner);
      const outcomes: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const answer = await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
        outcomes.push(answer.statusCode);
        if (answer.statusCode === 200) pair = answer.json();
      }
      const live = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?type=mcp', headers: asSession(owner) }), 200).data as { status: string }[];
      expect(live.filter((token) => token.status === 'active').length).toBeLessThanOrEqual(3);
      expect(outcomes).toEqual([200, 200, 400, 400, 400]);
      // The refusal spent nothing: once another token is revoked, the same refresh token works.
      const refused = await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
      expect(refused.json()).toMatchObject({ error: 'invalid_grant' });
      expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${handMade.token.id}/revoke`, headers: asSession(owner), payload: {} }), 200);
      expectStatus(await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId }), 200);
    });
  });
});

describe('the deployment’s longest token lifetime', () => {
  it('bounds a connection too: with LATCHKEY_MAX_TOKEN_LIFETIME=1d, a connection allowed for 90d stops refreshing after a day', async () => {
    await withHarness({ LATCHKEY_MAX_TOKEN_LIFETIME: '1d' }, async (h) => {
      const agent = oauthAgent(h, BASE);
      const owner = await ownerSession(h);
      const clientId0 = await agent.register();
      const { described } = await agent.openConsent(owner, agent.authorizeQuery(clientId0, pkce().challenge));
      expect(described).toMatchObject({ lifetimes: ['1d'], default_lifetime: '1d' });
      const { pair, clientId } = await agent.connect(owner, { lifetime: '90d' });
      const [connection] = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data as { expires_at: string }[];
      expect(Date.parse(connection!.expires_at)).toBeLessThanOrEqual(h.clock.now() + 86_400_000);
      h.clock.advance(2 * 86_400_000);
      const late = await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
      expect(late.json()).toMatchObject({ error: 'invalid_grant' });
    });
  });
});

describe('a Host header the URL parser cannot read', () => {
  it('never makes the OAuth endpoints, the consent API or /mcp answer 5xx (port past 65535, a malformed IPv6 literal)', async () => {
    await withHarness({}, async (h) => {
      const agent = oauthAgent(h, BASE);
      const owner = await ownerSession(h);
      const { pair, clientId } = await agent.connect(owner);
      const { challenge } = pkce();
      for (const host of ['127.0.0.1:99999', '[::::::]', '[1.2.3.4]']) {
        const query = agent.authorizeQuery(clientId, challenge, { resource: `http://${host}/mcp` });
        const answers = [
          await h.request({ method: 'GET', url: `/oauth/authorize?${query}`, headers: { host } }),
          await h.request({ method: 'GET', url: `/v1/oauth/consent?request=${encodeURIComponent(query)}`, headers: { host, ...asSession(owner) } }),
          await h.request({ method: 'POST', url: '/oauth/token', headers: { host, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'lk_refresh_nothing', client_id: clientId }).toString() }),
          await h.request({ method: 'POST', url: '/mcp', headers: { host, ...bearer(pair.access_token), 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' } }),
          await h.request({ method: 'POST', url: '/mcp', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' } }),
        ];
        expect(answers.map((answer) => answer.statusCode).filter((status) => status >= 500), host).toEqual([]);
      }
    });
  });

  it('nor when the server listens on an IPv6 address (HOST=::) and the Host header is no host at all', async () => {
    await withHarness({ HOST: '::' }, async (h) => {
      const agent = oauthAgent(h, BASE);
      const { pair, clientId } = await agent.connect(await ownerSession(h));
      for (const host of ['not_a_host', '[::::::]']) {
        const answers = [
          await h.request({ method: 'GET', url: `/oauth/authorize?${agent.authorizeQuery(clientId, pkce().challenge)}`, headers: { host } }),
          await h.request({ method: 'POST', url: '/mcp', headers: { host, ...bearer(pair.access_token), 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' } }),
        ];
        expect(answers.map((answer) => answer.statusCode).filter((status) => status >= 500), host).toEqual([]);
      }
    });
  });
});

describe('a full account', () => {
  it('still takes a code presented twice, or a refresh token replayed after its grace, as stolen', async () => {
    await withHarness({ LATCHKEY_MAX_TOKENS_PER_ACCOUNT: '1' }, async (h) => {
      const agent = oauthAgent(h, BASE);
      const owner = await ownerSession(h);
      const first = await agent.connect(owner);
      const again = await agent.tokens({ grant_type: 'authorization_code', code: first.code, redirect_uri: 'http://127.0.0.1:33418/callback', client_id: first.clientId, code_verifier: first.verifier });
      expect(again.json()).toMatchObject({ error: 'invalid_grant' });
      expect(expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data).toEqual([]);
    });
  });
});

describe('client metadata documents fetched for anyone', () => {
  it('are not fetched without bound for one unauthenticated address: 500 distinct client_id URLs are not 500 outbound requests', async () => {
    const fetched: string[] = [];
    const h = await startHarness({}, { fetcher: { fetch: async (url: string) => { fetched.push(url); return { ok: false, reason: 'status', description: 'a 404 answer' }; } } });
    try {
      for (let i = 0; i < 500; i += 1) {
        // Any public host, any port: https://victim.example:8443/... is as good as a document host.
        const clientId = `https://victim${i % 5}.example:8443/p${i}`;
        await h.request({ method: 'GET', url: `/oauth/authorize?client_id=${encodeURIComponent(clientId)}&response_type=code`, headers: { host: '127.0.0.1:7777' } });
      }
      expect(fetched.length).toBeLessThan(100);
    } finally {
      await h.close();
    }
  });
});

describe('redirects nobody asked for', () => {
  it('does not send a browser, unprompted, to a redirect URI that anyone registered a minute ago (RFC 9700 section 4.11.2)', async () => {
    await withHarness({}, async (h) => {
      const agent = oauthAgent(h, BASE);
      // No account, no person: one unauthenticated registration, then a link on Latchkey's own host.
      const clientId = await agent.register({ client_name: 'Anything', redirect_uris: ['https://evil.example/phish'] });
      const sent = await h.request({ method: 'GET', url: `/oauth/authorize?client_id=${clientId}`, headers: { host: '127.0.0.1:7777' } });
      expect(sent.statusCode).toBe(400);
      expect(sent.headers.location).toBeUndefined();
    });
  });

  it('nor registers an operating system’s protocol handler as a redirect URI (ms-msdt:, search-ms:, ms-officecmd:, itms-services:)', async () => {
    await withHarness({}, async (h) => {
      for (const uri of ['ms-msdt:/id', 'search-ms:/query', 'ms-officecmd:/x', 'itms-services://x/y']) {
        const refused = await h.request({ method: 'POST', url: '/oauth/register', payload: { client_name: 'Anything', redirect_uris: [uri] } });
        expect(refused.statusCode, uri).toBe(400);
        expect(refused.json(), uri).toMatchObject({ error: 'invalid_redirect_uri' });
      }
    });
  });
});

describe('a refresh token replayed within its grace', () => {
  it('does not fork the connection into two lines that both refresh: the second line used revokes the grant', async () => {
    await withHarness({}, async (h) => {
      const agent = oauthAgent(h, BASE);
      const owner = await ownerSession(h);
      const { pair, clientId } = await agent.connect(owner);
      const refresh = (token: string) => agent.tokens({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
      const legit = expectStatus(await refresh(pair.refresh_token), 200);
      h.clock.advance(30_000);
      // A copy of the refresh token, taken in transit or from a log, used 30 s after the agent used it.
      const thief = expectStatus(await refresh(pair.refresh_token), 200);
      h.clock.advance(3_000_000);
      expectStatus(await refresh(legit.refresh_token), 200);
      expect((await refresh(thief.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
      const mcp = (token: string) => h.request({ method: 'POST', url: '/mcp', headers: { host: '127.0.0.1:7777', authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
      expect((await mcp(legit.access_token)).statusCode).toBe(401);
      const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=oauth.replay_detected', headers: asSession(owner) }), 200).data;
      expect(audit).toEqual([expect.objectContaining({ details: expect.objectContaining({ reason: 'a refresh token presented after another successor of the same token was used' }) })]);
    });
  });

  it('ends the grace once a successor is used: the old token presented again then is a replay', async () => {
    await withHarness({}, async (h) => {
      const agent = oauthAgent(h, BASE);
      const { pair, clientId } = await agent.connect(await ownerSession(h));
      const refresh = (token: string) => agent.tokens({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
      const next = expectStatus(await refresh(pair.refresh_token), 200);
      expectStatus(await refresh(next.refresh_token), 200);
      h.clock.advance(10_000);
      expect((await refresh(pair.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
      expect((await refresh(next.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    });
  });
});
