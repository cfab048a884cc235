/** OWASP API4:2023 Unrestricted Resource Consumption: bodies, pages, lists and request rates are bounded. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createToken, expectError, expectStatus } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
beforeAll(async () => ({ h, a } = await world()));
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
