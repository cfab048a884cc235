/** OWASP API9:2023 Improper Inventory Management: every route is documented, nothing answers off the books. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, expectError, expectStatus } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
beforeAll(async () => ({ h, a } = await world()));
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
