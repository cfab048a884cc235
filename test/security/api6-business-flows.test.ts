/** OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: plans, CSRF, the last domain token. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createToken, expectError, expectStatus, operator } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { signInAgain, world, type Party } from './world.js';

let h: Harness;
let a: Party;
beforeAll(async () => ({ h, a } = await world()));
beforeEach(() => signInAgain(h, a));
afterAll(() => h.close());

describe('API6 unrestricted access to sensitive business flows', () => {
  it('narrows a cached token the moment its account’s plan is downgraded', async () => {
    const { secret } = await createToken(h, a.session, { name: 'writer', scopes: ['domains:full'] });
    expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: 'before-downgrade.example.com' } }), 201);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'starter' } }), 200);
    expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: 'after-downgrade.example.com' } }), 403, 'plan_restricted');
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'basic' } }), 200);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 403, 'plan_restricted');
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'pro' } }), 200);
  });

  it('does not let a plan-restricted scope be granted by creating a token on a lower plan', async () => {
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'nano' } }), 200);
    const response = await h.request({ method: 'POST', url: '/v1/tokens', headers: a.session, payload: { name: 'too much', scopes: ['domains:full'] } });
    expect(response.statusCode).toBe(403);
    expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${a.owner.accountId}`, headers: operator(h), payload: { plan: 'pro' } }), 200);
  });

  it('refuses every cookie-authenticated mutation without the session’s X-CSRF-Token', async () => {
    const spec = expectStatus(await h.request({ method: 'GET', url: '/openapi.json' }), 200) as { paths: Record<string, Record<string, unknown>> };
    const ids: Record<string, string> = { '/v1/domains/': a.domain.id, '/v1/mailboxes/': a.mailbox.id, '/v1/tokens/': a.reader.token.id };
    let checked = 0;
    for (const [path, operations] of Object.entries(spec.paths)) {
      if (!path.startsWith('/v1/') || path.startsWith('/v1/auth/login') || path === '/v1/verify') continue;
      for (const method of Object.keys(operations).filter((m) => ['post', 'patch', 'put', 'delete'].includes(m))) {
        const prefix = Object.keys(ids).find((p) => path.startsWith(p));
        const url = path.replace(/\{[^}]+\}/, prefix ? ids[prefix]! : 'x');
        for (const csrf of [undefined, 'forged', a.owner.csrf.slice(0, -1)]) {
          const headers: Record<string, string> = { cookie: a.owner.cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) };
          const response = await h.request({ method: method.toUpperCase() as 'POST', url, headers, payload: {} });
          expect(response.statusCode, `${method} ${url}`).toBe(403);
          expect(JSON.parse(response.body).error.code).toBe('forbidden');
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('refuses to delete a domain’s last domain token (the references’ rule)', async () => {
    const domainCreated = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: a.session, payload: { name: 'last-token.example.com' } }), 201);
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${domainCreated.token.id}`, headers: a.session }), 409, 'last_domain_token');
  });
});
