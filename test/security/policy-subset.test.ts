/**
 * The minting property, through the HTTP API: whatever a token asks for when it mints another,
 * the child's effective access is inside its parent's and inside the account's plan, in scopes,
 * domains, client addresses and lifetime. A refusal is a 4xx in the spec's shape.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, bearer, createDomain, expectStatus, operator, ownerSession, type Session } from '../helpers/actors.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let owner: Session;
let domains: string[];
let scopes: string[];

beforeAll(async () => {
  h = await startHarness();
  owner = await ownerSession(h, 'pro');
  domains = [];
  for (let i = 0; i < 3; i += 1) domains.push((await createDomain(h, asSession(owner))).id);
  const catalog = expectStatus(await h.request({ method: 'GET', url: '/v1/scopes?type=api', headers: asSession(owner) }), 200);
  scopes = catalog.data.map((s: { scope: string }) => s.scope);
});
afterAll(() => h.close());

const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '192.0.2.0/24', '0.0.0.0/0', '2001:db8::/32', '2001:db8:1::/48'];
const LIFETIMES = ['1d', '7d', '30d', '90d'];

const parse = (entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] =>
  entry.includes('/') ? ipaddr.parseCIDR(entry) : [ipaddr.parse(entry), ipaddr.parse(entry).kind() === 'ipv4' ? 32 : 128];
const within = (inner: string, outer: string): boolean => {
  const [address, bits] = parse(inner);
  const [network, outerBits] = parse(outer);
  return address.kind() === network.kind() && bits >= outerBits && address.match(network, outerBits);
};

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
const subsetOf = <T>(items: () => T[]) => fc.constant(null).chain(() => fc.subarray(items()));

function expectRefusal(response: { statusCode: number; body: string }): void {
  expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, response.body).toBeLessThan(500);
  expect(JSON.parse(response.body).error.code).toEqual(expect.any(String));
}

describe('minting never widens access', () => {
  it('keeps every child inside its parent and the plan, whatever the plan and whatever is asked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('starter', 'pro'),
        fc
          .record({ scopes: subsetOf(() => scopes), domains: maybe(subsetOf(() => domains)), ip: maybe(fc.subarray(CIDRS, { minLength: 1 })), life: maybe(fc.constantFrom(...LIFETIMES)) })
          .chain((parentAsk) =>
            fc.tuple(
              fc.constant(parentAsk),
              // Often inside the parent (so children get made and checked), sometimes anything at all.
              fc.record({
                scopes: fc.oneof(fc.subarray([...parentAsk.scopes, 'tokens:full']), subsetOf(() => scopes), fc.constant(['*'])),
                domains: fc.option(maybe(fc.oneof(fc.subarray(parentAsk.domains ?? []), subsetOf(() => domains)))),
                ip: fc.option(maybe(fc.oneof(fc.subarray(parentAsk.ip ?? CIDRS, { minLength: 1 }), fc.subarray(CIDRS, { minLength: 1 })))),
                life: fc.option(maybe(fc.constantFrom(...LIFETIMES))),
              }),
            ),
          ),
        async (plan, [parentAsk, childAsk]) => {
          expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${owner.accountId}`, headers: operator(h), payload: { plan: 'pro' } }), 200);
          const parentBody = {
            name: 'parent',
            scopes: [...new Set([...parentAsk.scopes, 'tokens:full'])],
            domains: parentAsk.domains?.length ? parentAsk.domains : null,
            ip_allowlist: parentAsk.ip,
            ...(parentAsk.life ? { expires_in: parentAsk.life } : {}),
          };
          const created = await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: parentBody });
          // Some scope sets are refused outright (submission needs messages): nothing to mint from.
          if (created.statusCode !== 201) return expectRefusal(created);
          const parent = JSON.parse(created.body);
          expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${owner.accountId}`, headers: operator(h), payload: { plan } }), 200);
          const planScopes = new Set(
            expectStatus(await h.request({ method: 'GET', url: '/v1/scopes?type=api', headers: asSession(owner) }), 200)
              .data.filter((s: { available: boolean }) => s.available).map((s: { scope: string }) => s.scope),
          );
          const parentView = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${parent.token.id}`, headers: asSession(owner) }), 200);

          const childBody: Record<string, unknown> = { name: 'child', scopes: childAsk.scopes.length ? childAsk.scopes : ['domains:read'] };
          if (childAsk.domains !== null) childBody.domains = childAsk.domains?.length ? childAsk.domains : null;
          if (childAsk.ip !== null) childBody.ip_allowlist = childAsk.ip;
          if (childAsk.life !== null) childBody.expires_in = childAsk.life;
          // The parent's own allowlist decides where it may be used from: ask from inside it.
          const from = parentAsk.ip ? parse(parentAsk.ip[0]!)[0].toString() : '127.0.0.1';
          const response = await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(parent.secret), payload: childBody, remoteAddress: from });
          if (response.statusCode !== 201) return expectRefusal(response);
          const child = JSON.parse(response.body).token;
          for (const scope of child.effective_scopes) {
            expect(parentView.effective_scopes, `scope ${scope}`).toContain(scope);
            expect(planScopes.has(scope), `plan ${plan} lacks ${scope}`).toBe(true);
          }
          if (parentView.domains !== null) {
            expect(child.domains).not.toBeNull();
            for (const domain of child.domains) expect(parentView.domains).toContain(domain);
          }
          if (parentView.ip_allowlist !== null) {
            expect(child.ip_allowlist).not.toBeNull();
            for (const entry of child.ip_allowlist) expect(parentView.ip_allowlist.some((outer: string) => within(entry, outer)), entry).toBe(true);
          }
          if (parentView.expires_at !== null) {
            expect(child.expires_at).not.toBeNull();
            expect(Date.parse(child.expires_at)).toBeLessThanOrEqual(Date.parse(parentView.expires_at));
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
