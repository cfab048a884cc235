import { describe, expect, it } from 'vitest';
import { asSession, bearer, createDomain, createToken, expectError, expectStatus, operator, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { INITIALIZE, post } from '../mcp/agent.js';
import { migrate } from '../../src/store/database.js';
import { tokenAudience } from '../../src/store/migrations/007-token-audience.js';
import { oauthLineage } from '../../src/store/migrations/008-oauth-lineage.js';
import { people } from '../../src/store/migrations/009-people.js';
import { storeUpgrades } from '../../src/services/upgrade.js';
import { DIALECT, TEST_AUDIT_KEY } from '../helpers/harness.js';
import { oauthAgent, pkce, REDIRECT } from './client.js';

/**
 * An access token issued through OAuth is for the resource it names (RFC 8707) and nowhere else:
 * not the platform API's routes that an AI-agent token made by hand may use, not `/v1/verify`
 * without that resource, not the MCP endpoint reached under another name. And it belongs to its
 * connection: people may revoke it, not rotate, resume or reshape it into a token that would
 * outlive a disconnect.
 */
let h: Harness;
let base: string;
let agent: ReturnType<typeof oauthAgent>;
shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, (base = url))) });

const connected = async () => {
  const owner = await ownerSession(h);
  const domain = await createDomain(h, asSession(owner));
  const { pair } = await agent.connect(owner, { scopes: ['mcp:read', 'mcp:write'] });
  const listed = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?type=mcp', headers: asSession(owner) }), 200).data as { id: string }[];
  return { owner, domain, pair, tokenId: listed[0]!.id };
};

describe('an OAuth access token is valid only at its resource', () => {
  it('is refused by the platform API routes that a hand-made AI-agent token with the same scopes may use', async () => {
    const { owner, domain, pair } = await connected();
    const handMade = await createToken(h, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read', 'mcp:write'] });
    for (const url of ['/v1/domains', `/v1/domains/${domain.id}`]) {
      expectStatus(await h.request({ method: 'GET', url, headers: bearer(handMade.secret) }), 200);
      const refused = await h.request({ method: 'GET', url, headers: bearer(pair.access_token) });
      expect(expectError(refused, 401, 'unauthorized').message).toBe('this token was issued for another resource');
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="latchkey", error="invalid_token"');
    }
    expectError(await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: bearer(pair.access_token) }), 401, 'unauthorized');
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${domain.id}`, headers: asSession(owner) }), 200);
  });

  it('verifies for a service only when the service names that resource', async () => {
    const { pair } = await connected();
    const ask = (extra: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/verify', headers: operator(h), payload: { token: pair.access_token, scope: 'mcp:read', ...extra } });
    expect(expectStatus(await ask({}), 200)).toEqual({ valid: false, code: 'unauthorized' });
    expect(expectStatus(await ask({ resource: 'https://elsewhere.example/mcp' }), 200)).toEqual({ valid: false, code: 'unauthorized' });
    expect(expectStatus(await ask({ resource: `${base}/mcp` }), 200)).toMatchObject({ valid: true, token: { type: 'mcp' } });
  });

  it('answers at /mcp as the resource it was issued for, and is refused there under another host name', async () => {
    const { pair } = await connected();
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(200);
    const elsewhere = base.replace('127.0.0.1', 'localhost');
    const refused = await post(elsewhere, INITIALIZE, { authorization: `Bearer ${pair.access_token}` });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });
});

describe('the upgrade that brought audiences', () => {
  it('binds the access tokens issued before it to their grant’s resource, and no other token', async () => {
    const { owner, pair, tokenId } = await connected();
    const handMade = await createToken(h, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    await people(DIALECT).down!(h.store.db);
    await oauthLineage(DIALECT).down!(h.store.db);
    await tokenAudience(DIALECT).down!(h.store.db);
    await h.store.db.deleteFrom('kysely_migration' as never).where('name' as never, 'in', ['007-token-audience', '008-oauth-lineage', '009-people'] as never).execute();
    await migrate(h.store.db, DIALECT, storeUpgrades([TEST_AUDIT_KEY], h.clock));
    const rows = await h.store.db.selectFrom('tokens').select(['id', 'audience']).where('id', 'in', [tokenId, handMade.token.id]).execute();
    expect(Object.fromEntries(rows.map((row) => [row.id, row.audience]))).toEqual({ [tokenId]: `${base}/mcp`, [handMade.token.id]: null });
    h.ctx.verifier.clear();
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(pair.access_token) }), 401, 'unauthorized');
  });
});

describe('a connected agent’s token belongs to its connection', () => {
  it('cannot be rotated, paused, resumed, renamed or edited by a person, and can be revoked', async () => {
    const { owner, tokenId, pair } = await connected();
    const fresh = asSession(owner);
    for (const [method, url, payload] of [
      ['POST', `/v1/tokens/${tokenId}/rotate`, {}], ['POST', `/v1/tokens/${tokenId}/pause`, {}], ['POST', `/v1/tokens/${tokenId}/resume`, {}],
      ['PATCH', `/v1/tokens/${tokenId}`, { name: 'renamed' }], ['PATCH', `/v1/tokens/${tokenId}`, { scopes: ['mcp:read'] }],
    ] as const) {
      const refused = expectError(await h.request({ method, url, headers: fresh, payload }), 409, 'conflict');
      expect(refused.message).toMatch(/^a connected agent's token cannot .*: revoke it, or disconnect the agent$/);
    }
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(200);
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${tokenId}/revoke`, headers: fresh, payload: {} }), 200);
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${pair.access_token}` })).status).toBe(401);
  });

  it('ends its connection when revoked, deleted, or revoked with its domain: the refresh token brings no other', async () => {
    const ways: [string, (owner: Awaited<ReturnType<typeof ownerSession>>, tokenId: string, domainId: string) => Promise<void>][] = [
      ['revoked', async (owner, tokenId) => void expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${tokenId}/revoke`, headers: asSession(owner), payload: { reason: 'stop it' } }), 200)],
      ['deleted', async (owner, tokenId) => void expectStatus(await h.request({ method: 'DELETE', url: `/v1/tokens/${tokenId}`, headers: asSession(owner) }), 204)],
      ['revoked with its domain', async (owner, _tokenId, domainId) => void expectStatus(await h.request({ method: 'DELETE', url: `/v1/domains/${domainId}`, headers: asSession(owner) }), 204)],
    ];
    for (const [why, end] of ways) {
      const owner = await ownerSession(h);
      const domain = await createDomain(h, asSession(owner));
      const { clientId, pair } = await agent.connect(owner, { domains: [domain.id] });
      const tokenId = (expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?type=mcp', headers: asSession(owner) }), 200).data as { id: string }[])[0]!.id;
      // The same agent connected again (a step-up, a second machine): one connection, which ends whole.
      const again = pkce();
      const code = (await agent.consent(owner, agent.authorizeQuery(clientId, again.challenge))).searchParams.get('code')!;
      const second = expectStatus(await agent.tokens({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: again.verifier, resource: `${base}/mcp` }), 200);
      await end(owner, tokenId, domain.id);
      for (const each of [pair, second]) {
        expect((await post(base, INITIALIZE, { authorization: `Bearer ${each.access_token}` })).status, why).toBe(401);
        const refreshed = await agent.tokens({ grant_type: 'refresh_token', refresh_token: each.refresh_token, client_id: clientId });
        expect(refreshed.statusCode, why).toBe(400);
        expect(JSON.parse(refreshed.body).error, why).toBe('invalid_grant');
      }
      expect(expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data, why).toEqual([]);
      const events = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=oauth.grant_revoked', headers: asSession(owner) }), 200).data;
      expect(events, why).toHaveLength(2);
      for (const event of events) expect(event, why).toMatchObject({ actor: { type: 'user' }, details: { reason: `its access token ${tokenId} was ${why}` } });
    }
  });

  it('is purged with its link to the connection once expired past the retention, and the connection lives on', async () => {
    const owner = await ownerSession(h);
    const { clientId, pair } = await agent.connect(owner, { lifetime: '90d' });
    const tokenId = (expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?type=mcp', headers: asSession(owner) }), 200).data as { id: string }[])[0]!.id;
    h.clock.advance(3600_000 + 31 * 86_400_000 - 60_000);
    const next = expectStatus(await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId }), 200);
    h.clock.advance(120_000);
    expect(await h.ctx.lifecycle.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await h.store.db.selectFrom('oauth_access_tokens').select('token_id').where('token_id', '=', tokenId).execute()).toEqual([]);
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${next.access_token}` })).status).toBe(200);
  });
});
