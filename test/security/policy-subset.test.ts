/**
 * The minting property, through the HTTP API: whatever a token asks for when it mints another,
 * the child's effective access is inside its parent's and inside the account's plan (also after
 * the plan changes), in scopes, domains, client addresses and lifetime. A refusal is a 4xx in the
 * spec's shape. Each check counts the cases that reached it, and most cases must reach each one.
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

const counts = { cases: 0, minted: 0, scopes: 0, domains: 0, addresses: 0, lifetime: 0 };
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary }, { weight: 1, arbitrary: fc.constant(null) });
/** Scope sets the catalog accepts: sending needs reading mail. */
const valid = (picked: string[]) => (picked.includes('submission:full') ? [...new Set([...picked, 'messages:read'])] : picked);

describe('minting never widens access', () => {
  it('keeps every child inside its parent and the plan, whatever the plan and whatever is asked', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Always a change of plan, down or up, so that every minted child is checked under one.
        fc.constantFrom('starter', 'starter', 'enterprise', 'business'),
        fc
          .record({ scopes: subsetOf(() => scopes), domains: sometimes(fc.constant(null).chain(() => fc.subarray(domains, { minLength: 1 }))), ip: sometimes(fc.subarray(CIDRS, { minLength: 1 })), life: sometimes(fc.constantFrom(...LIFETIMES)) })
          .chain((parentAsk) =>
            fc.tuple(
              fc.constant(parentAsk),
              // Mostly inherited or inside the parent (so children get made and checked), sometimes anything at all.
              fc.record({
                scopes: fc.oneof(
                  { weight: 8, arbitrary: fc.subarray(parentAsk.scopes.length ? parentAsk.scopes : ['domains:read'], { minLength: 1 }) },
                  { weight: 1, arbitrary: subsetOf(() => scopes) },
                  { weight: 1, arbitrary: fc.constant(['*']) },
                ),
                domains: fc.oneof(
                  { weight: 5, arbitrary: fc.constant(undefined) },
                  { weight: 4, arbitrary: fc.subarray(parentAsk.domains ?? domains, { minLength: 1 }) },
                  { weight: 1, arbitrary: maybe(subsetOf(() => domains)) },
                ),
                ip: fc.oneof(
                  { weight: 5, arbitrary: fc.constant(undefined) },
                  { weight: 4, arbitrary: fc.subarray(parentAsk.ip ?? CIDRS, { minLength: 1 }) },
                  { weight: 1, arbitrary: maybe(fc.subarray(CIDRS, { minLength: 1 })) },
                ),
                life: fc.oneof(
                  { weight: 5, arbitrary: fc.constant(undefined) },
                  { weight: 4, arbitrary: fc.constantFrom(...LIFETIMES.slice(0, LIFETIMES.indexOf(parentAsk.life ?? '90d') + 1)) },
                  { weight: 1, arbitrary: maybe(fc.constantFrom(...LIFETIMES)) },
                ),
              }),
            ),
          ),
        async (plan, [parentAsk, childAsk]) => {
          counts.cases += 1;
          const parentBody = {
            name: 'parent',
            scopes: valid([...new Set([...parentAsk.scopes, 'tokens:full'])]),
            domains: parentAsk.domains,
            ip_allowlist: parentAsk.ip,
            ...(parentAsk.life ? { expires_in: parentAsk.life } : {}),
          };
          const parent = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: parentBody }), 201);

          const childBody: Record<string, unknown> = { name: 'child', scopes: childAsk.scopes.length ? valid([...childAsk.scopes]) : ['domains:read'] };
          if (childAsk.domains !== undefined) childBody.domains = childAsk.domains?.length ? childAsk.domains : null;
          if (childAsk.ip !== undefined) childBody.ip_allowlist = childAsk.ip;
          if (childAsk.life !== undefined) childBody.expires_in = childAsk.life ?? 'never';
          // The parent's own allowlist decides where it may be used from: ask from inside it.
          const from = parentAsk.ip ? parse(parentAsk.ip[0]!)[0].toString() : '127.0.0.1';
          const response = await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(parent.secret), payload: childBody, remoteAddress: from });
          if (response.statusCode !== 201) return expectRefusal(response);
          counts.minted += 1;
          const child = JSON.parse(response.body).token;

          // Then the plan changes under both: the child stays inside its parent and the new plan.
          expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${owner.accountId}`, headers: operator(h), payload: { plan } }), 200);
          try {
            const planScopes = new Set(
              expectStatus(await h.request({ method: 'GET', url: '/v1/scopes?type=api', headers: asSession(owner) }), 200)
                .data.filter((s: { available: boolean }) => s.available).map((s: { scope: string }) => s.scope),
            );
            const view = async (id: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${id}`, headers: asSession(owner) }), 200).token;
            const [parentView, childView] = [await view(parent.token.id), await view(child.id)];
            counts.scopes += 1;
            for (const scope of childView.effective_scopes) {
              expect(parentView.effective_scopes, `scope ${scope}`).toContain(scope);
              expect(planScopes.has(scope), `plan ${plan} lacks ${scope}`).toBe(true);
            }
            if (parentView.domains !== null) {
              counts.domains += 1;
              expect(childView.domains).not.toBeNull();
              for (const domain of childView.domains) expect(parentView.domains).toContain(domain);
            }
            if (parentView.ip_allowlist !== null) {
              counts.addresses += 1;
              expect(childView.ip_allowlist).not.toBeNull();
              for (const entry of childView.ip_allowlist) expect(parentView.ip_allowlist.some((outer: string) => within(entry, outer)), entry).toBe(true);
            }
            if (parentView.expires_at !== null) {
              counts.lifetime += 1;
              expect(childView.expires_at).not.toBeNull();
              expect(Date.parse(childView.expires_at)).toBeLessThanOrEqual(Date.parse(parentView.expires_at));
            }
          } finally {
            expectStatus(await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${owner.accountId}`, headers: operator(h), payload: { plan: 'pro' } }), 200);
          }
        },
      ),
      { numRuns: 150 },
    );
    console.log(`minting property: ${counts.cases} cases, ${counts.minted} children minted; checked scopes in ${counts.scopes}, domains in ${counts.domains}, `
      + `addresses in ${counts.addresses}, lifetime in ${counts.lifetime}`);
    for (const key of ['minted', 'scopes', 'domains', 'addresses', 'lifetime'] as const) {
      expect(counts[key], `${key}: reached in ${counts[key]} of ${counts.cases} cases`).toBeGreaterThan(counts.cases / 2);
    }
  }, 120_000);
});
