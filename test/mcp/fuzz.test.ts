/**
 * Hostile tool arguments and hostile JSON-RPC, sent raw to a listening server: whatever arrives,
 * the answer is never a 5xx, always JSON-RPC, and a tool call ends as a result or a tool error.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, createDomain, createToken, ownerSession } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { TOOLS } from '../../src/mcp/tools.js';
import { post } from './agent.js';

let h: Harness;
let base: string;
let secret: string;
let domainId: string;

beforeAll(async () => {
  h = await startHarness({}, { trackInputSecrets: false });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  const owner = await ownerSession(h);
  domainId = (await createDomain(h, asSession(owner))).id;
  secret = (await createToken(h, asSession(owner), { name: 'fuzzed', type: 'mcp', scopes: ['mcp:read'] })).secret;
});
afterAll(() => h.close());

const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '../../etc/passwd', '\u0000', "' or 1=1--", '<script>', '\u202e', 'x'.repeat(5000), 'dom_01JZZZZZZZZZZZZZZZZZZZZZZZ', '__proto__'),
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
);
const value = fc.oneof(hostile, fc.array(hostile, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 10 }), hostile, { maxKeys: 4 }));
const argumentsOf = fc.oneof(
  fc.dictionary(fc.constantFrom('domain_id', 'limit', 'cursor', 'x', 'arguments'), value, { maxKeys: 4 }),
  fc.record({ domain_id: fc.oneof(fc.constant(''), hostile), limit: fc.oneof(fc.integer({ min: -5, max: 500 }), hostile), cursor: hostile }, { requiredKeys: [] }),
  value,
);
const headers = { authorization: '', 'mcp-protocol-version': '2025-11-25' };

describe('fuzzing /mcp', () => {
  it('answers any arguments to any tool with a result or a tool error, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TOOLS.map((t) => t.name), 'nope', ''), argumentsOf, async (name, args) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
        const response = await post(base, body, { ...headers, authorization: `Bearer ${secret}` });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(500);
        const answer = JSON.parse(text);
        expect(answer.jsonrpc).toBe('2.0');
        if (answer.result) {
          expect(answer.result.isError === true || answer.result.structuredContent !== undefined, text).toBe(true);
          // Bad input is the caller's mistake, never the server's.
          expect(answer.result.content[0].text, text).not.toMatch(/^internal_error/);
        }
        else expect(answer.error.code, text).toEqual(expect.any(Number));
      }),
      { numRuns: 150 },
    );
    // Whatever names were given, the access log still writes (PostgreSQL stores no NUL).
    await h.ctx.accessLog.flush();
    // The known-good call still works afterwards.
    const ok = await post(base, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_mailboxes', arguments: { domain_id: domainId } } }), { ...headers, authorization: `Bearer ${secret}` });
    expect((await ok.json()).result.structuredContent.mailboxes).toEqual([]);
  });

  it('refuses a NUL in an id, and logs argument and method names holding control characters without breaking the log', async () => {
    const auth = { ...headers, authorization: `Bearer ${secret}` };
    const refused = await post(base, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_mailboxes', arguments: { domain_id: 'dom\u0000x', 'odd\u0000name\u001b': 1 } } }), auth);
    expect((await refused.json()).result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^invalid_request: /) }] });
    expect((await post(base, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'no\u0000such' }), auth)).status).toBe(200);
    await h.ctx.accessLog.flush();
    const rows = await h.store.db.selectFrom('access_logs').select('request_summary').where('request_summary', 'like', '%name%').execute();
    expect(rows.map((r) => r.request_summary)).toContain('arguments: domain_id, odd\uFFFDname\uFFFD');
  });

  it('answers any JSON-RPC-shaped body, batch or header with a JSON-RPC answer below 500', async () => {
    const message = fc.record({
      jsonrpc: fc.oneof(fc.constant('2.0'), hostile),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), hostile),
      method: fc.oneof(fc.constantFrom('initialize', 'ping', 'tools/list', 'tools/call', 'server/discover', 'subscriptions/listen', 'notifications/initialized', 'resources/list'), hostile),
      params: fc.oneof(value, fc.record({ name: hostile, arguments: value, _meta: value, protocolVersion: hostile }, { requiredKeys: [] })),
    }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(message, fc.array(message, { maxLength: 3 }), value), fc.constantFrom(undefined, '2025-03-26', '2025-06-18', '2026-07-28', 'garbage'), async (body, version) => {
        const response = await post(base, JSON.stringify(body), { authorization: `Bearer ${secret}`, ...(version ? { 'mcp-protocol-version': version } : {}) });
        const text = await response.text();
        expect(response.status, `${JSON.stringify(body)} → ${text}`).toBeLessThan(500);
        if (response.status !== 202) expect(JSON.parse(text), text).toBeTruthy();
      }),
      { numRuns: 150 },
    );
    await h.ctx.accessLog.flush();
  });
});
