/** OWASP API9:2023 Improper Inventory Management: every route is documented, nothing answers off the books. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TOOLS, type ToolName } from '../../src/mcp/tools.js';
import { entriesOf } from '../mcp/agent.js';
import { bearer, expectError, expectStatus } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { agentToken, callTool, draftIn, listedTools, listening, mailTo, signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
let b: Party;
let base: string;
beforeAll(async () => {
  ({ h, a, b } = await world());
  base = await listening(h);
});
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

/** Every method and path the router knows, from Fastify's own route tree. */
function registeredRoutes(): string[] {
  const tree = h.app.printRoutes({ commonPrefix: false, includeMeta: false });
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)(?:[└├]── )?(\S.*?) \(([A-Z, ]+)\)$/.exec(line) ?? /^([│ ]*)(?:[└├]── )?(\S.*)$/.exec(line);
    if (!match) continue;
    const depth = Math.floor(match[1]!.length / 4);
    stack.length = depth;
    stack.push(match[2]!);
    if (match[3]) for (const method of match[3].split(', ')) routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

describe('API9 improper inventory management', () => {
  it('documents every /v1 and /admin route the server answers in /openapi.json, with its methods', async () => {
    const spec = expectStatus(await h.request({ method: 'GET', url: '/openapi.json' }), 200) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)));
    const served = registeredRoutes().filter((route) => / \/(v1|admin)\//.test(route) && !route.startsWith('HEAD '));
    expect(served.length).toBeGreaterThanOrEqual(30);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('serves the API under /v1 only: no unversioned or /api aliases answer', async () => {
    for (const url of ['/tokens', '/api/tokens', '/api/v1/tokens', '/v0/tokens', '/v2/tokens']) {
      expectError(await h.request({ method: 'POST', url, headers: bearer(a.full.secret), payload: { name: 'x', scopes: ['domains:read'] } }), 404, 'not_found');
    }
  });

  it('answers TRACE and unknown methods in the spec’s shape', async () => {
    for (const method of ['TRACE', 'PUT'] as const) {
      const response = await h.request({ method, url: '/v1/tokens', headers: a.session });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: expect.any(String) } });
    }
  });

  it('exposes no token ids, account ids or secrets through /metrics', async () => {
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(a.full.secret) }), 200);
    const metrics = (await h.request({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('latchkey_');
    for (const leak of [a.full.secret, a.full.token.id, a.owner.accountId, a.owner.email]) expect(metrics).not.toContain(leak);
  });
});

const MCP_DOC = readFileSync(new URL('../../docs/mcp.md', import.meta.url), 'utf8');
const PRIVATE_SUBJECT = 'Confidential: the Initech layoffs, do not forward';
const PASSWORD_LIKE = 'hunter2-Tr0ub4dor&3-correct-horse';

describe('API9 improper inventory management at /mcp', () => {
  it('serves no tool that docs/mcp.md does not name, and answers an unknown or prototype name as no tool at all', async () => {
    for (const tool of TOOLS) expect(MCP_DOC, tool.name).toContain(`| \`${tool.name}\` |`);
    const { secret } = await agentToken(h, a, ['mcp:read', 'mcp:write', 'mcp:send']);
    const served = new Set([...(await listedTools(base, secret)), ...(await listedTools(base, a.message.secret))]);
    expect([...served].sort()).toEqual(TOOLS.map((t) => t.name).sort());
    for (const name of ['admin', 'create_token', 'constructor', '__proto__', 'toString', 'WHOAMI', 'whoami ', 'mcp:whoami']) {
      const answer = await callTool(base, secret, name);
      expect(answer.status, name).toBe(200);
      expect(answer.result, name).toBeUndefined();
      expect(answer.body.error.code).toBe(-32602);
    }
  });

  it('logs every tool call as mcp:<tool> naming its arguments, never their values: not in the access log, its CSV or the server log', async () => {
    const { secret, token } = await agentToken(h, a, ['mcp:read', 'mcp:write', 'mcp:send']);
    const message = await mailTo(h, a, a.mailbox, 'to be sorted');
    const draft = await draftIn(h, a, a.mailbox.id, a.mailbox.address);
    const calls: [ToolName, Record<string, unknown>][] = [
      ['whoami', {}],
      ['list_domains', { limit: 7 }],
      ['list_mailboxes', { domain_id: a.domain.id }],
      ['list_activity', { limit: 3 }],
      ['search_messages', { from: b.reader.secret, text: PASSWORD_LIKE }],
      ['read_message', { message_id: message }],
      ['create_mailbox', { domain_id: a.domain.id, local_part: `logged${Date.now()}` }],
      ['mark_message', { message_id: message, read: true }],
      ['move_message', { message_id: message, folder: 'archive' }],
      ['create_draft', { mailbox_id: a.mailbox.id, to: [a.mailbox.address], subject: PRIVATE_SUBJECT, text: PASSWORD_LIKE }],
      ['send_email', { from_mailbox_id: a.mailbox.id, to: [a.mailbox.address], subject: PRIVATE_SUBJECT, text: PASSWORD_LIKE }],
      ['send_draft', { message_id: draft }],
    ];
    expect(calls.map(([tool]) => tool).sort()).toEqual(TOOLS.map((t) => t.name).sort());
    for (const [tool, args] of calls) {
      const answer = await callTool(base, secret, tool, args);
      expect(answer.result?.isError, `${tool}: ${answer.text}`).toBeFalsy();
    }
    const entries = await entriesOf(h, a.owner, token.id);
    expect(entries.map((e) => [e.route, e.status, e.request_summary])).toEqual(
      calls.map(([tool, args]) => [`mcp:${tool}`, 200, Object.keys(args).length ? `arguments: ${Object.keys(args).join(', ')}` : '']),
    );
    const csv = (await h.request({ method: 'GET', url: `/v1/access-logs?format=csv&token_id=${token.id}&limit=100`, headers: a.session })).body;
    for (const route of calls.map(([tool]) => `mcp:${tool}`)) expect(csv).toContain(route);
    const values = [PRIVATE_SUBJECT, PASSWORD_LIKE, b.reader.secret, b.reader.secret.slice(8, 30)];
    // Ids and addresses given as arguments too, though the server log holds them from the REST requests that made them.
    const ids = [message, draft, a.domain.id, a.mailbox.address];
    for (const [place, text, also] of [['access log', JSON.stringify(entries), ids], ['CSV', csv, ids], ['server log', h.logs.join(''), []]] as const) {
      expect([...values, ...also].filter((value) => text.includes(value)), place).toEqual([]);
    }
  });
});
