/**
 * An agent connected to one node while its token is changed on another: each node has its own
 * verify cache, and the change reaches the agent's node through the invalidation feed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, createToken, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { DIALECT, startHarness, type Harness } from '../helpers/harness.js';
import { connectAgent } from './agent.js';

if (DIALECT !== 'postgres') console.warn('two-node MCP tests skipped: they need PostgreSQL (the PostgreSQL pass of npm test runs them)');

describe.skipIf(DIALECT !== 'postgres')('an agent on node 2, its token changed on node 1', () => {
  let one: Harness;
  let two: Harness;
  let baseTwo: string;
  let owner: Session;
  beforeAll(async () => {
    one = await startHarness();
    two = await startHarness({}, { nodeOf: one });
    baseTwo = await two.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ownerSession(one);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  /** Calls a tool on node 2 until it is refused with `code`; the time that took. */
  const refusedWithin = async (call: () => Promise<unknown>, code: string): Promise<number> => {
    const since = Date.now();
    for (;;) {
      const refused = await call().then(() => null, (error: Error) => error);
      if (refused !== null) {
        expect(refused.message).toContain(code);
        return Date.now() - since;
      }
      if (Date.now() - since > 5000) throw new Error(`node 2 still accepts the token after 5 s (waiting for ${code})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('is refused at its next calls within a second of a pause, works again after a resume, and never after a revocation', async () => {
    const { secret, token } = await createToken(one, asSession(owner), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    const { client, close } = await connectAgent(baseTwo, secret);
    const list = () => client.callTool({ name: 'list_domains', arguments: {} });
    try {
      expect((await list()).isError).toBeFalsy();
      expect((await list()).isError).toBeFalsy();
      expectStatus(await one.request({ method: 'POST', url: `/v1/tokens/${token.id}/pause`, headers: asSession(owner), payload: {} }), 200);
      expect(await refusedWithin(list, 'token_paused')).toBeLessThan(1000);
      expectStatus(await one.request({ method: 'POST', url: `/v1/tokens/${token.id}/resume`, headers: asSession(owner), payload: {} }), 200);
      await expect.poll(async () => (await list().catch(() => ({ isError: true }))).isError ?? false, { timeout: 5000, interval: 20 }).toBe(false);
      expectStatus(await one.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(owner), payload: {} }), 200);
      expect(await refusedWithin(list, 'token_revoked')).toBeLessThan(1000);
    } finally {
      await close();
    }
  });
});
