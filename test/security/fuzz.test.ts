/**
 * Property-based fuzzing of every operation in the OpenAPI document: hostile path parameters,
 * query strings, bodies and Authorization headers. Whatever arrives, the answer is never a 5xx,
 * the process keeps serving, and every error is in the spec's shape with a code from the registry.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/core/errors.js';
import { mintSecret } from '../../src/core/token-format.js';
import { bearer, expectStatus, operator } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
let b: Party;
let operations: { method: string; path: string; query: string[]; body: string[] }[];

beforeAll(async () => {
  ({ h, a, b } = await world({}, { trackInputSecrets: false }));
  const spec = expectStatus(await h.request({ method: 'GET', url: '/openapi.json' }), 200) as {
    paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>>;
  };
  operations = Object.entries(spec.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([method]) => ['get', 'post', 'patch', 'put', 'delete'].includes(method))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: Object.keys(operation.requestBody?.content['application/json']?.schema.properties ?? {}),
      })),
  );
});
beforeEach(() => signInAgain(h, a, b));
afterAll(() => h.close());

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '..', '../../etc/passwd', '%00', '\u0000', "' or 1=1--", '"; drop table tokens;--', '<script>', '${7*7}', '{{7*7}}', 'NaN', '-1', '1e309', '9'.repeat(40), 'null', '[]', '{}', '\u202e', '🔑'.repeat(10), 'x'.repeat(5000)),
);

const idLike = () => fc.oneof(fc.constantFrom(a.full.token.id, b.full.token.id, a.domain.id, b.domain.id, a.mailbox.id, b.mailbox.id, 'tok_01JZZZZZZZZZZZZZZZZZZZZZZZ'), hostileText);

const authorization = () =>
  fc.oneof(
    fc.constant({} as Record<string, string>),
    fc.constant(a.session),
    fc.constant({ cookie: a.owner.cookie } as Record<string, string>),
    fc.constant(bearer(a.full.secret)),
    fc.constant(bearer(a.message.secret)),
    fc.constant(operator(h)),
    fc.constant(bearer(mintSecret('lk', 'live').secret)),
    hostileText.map((text) => ({ authorization: text })),
    hostileText.map((text) => ({ authorization: `Bearer ${text}` })),
  );

const value = fc.oneof(hostileText, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 4 }));

const bodyFor = (fields: string[]) =>
  fc.oneof(
    fields.length ? fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: fields.length }) : fc.constant({}),
    fc.dictionary(fc.oneof(fc.constantFrom(...fields, 'account_id', 'hash', 'status', '__proto__', 'constructor'), fc.string({ maxLength: 10 })), value),
    fc.jsonValue({ maxDepth: 6 }),
    hostileText.map((text) => ({ raw: text })),
  );

function expectSpecAnswer(response: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string): void {
  expect(response.statusCode, `${what} → ${response.statusCode} ${response.body.slice(0, 300)}`).toBeLessThan(500);
  if (response.statusCode < 400) return;
  const body = JSON.parse(response.body);
  expect(Object.keys(body), what).toEqual(['error']);
  expect(Object.keys(ERROR_STATUS), what).toContain(body.error.code);
  expect(ERROR_STATUS[body.error.code as keyof typeof ERROR_STATUS], what).toBe(response.statusCode);
  expect(typeof body.error.message, what).toBe('string');
}

describe('fuzzing every route', () => {
  it('finds at least the documented routes to fuzz', () => {
    expect(operations.length).toBeGreaterThanOrEqual(30);
  });

  it('answers hostile path parameters, query strings, bodies and credentials with no 5xx and the spec’s error shape', async () => {
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(
          idLike(),
          fc.dictionary(fc.oneof(fc.constantFrom(...operation.query, 'cursor', 'limit'), fc.string({ maxLength: 8 })), fc.oneof(hostileText, fc.integer().map(String)), { maxKeys: 4 }),
          bodyFor(operation.body),
          authorization(),
          fc.boolean(),
          async (id, query, body, headers, rawBody) => {
            const url = operation.path.replace(/\{[^}]+\}/g, encodeURIComponent(id)) + (Object.keys(query).length ? `?${new URLSearchParams(query)}` : '');
            const withBody = operation.method !== 'GET' && operation.method !== 'DELETE';
            const raw = typeof body === 'object' && body !== null && 'raw' in body ? String((body as { raw: unknown }).raw) : null;
            const payload = raw !== null && rawBody ? raw : JSON.stringify(body);
            const response = await h.request({
              method: operation.method as 'GET',
              url,
              headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) },
              ...(withBody ? { payload } : {}),
            });
            expectSpecAnswer(response, `${operation.method} ${url.slice(0, 120)}`);
          },
        ),
        { numRuns: 60 },
      );
    }
    // Still serving, and the victim's tokens still work.
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(b.reader.secret) }), 200);
  }, 120_000);

  it('never echoes a real secret pasted into any path segment, query, header or field (nor logs or stores it: the harness searches both)', async () => {
    const secrets = [b.full.secret, a.reader.secret, h.operatorToken];
    const sites = ['path', 'encoded path', 'twice-encoded path', 'query value', 'query name', 'field', 'encoded field', 'field name', 'user agent', 'all of them'] as const;
    // Where a secret really landed, per site: a path site lands only in a route with a parameter, a field only in a body.
    const landed = new Map<string, number>(sites.map((site) => [site, 0]));
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...secrets),
          fc.constantFrom(...sites),
          fc.constantFrom(...(operation.body.length ? operation.body : ['name'])),
          fc.constantFrom('', 'see ', '"', 'x,'),
          authorization(),
          async (secret, site, field, around, headers) => {
            const text = `${around}${secret}`;
            const at = (where: (typeof sites)[number]) => site === where || site === 'all of them';
            const encoded = encodeURIComponent(text).replace(/_/g, '%5F');
            const segment = at('twice-encoded path') ? encodeURIComponent(encoded) : at('encoded path') ? encoded : at('path') ? encodeURIComponent(text) : encodeURIComponent(a.full.token.id);
            const query = new URLSearchParams();
            if (at('query value')) query.set(operation.query[0] ?? 'q', text);
            if (at('query name')) query.set(text, '1');
            const url = operation.path.replace(/\{[^}]+\}/g, segment) + (query.size ? `?${query}` : '');
            const body: Record<string, unknown> = {};
            if (at('field')) body[field] = field.endsWith('s') || field === 'to' ? [text] : text;
            // Encoded, beside a stray % that no decoder accepts.
            if (at('encoded field')) body[field] = `100% ${encoded}`;
            if (at('field name')) body[text] = true;
            const withBody = operation.method !== 'GET' && operation.method !== 'DELETE';
            const response = await h.request({
              method: operation.method as 'GET',
              url,
              headers: { ...headers, ...(at('user agent') ? { 'user-agent': `client/1.0 (${text})` } : {}), ...(withBody ? { 'content-type': 'application/json' } : {}) },
              ...(withBody ? { payload: JSON.stringify(body) } : {}),
            });
            const lands = (where: (typeof sites)[number]) =>
              where.includes('path') ? operation.path.includes('{') : where.includes('field') ? withBody : true;
            for (const where of sites) if (at(where) && lands(where)) landed.set(where, landed.get(where)! + 1);
            expectSpecAnswer(response, `${operation.method} ${url.slice(0, 120)}`);
            // Not the secret, nor even the part of it past what lists show (the visible prefix).
            const hidden = secret.length > 30 ? secret.slice(16, 26) : secret;
            const echoed = [response.body, JSON.stringify(response.headers)].find((part) => part.includes(secret) || part.includes(hidden));
            expect(echoed, `${site} of ${operation.method} ${operation.path} echoed it`).toBeUndefined();
          },
        ),
        { numRuns: 25 },
      );
    }
    for (const [where, count] of landed) expect(count, `secrets landed in the ${where}`).toBeGreaterThan(operations.length);
    await h.ctx.accessLog.flush();
  }, 180_000);

  it('answers unknown routes, methods and content types in the spec’s shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        fc.array(fc.oneof(fc.constantFrom('v1', 'admin', 'tokens', 'x', '..', '%2e%2e', '%00'), fc.string({ maxLength: 6 }).map(encodeURIComponent)), { maxLength: 4 }),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16'),
        hostileText,
        async (method, segments, contentType, payload) => {
          const url = `/v1/${segments.join('/')}`;
          const response = await h.request({ method: method as 'GET', url, headers: { ...a.session, 'content-type': contentType }, ...(method === 'GET' ? {} : { payload }) });
          expectSpecAnswer(response, `${method} ${url} (${contentType})`);
        },
      ),
      { numRuns: 200 },
    );
  });
});
