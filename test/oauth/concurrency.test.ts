/**
 * OAuth's single-use secrets under real concurrency (on PostgreSQL, each request on its own
 * connection): a code presented several times at once issues one pair and then revokes it; a
 * refresh token presented several times at once within its grace gives each a working pair, and
 * once the grace is over the next presentation revokes the whole connection. And a Disconnect on
 * one node is refused on another within the invalidation bound.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import { DIALECT, startHarness, type Harness } from '../helpers/harness.js';
import { INITIALIZE } from '../mcp/agent.js';
import { oauthAgent, pkce, REDIRECT } from './client.js';

/** One POST of `initialize` to /mcp through `node`, the way an agent's first request goes. */
const mcpStatus = async (node: Harness, token: string, host: string): Promise<number> => (await node.request({
  method: 'POST', url: '/mcp', payload: INITIALIZE,
  headers: { host, authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
})).statusCode;

const actionsOf = async (h: Harness, owner: Session): Promise<string[]> =>
  expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: asSession(owner) }), 200).data.map((event: { action: string }) => event.action);

describe('single-use secrets presented at once', () => {
  let h: Harness;
  let base: string;
  let agent: ReturnType<typeof oauthAgent>;
  shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, (base = url))) });
  const host = () => new URL(base).host;

  it('a code redeemed k times at once issues exactly one pair, and everything it issued is revoked when k > 1', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 5 }), async (k) => {
      const owner = await ownerSession(h);
      const clientId = await agent.register();
      const { verifier, challenge } = pkce();
      const back = await agent.consent(owner, agent.authorizeQuery(clientId, challenge));
      const form = { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${base}/mcp` };
      const answers = await Promise.all(Array.from({ length: k }, () => agent.tokens(form)));
      const issued = answers.filter((answer) => answer.statusCode === 200).map((answer) => answer.json());
      expect(issued).toHaveLength(1);
      for (const refused of answers.filter((answer) => answer.statusCode !== 200)) expect(refused.json()).toMatchObject({ error: 'invalid_grant' });
      const pair = issued[0]!;
      expect(await mcpStatus(h, pair.access_token, host())).toBe(k === 1 ? 200 : 401);
      const refreshed = await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
      expect(refreshed.statusCode).toBe(k === 1 ? 200 : 400);
      expect((await actionsOf(h, owner)).includes('oauth.code_reused')).toBe(k > 1);
    }), { numRuns: 8 });
  });

  it('a refresh token presented k times at once within its grace gives k working pairs; after the grace it revokes them all', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 5 }), async (k) => {
      const owner = await ownerSession(h);
      const { clientId, pair } = await agent.connect(owner);
      const refresh = () => agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
      const answers = await Promise.all(Array.from({ length: k }, refresh));
      expect(answers.map((answer) => answer.statusCode)).toEqual(Array(k).fill(200));
      const pairs = answers.map((answer) => answer.json() as { access_token: string; refresh_token: string });
      expect(new Set(pairs.map((each) => each.access_token)).size).toBe(k);
      for (const each of pairs) expect(await mcpStatus(h, each.access_token, host())).toBe(200);
      expect(await actionsOf(h, owner)).not.toContain('oauth.replay_detected');
      h.clock.advance(61_000);
      expect((await refresh()).json()).toMatchObject({ error: 'invalid_grant' });
      for (const each of [pair, ...pairs]) expect(await mcpStatus(h, each.access_token, host())).toBe(401);
      expect((await agent.tokens({ grant_type: 'refresh_token', refresh_token: pairs[0]!.refresh_token, client_id: clientId })).json()).toMatchObject({ error: 'invalid_grant' });
      expect(await actionsOf(h, owner)).toContain('oauth.replay_detected');
    }), { numRuns: 6 });
  });
});

describe.skipIf(DIALECT !== 'postgres')('Disconnect on one node, the agent on another', () => {
  const PUBLIC_URL = 'https://latchkey.test';
  let one: Harness;
  let two: Harness;
  beforeAll(async () => {
    one = await startHarness({ LATCHKEY_PUBLIC_URL: PUBLIC_URL });
    two = await startHarness({ LATCHKEY_PUBLIC_URL: PUBLIC_URL }, { nodeOf: one });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('is refused on the other node within a second, access token and refresh token alike', async () => {
    const agent = oauthAgent(one, PUBLIC_URL);
    const owner = await ownerSession(one);
    const { clientId, pair } = await agent.connect(owner);
    const host = new URL(PUBLIC_URL).host;
    expect(await mcpStatus(two, pair.access_token, host)).toBe(200);
    expect(await mcpStatus(two, pair.access_token, host)).toBe(200);
    const [connection] = expectStatus(await one.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;
    const since = Date.now();
    expectStatus(await one.request({ method: 'DELETE', url: `/v1/connected-agents/${connection.id}`, headers: asSession(owner) }), 204);
    await expect.poll(() => mcpStatus(two, pair.access_token, host), { timeout: 5000, interval: 10 }).toBe(401);
    expect(Date.now() - since).toBeLessThan(1000);
    const refreshed = await oauthAgent(two, PUBLIC_URL).tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId });
    expect(refreshed.json()).toMatchObject({ error: 'invalid_grant' });
  });
});
