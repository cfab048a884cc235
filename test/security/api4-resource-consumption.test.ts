/** OWASP API4:2023 Unrestricted Resource Consumption: bodies, pages, lists and request rates are bounded. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createToken, expectError, expectStatus } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { entriesOf } from '../mcp/agent.js';
import { agentToken, callTool, listening, postMcp, signInAgain, toolCall, world, type Party } from './world.js';

let h: Harness;
let a: Party;
let base: string;
beforeAll(async () => {
  ({ h, a } = await world());
  base = await listening(h);
});
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

const createWith = (payload: unknown, headers: Record<string, string> = {}) =>
  h.request({ method: 'POST', url: '/v1/tokens', headers: { ...a.session, 'content-type': 'application/json', ...headers }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

describe('API4 unrestricted resource consumption', () => {
  it('refuses a 2 MiB body with 400 before parsing it', async () => {
    expectError(await createWith({ name: 'x', scopes: ['domains:read'], description: 'x'.repeat(2 * 1024 * 1024) }), 400, 'invalid_request');
  });

  it('refuses JSON nested 10,000 deep with 400', async () => {
    expectError(await createWith(`{"name":${'['.repeat(10_000)}${']'.repeat(10_000)}}`), 400, 'invalid_request');
  });

  it('refuses lists longer than their bound: 101 scopes, 101 domains, 101 allowlist entries', async () => {
    for (const [field, item] of [['scopes', 'domains:read'], ['domains', a.domain.id], ['ip_allowlist', '10.0.0.1']] as const) {
      const error = expectError(await createWith({ name: 'big', scopes: ['domains:read'], [field]: Array(101).fill(item) }), 400, 'invalid_request');
      expect(JSON.stringify(error.details)).toContain(field);
    }
  });

  it('refuses a page size above 100 and a negative one', async () => {
    for (const url of ['/v1/tokens?limit=101', '/v1/tokens?limit=-1', '/v1/access-logs?limit=100000', '/v1/audit-log?limit=0']) {
      expectError(await h.request({ method: 'GET', url, headers: a.session }), 400, 'invalid_request');
    }
  });

  it('refuses an over-long name and search text', async () => {
    expectError(await createWith({ name: 'n'.repeat(10_000), scopes: ['domains:read'] }), 400, 'invalid_request');
    expectError(await h.request({ method: 'GET', url: `/v1/tokens?q=${'q'.repeat(1000)}`, headers: a.session }), 400, 'invalid_request');
  });

  it('holds a token to its own rate limit with 429 and Retry-After', async () => {
    const { secret } = await createToken(h, a.session, { name: 'limited', scopes: ['domains:read'], rate_limit: { requests: 3, per: '1m' } });
    for (let i = 0; i < 3; i += 1) expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    const limited = await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers a 5,000-character path parameter with 400 in the spec’s shape, not the router’s own 414', async () => {
    for (const url of [`/v1/tokens/${'x'.repeat(5000)}`, `/v1/domains/${'x'.repeat(200)}/mailboxes`]) {
      expectError(await h.request({ method: 'GET', url, headers: a.session }), 400, 'invalid_request');
    }
    expectError(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${'x'.repeat(5000)}`, headers: { authorization: `Bearer ${h.operatorToken}` }, payload: { plan: 'pro' } }), 400, 'invalid_request');
  });

  it('refuses a malformed cursor with 400 rather than scanning', async () => {
    expectError(await h.request({ method: 'GET', url: '/v1/tokens?cursor=%00%00not-a-cursor', headers: a.session }), 400, 'invalid_request');
  });
});

const OLD_BATCHES = { 'mcp-protocol-version': '2025-03-26' };

describe('API4 unrestricted resource consumption, at /mcp', () => {
  it('refuses a body over 1 MiB with 413 and a batch over 20 messages with 400, running no tool of either', async () => {
    const { secret, token } = await agentToken(h, a, ['mcp:read', 'mcp:write']);
    const auth = bearer(secret);
    const big = await postMcp(base, toolCall('create_draft', { mailbox_id: a.mailbox.id, to: ['x@example.com'], subject: 'big', text: 'x'.repeat(1_100_000) }), auth);
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe(-32000);
    const batch = await postMcp(base, Array.from({ length: 21 }, (_, i) => toolCall('create_mailbox', { domain_id: a.domain.id, local_part: `flood${i}` }, i + 1)), { ...auth, ...OLD_BATCHES });
    expect(batch.status).toBe(400);
    expect(batch.body.error).toMatchObject({ code: -32600, message: expect.stringContaining('at most 20') });
    expect((await entriesOf(h, a.owner, token.id)).filter((e) => String(e.route).startsWith('mcp:'))).toEqual([]);
    const mailboxes = expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${a.domain.id}/mailboxes?limit=100`, headers: a.session }), 200).data;
    expect(mailboxes.map((m: { address: string }) => m.address).filter((address: string) => address.startsWith('flood'))).toEqual([]);
  });

  // The error names what is wrong so that a model can correct itself, but it is read into the
  // model's context: it may not repeat every unknown name a caller sent, nor one name whole.
  it('answers a huge arguments object or a huge argument with a short tool error, not a long one or a crash', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    const manyKeys = Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, i]));
    const cases: Record<string, unknown>[] = [
      manyKeys,
      { ['k'.repeat(900_000)]: 1 },
      { limit: 1e308 },
      { text: 'q'.repeat(900_000) },
      { from: Array(50_000).fill('a') },
      { mailbox_id: 'm'.repeat(500_000) },
    ];
    for (const args of cases) {
      const answer = await callTool(base, secret, 'search_messages', args);
      expect(answer.status, answer.raw.slice(0, 200)).toBe(200);
      expect(answer.result?.isError).toBe(true);
      expect(answer.text).toMatch(/^invalid_request: invalid arguments for search_messages: /);
      expect(answer.raw.length, `${Object.keys(args).length} keys: ${answer.text.slice(0, 300)}`).toBeLessThan(4_000);
    }
  });

  it('answers JSON nested 10,000 and 100,000 deep, in arguments or anywhere in the message, without a 5xx', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read']);
    for (const depth of [10_000, 100_000]) {
      const nested = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const array = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const bodies = [
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_messages","arguments":${nested}}}`,
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_messages","arguments":{"text":${array}}}}`,
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{},"_meta":${nested}}}`,
        `{"jsonrpc":"2.0","id":${array},"method":"ping"}`,
        `[${'['.repeat(depth)}${']'.repeat(depth)}]`,
      ];
      for (const body of bodies) {
        const answer = await postMcp(base, body, bearer(secret));
        expect(answer.status, `${depth}: ${body.slice(0, 90)} → ${answer.raw.slice(0, 200)}`).toBeLessThan(500);
        expect(answer.body?.jsonrpc ?? answer.body?.[0]?.jsonrpc, answer.raw.slice(0, 200)).toBe('2.0');
      }
    }
  });

  it('holds a storm of tool calls, sent at once, to the token’s rate limit with 429 and Retry-After', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read'], { rate_limit: { requests: 5, per: '1m' } });
    const answers = await Promise.all(Array.from({ length: 12 }, () => callTool(base, secret, 'list_domains')));
    expect(answers.filter((r) => r.status === 200 && !r.result?.isError)).toHaveLength(5);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(7);
    for (const answer of refused) {
      expect(answer.body.error.data.code).toBe('rate_limited');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(answer.result).toBeUndefined();
    }
  });

  it('charges every tool call inside one 2025-03-26 batch against the limit, so a batch is no way around it', async () => {
    const { secret } = await agentToken(h, a, ['mcp:read', 'mcp:write'], { rate_limit: { requests: 4, per: '1h' } });
    const batch = await postMcp(base, Array.from({ length: 6 }, (_, i) => toolCall('create_mailbox', { domain_id: a.domain.id, local_part: `batched${Date.now()}x${i}` }, i + 1)), { ...bearer(secret), ...OLD_BATCHES });
    expect(batch.status).toBe(200);
    const results = batch.body.map((m: { result: { isError?: boolean; content: { text: string }[] } }) => m.result);
    expect(results.filter((r: { isError?: boolean }) => !r.isError)).toHaveLength(4);
    expect(results.filter((r: { isError?: boolean }) => r.isError).map((r: { content: { text: string }[] }) => r.content[0]!.text)).toEqual([
      expect.stringMatching(/^rate_limited: /), expect.stringMatching(/^rate_limited: /),
    ]);
    const created = expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${a.domain.id}/mailboxes?limit=100`, headers: a.session }), 200).data;
    expect(created.filter((m: { address: string }) => m.address.startsWith('batched'))).toHaveLength(4);
    // The budget is spent: the next request, batch or not, is refused whole.
    for (const body of [toolCall('whoami'), [toolCall('whoami', {}, 1), toolCall('whoami', {}, 2)]]) {
      const next = await postMcp(base, body, { ...bearer(secret), ...OLD_BATCHES });
      expect(next.status).toBe(429);
      expect(next.headers.get('retry-after')).toMatch(/^\d+$/);
    }
  });
});
