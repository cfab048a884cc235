import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asSession, bearer, createToken, expectStatus, operator, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { oauthAgent } from './client.js';

/**
 * Introspection (RFC 7662): a resource server of the platform, holding the operator credential,
 * asks whether an access token issued through OAuth is live and what it carries, and compares
 * `aud` with itself. Anything else reads `{active: false}`, with nothing to tell the cases apart.
 */
let h: Harness;
let base: string;
let agent: ReturnType<typeof oauthAgent>;
shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, (base = url))) });

const introspect = (token: string, headers: Record<string, string> = operator(h), extra: Record<string, string> = {}) => h.request({
  method: 'POST', url: '/oauth/introspect', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  payload: new URLSearchParams({ token, ...extra }).toString(),
});

describe('token introspection', () => {
  it('is announced in the metadata and describes a live access token: client, person, audience, access, expiry', async () => {
    const metadata = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
    expect(metadata).toMatchObject({ introspection_endpoint: `${base}/oauth/introspect`, introspection_endpoint_auth_methods_supported: ['bearer'] });
    const owner = await ownerSession(h);
    const { clientId, pair } = await agent.connect(owner, { scopes: ['mcp:read'] });
    const answer = await introspect(pair.access_token, operator(h), { token_type_hint: 'access_token' });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(expectStatus(answer, 200)).toEqual({
      active: true, token_type: 'Bearer', scope: 'mcp:read', client_id: clientId, username: owner.email, sub: expect.stringMatching(/^usr_/),
      aud: `${base}/mcp`, iss: 'http://localhost:80', exp: Math.floor(h.clock.now() / 1000) + 3600, account_id: owner.accountId, domains: null,
    });
  });

  it('answers only active: false for a refresh token, a hand-made token, an expired, revoked or disconnected one, or garbage', async () => {
    const owner = await ownerSession(h);
    const handMade = await createToken(h, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    const first = await agent.connect(owner);
    const second = await agent.connect(owner);
    const agents = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data as { id: string; client: { id: string } }[];
    const firstAgent = agents.find((listed) => listed.client.id === first.clientId)!;
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/connected-agents/${firstAgent.id}`, headers: asSession(owner) }), 204);
    for (const token of [first.pair.access_token, first.pair.refresh_token, handMade.secret, 'lk_mcp_nonsense', second.pair.access_token.slice(0, -1)]) {
      expect(expectStatus(await introspect(token), 200), token.slice(0, 12)).toEqual({ active: false });
    }
    expect(expectStatus(await introspect(second.pair.access_token), 200)).toMatchObject({ active: true });
    h.clock.advance(3600_000);
    expect(expectStatus(await introspect(second.pair.access_token), 200)).toEqual({ active: false });
  });

  it('asks for the operator credential: nobody else, not even the token itself, may introspect', async () => {
    const { pair } = await agent.connect(await ownerSession(h));
    for (const headers of [{}, bearer(pair.access_token), bearer('not-the-operator')]) {
      const refused = await introspect(pair.access_token, headers);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toEqual({ error: 'invalid_token', error_description: expect.any(String) });
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="latchkey", error="invalid_token"');
      expect(refused.body).not.toContain(pair.access_token);
    }
    expect(expectStatus(await h.request({ method: 'POST', url: '/oauth/introspect', headers: operator(h), payload: { token: pair.access_token } }), 400)).toMatchObject({ error: 'invalid_request' });
  });

  it('never answers 5xx nor echoes what it was sent, whatever the form', async () => {
    await fc.assert(fc.asyncProperty(fc.dictionary(fc.constantFrom('token', 'token_type_hint', 'x'), fc.string({ maxLength: 200 })), async (fields) => {
      const answer = await introspect('', operator(h), fields);
      expect(answer.statusCode).toBeLessThan(500);
      if (answer.statusCode === 200) expect(answer.json()).toEqual({ active: false });
    }), { numRuns: 60 });
  });
});
