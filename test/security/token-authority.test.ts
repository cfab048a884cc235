/**
 * The authority rule from outside, with tokens and sessions only: a token manages what it minted
 * (and their successors), itself only to narrow or revoke it, and nothing above or beside it; what
 * it makes or changes lies inside it, rate limit included; a message token is a token of its
 * mailbox's domain. Each test is an attack that got through before the rule existed.
 */
import { describe, expect, it } from 'vitest';
import {
  addUser, asSession, bearer, createDomain, createMailbox, createToken, expectError, expectStatus, login, type Session,
} from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

const DAY = 86_400_000;
const session = () => asSession(owner);
const fresh = async () => {
  owner = await login(h, owner.email);
};
const mint = async (secret: string, payload: Record<string, unknown>) => expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload }), 201);
const as = (secret: string) => ({
  get: (id: string) => h.request({ method: 'GET', url: `/v1/tokens/${id}`, headers: bearer(secret) }),
  patch: (id: string, payload: Record<string, unknown>) => h.request({ method: 'PATCH', url: `/v1/tokens/${id}`, headers: bearer(secret), payload }),
  post: (id: string, action: string, payload: Record<string, unknown> = {}) => h.request({ method: 'POST', url: `/v1/tokens/${id}/${action}`, headers: bearer(secret), payload }),
  list: async () => expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?limit=100', headers: bearer(secret) }), 200).data.map((t: { id: string }) => t.id) as string[],
});
const use = (secret: string, remoteAddress = '127.0.0.1') => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret), remoteAddress });
const ownerView = async (id: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${id}`, headers: session() }), 200).token;

describe('a child never manages its parent, its siblings or what a person made', () => {
  it('cannot lock its parent out, rotate it, resume it, or touch a sibling or the owner’s token, and never sees them', async () => {
    const parent = await createToken(h, session(), { name: 'parent', scopes: ['tokens:full', 'domains:read'], ip_allowlist: ['127.0.0.0/8'] });
    const child = await mint(parent.secret, { name: 'child', scopes: ['tokens:full', 'domains:read'] });
    const sibling = await mint(parent.secret, { name: 'sibling', scopes: ['domains:read'] });
    // An owner's token whose bounds happen to lie inside the child's.
    const owners = await createToken(h, session(), { name: 'owner made', scopes: ['domains:read'], ip_allowlist: ['127.0.0.1'] });
    const attacker = as(child.secret);

    for (const victim of [parent.token.id, sibling.token.id, owners.token.id]) {
      expectError(await attacker.get(victim), 404, 'not_found');
      expectError(await attacker.patch(victim, { ip_allowlist: ['192.0.2.1'] }), 404, 'not_found');
      expectError(await attacker.post(victim, 'rotate', { grace_period: '0s' }), 404, 'not_found');
      expectError(await attacker.post(victim, 'pause'), 404, 'not_found');
      expectError(await attacker.post(victim, 'revoke'), 404, 'not_found');
      expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${victim}`, headers: bearer(child.secret) }), 404, 'not_found');
      expectError(await h.request({ method: 'GET', url: `/v1/tokens/${victim}/activity`, headers: bearer(child.secret) }), 404, 'not_found');
    }
    expect(await attacker.list()).toEqual([child.token.id]);

    // The owner pauses the parent; the child, paused with it, cannot bring it back.
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${parent.token.id}/pause`, headers: session(), payload: {} }), 200);
    expectError(await attacker.post(parent.token.id, 'resume'), 401, 'token_paused');
    expect((await ownerView(parent.token.id)).status).toBe('paused');
    expect((await ownerView(parent.token.id)).ip_allowlist).toEqual(['127.0.0.0/8']);
    expect((await ownerView(parent.token.id)).rotated_to).toBeNull();
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${parent.token.id}/resume`, headers: session(), payload: {} }), 200);
    expectStatus(await use(sibling.secret), 200);
    expectStatus(await use(owners.secret), 200);
  });

  it('reads and narrows itself, revokes itself, but may not rotate, resume, delete or widen itself', async () => {
    const self = await createToken(h, session(), { name: 'self', scopes: ['tokens:full', 'domains:read'], expires_in: '30d', ip_allowlist: ['127.0.0.0/8'] });
    const me = as(self.secret);
    expectStatus(await me.get(self.token.id), 200);
    expectError(await me.post(self.token.id, 'rotate'), 403, 'forbidden');
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${self.token.id}`, headers: bearer(self.secret) }), 403, 'forbidden');
    expectError(await me.patch(self.token.id, { expires_at: null }), 403, 'forbidden');
    expectError(await me.patch(self.token.id, { scopes: ['tokens:full', 'domains:full'] }), 403, 'forbidden');
    expectError(await me.patch(self.token.id, { ip_allowlist: null }), 403, 'forbidden');
    expect(expectStatus(await me.patch(self.token.id, { expires_in: '7d', ip_allowlist: ['127.0.0.1'] }), 200).token.ip_allowlist).toEqual(['127.0.0.1']);
    expect(expectStatus(await me.post(self.token.id, 'revoke', { reason: 'leaked' }), 200).token.status).toBe('revoked');
    expectError(await use(self.secret), 401, 'token_revoked');
  });

  it('manages what it minted at any depth and their successors, and a successor manages what its predecessor minted', async () => {
    const root = await createToken(h, session(), { name: 'root', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(root.secret, { name: 'child', scopes: ['tokens:full', 'domains:read'] });
    const grandchild = await mint(child.secret, { name: 'grandchild', scopes: ['domains:read'] });
    const rotated = expectStatus(await as(root.secret).post(child.token.id, 'rotate'), 200);
    expect(rotated.token.id).not.toBe(child.token.id);
    // The root rotates itself through the owner; its successor keeps the whole subtree.
    const rootNext = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${root.token.id}/rotate`, headers: session(), payload: {} }), 200);
    for (const id of [rotated.token.id, grandchild.token.id]) expectStatus(await as(rootNext.secret).get(id), 200);
    expect(expectStatus(await as(rootNext.secret).post(grandchild.token.id, 'pause'), 200).token.status).toBe('paused');
    // The old secret still works, but has no say over the tree any more, nor over the new secret.
    expectStatus(await use(root.secret), 200);
    expectError(await as(root.secret).get(rootNext.token.id), 404, 'not_found');
    expectError(await as(root.secret).get(grandchild.token.id), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(root.secret), payload: { name: 'late', scopes: ['domains:read'] } }), 403, 'forbidden');
    // The new secret may cut its predecessor's grace short.
    expect(expectStatus(await as(rootNext.secret).post(root.token.id, 'revoke'), 200).token.status).toBe('revoked');
    expectStatus(await use(rootNext.secret), 200);
  });
});

describe('a child never outlives its parent', () => {
  it('clamps every token below a parent whose expiry is shortened, in the same change, and audits it', async () => {
    const parent = await createToken(h, session(), { name: 'mortal parent', scopes: ['tokens:full', 'domains:read'], expires_in: '90d' });
    const child = await mint(parent.secret, { name: 'child', scopes: ['tokens:full', 'domains:read'] });
    const grandchild = await mint(child.secret, { name: 'grandchild', scopes: ['domains:read'] });
    const shorter = await mint(parent.secret, { name: 'already shorter', scopes: ['domains:read'], expires_in: '1h' });
    const shortened = expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${parent.token.id}`, headers: session(), payload: { expires_in: '1d' } }), 200).token;
    for (const { token } of [child, grandchild]) expect((await ownerView(token.id)).expires_at).toBe(shortened.expires_at);
    expect((await ownerView(shorter.token.id)).expires_at).toBe(shorter.token.expires_at);
    const clamped = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.updated&limit=100', headers: session() }), 200)
      .data.filter((e: any) => e.details.narrowed_by === parent.token.id).map((e: any) => e.target.id);
    expect(clamped.sort()).toEqual([child.token.id, grandchild.token.id].sort());
    expectStatus(await use(grandchild.secret), 200);
    h.clock.advance(DAY);
    for (const secret of [parent.secret, child.secret, grandchild.secret]) expectError(await use(secret), 401, 'token_expired');
  });

  it('refuses, even to the owner, an expiry past an ancestor’s, to the millisecond', async () => {
    const parent = await createToken(h, session(), { name: 'bounded', scopes: ['tokens:full', 'domains:read'], expires_in: '30d' });
    const end = Date.parse(parent.token.expires_at);
    const past = new Date(end + 1).toISOString();
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(parent.secret), payload: { name: 'x', scopes: ['domains:read'], expires_at: past } }), 403, 'forbidden');
    const child = await mint(parent.secret, { name: 'at the edge', scopes: ['domains:read'], expires_at: new Date(end).toISOString() });
    for (const payload of [{ expires_at: past }, { expires_at: null }, { expires_in: '60d' }]) {
      const error = expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${child.token.id}`, headers: session(), payload }), 403, 'forbidden');
      expect(error.details).toMatchObject({ field: 'expires_at', ancestor: parent.token.id });
    }
    expect((await ownerView(child.token.id)).expires_at).toBe(parent.token.expires_at);
  });
});

describe('a token acts as it is now, not as a cache remembers it', () => {
  it('decides again on the acting token’s own row, which another node may just have narrowed', async () => {
    const parent = await createToken(h, session(), { name: 'narrowed elsewhere', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(parent.secret, { name: 'child', scopes: ['domains:read'] });
    expectStatus(await as(parent.secret).get(child.token.id), 200);
    // As another node would: the row changes, and this node hears nothing.
    await h.store.db.updateTable('tokens').set({ scopes: JSON.stringify(['domains:read']) }).where('id', '=', parent.token.id).execute();
    expectStatus(await use(parent.secret), 200);
    expect(expectError(await as(parent.secret).post(child.token.id, 'revoke'), 403, 'insufficient_scope').details).toEqual({ scope: 'tokens:full' });
    await h.store.db.updateTable('tokens').set({ scopes: JSON.stringify(['tokens:full', 'domains:read']), ip_allowlist: JSON.stringify(['192.0.2.1']) }).where('id', '=', parent.token.id).execute();
    expectError(await as(parent.secret).post(child.token.id, 'revoke'), 403, 'ip_not_allowed');
    expect((await ownerView(child.token.id)).status).toBe('active');
  });
});

describe('a token has at most two working secrets', () => {
  it('ends the earlier secret’s grace period when a token is rotated again', async () => {
    const first = await createToken(h, session(), { name: 'rotated twice', scopes: ['domains:read'] });
    const rotate = async (id: string) => expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${id}/rotate`, headers: session(), payload: { grace_period: '7d' } }), 200);
    const second = await rotate(first.token.id);
    const third = await rotate(second.token.id);
    expectError(await use(first.secret), 401, 'token_expired');
    expectStatus(await use(second.secret), 200);
    expectStatus(await use(third.secret), 200);
    expect((await ownerView(first.token.id)).status).toBe('expired');
  });
});

describe('the secret a rotation replaced is never wider than its successor', () => {
  it('is narrowed, paused and resumed with it', async () => {
    const first = await createToken(h, session(), { name: 'old and new', scopes: ['domains:read', 'activity:read'] });
    const next = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${first.token.id}/rotate`, headers: session(), payload: { grace_period: '7d' } }), 200);
    const activity = (secret: string, remoteAddress = '127.0.0.1') => h.request({ method: 'GET', url: '/v1/activity', headers: bearer(secret), remoteAddress });
    expectStatus(await activity(first.secret), 200);
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${next.token.id}`, headers: session(), payload: { scopes: ['domains:read'], ip_allowlist: ['127.0.0.1'] } }), 200);
    expectError(await activity(first.secret), 403, 'insufficient_scope');
    expectError(await use(first.secret, '127.0.0.2'), 403, 'ip_not_allowed');
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${next.token.id}/pause`, headers: session(), payload: {} }), 200);
    expectError(await use(first.secret), 401, 'token_paused');
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${next.token.id}/resume`, headers: session(), payload: {} }), 200);
    expectStatus(await use(first.secret), 200);
  });
});

describe('people who may not manage tokens get none', () => {
  it('gives a member who creates a domain the domain without its token', async () => {
    const member = asSession(await login(h, await addUser(h, owner.accountId, 'member')));
    const created = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: member, payload: { name: `member${Date.now()}.example.com` } }), 201);
    expect(created).toMatchObject({ token: null, secret: null });
    expectError(await h.request({ method: 'GET', url: '/v1/tokens', headers: member }), 403, 'forbidden');
  });
});

describe('nothing below a token is wider than it', () => {
  it('narrows everything below a token narrowed in any dimension, by its owner or by itself', async () => {
    const [a, b] = [await createDomain(h, session()), await createDomain(h, session())];
    const mailboxB = await createMailbox(h, session(), b.id);
    const parent = await createToken(h, session(), { name: 'wide parent', scopes: ['*'] });
    const child = await mint(parent.secret, { name: 'wide child', scopes: ['tokens:full', 'domains:full', 'mailboxes:read'], rate_limit: { requests: 1000, per: '1m' } });
    const grandchild = await mint(child.secret, { name: 'grandchild', scopes: ['domains:full'], domains: [a.id, b.id] });
    const inB = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailboxB.id}/message-tokens`, headers: bearer(parent.secret), payload: { name: 'in B', scopes: ['messages:read'] } }), 201);

    // The owner narrows the parent in every dimension at once.
    expectStatus(await h.request({
      method: 'PATCH', url: `/v1/tokens/${parent.token.id}`, headers: session(),
      payload: { scopes: ['tokens:full', 'domains:read', 'mailboxes:read', 'messages:read'], domains: [a.id], ip_allowlist: ['127.0.0.1'], rate_limit: { requests: 10, per: '1h' } },
    }), 200);
    expect(await ownerView(child.token.id)).toMatchObject({ scopes: ['domains:read', 'mailboxes:read', 'tokens:full'], domains: [a.id], ip_allowlist: ['127.0.0.1'], rate_limit: { requests: 10, per: '1h' } });
    expect(await ownerView(grandchild.token.id)).toMatchObject({ scopes: ['domains:read'], domains: [a.id], ip_allowlist: ['127.0.0.1'] });
    // A token of domain B has nothing left on domain A: it goes.
    expect(await ownerView(inB.token.id)).toMatchObject({ status: 'revoked', revoke_reason: `nothing left inside ${parent.token.id}` });
    expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(child.secret), payload: { name: 'nope.example.com' } }), 403, 'insufficient_scope');

    // Nor can the owner widen a token past the one above it.
    const error = expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${grandchild.token.id}`, headers: session(), payload: { domains: null } }), 403, 'forbidden');
    expect(error.details).toMatchObject({ field: 'domains' });

    // A token narrowing itself narrows what is below it too.
    expectStatus(await as(child.secret).patch(child.token.id, { scopes: ['tokens:full', 'mailboxes:read'] }), 200);
    expect((await ownerView(grandchild.token.id)).status).toBe('revoked');
  });

  it('keeps each token inside the one just above it when a limit meets another only inexactly', async () => {
    const parent = await createToken(h, session(), { name: 'unlimited parent', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(parent.secret, { name: 'child', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 5, per: '3s' } });
    const grandchild = await mint(child.secret, { name: 'grandchild', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 3, per: '2s' } });
    // 4/2s and 5/3s lie inside each other neither way; what lies inside both, in whole seconds, is stricter than either.
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${parent.token.id}`, headers: session(), payload: { rate_limit: { requests: 4, per: '2s' } } }), 200);
    const seconds = (per: string) => Number(per.slice(0, -1)) * ({ s: 1, m: 60, h: 3600, d: 86_400 } as Record<string, number>)[per.slice(-1)]!;
    const within = (inner: { requests: number; per: string }, outer: { requests: number; per: string }) =>
      inner.requests <= outer.requests && inner.requests * seconds(outer.per) <= outer.requests * seconds(inner.per);
    const [p, c, g] = [await ownerView(parent.token.id), await ownerView(child.token.id), await ownerView(grandchild.token.id)];
    expect(within(c.rate_limit, p.rate_limit), `${JSON.stringify(c.rate_limit)} inside ${JSON.stringify(p.rate_limit)}`).toBe(true);
    expect(within(g.rate_limit, c.rate_limit), `${JSON.stringify(g.rate_limit)} inside ${JSON.stringify(c.rate_limit)}`).toBe(true);
    // And the child still manages its own child.
    expectStatus(await as(child.secret).patch(grandchild.token.id, { name: 'renamed by its parent', expires_in: '7d' }), 200);
  });
});

describe('rate limits cannot be shed', () => {
  it('keeps a limited token from loosening its own limit or minting looser children', async () => {
    const limited = await createToken(h, session(), { name: 'limited', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 100, per: '1m' } });
    const me = as(limited.secret);
    for (const rate_limit of [null, { requests: 1000, per: '1m' }, { requests: 100, per: '1s' }]) {
      expect(expectError(await me.patch(limited.token.id, { rate_limit }), 403, 'forbidden').details).toMatchObject({ field: 'rate_limit' });
    }
    expect(expectStatus(await me.patch(limited.token.id, { rate_limit: { requests: 10, per: '1m' } }), 200).token.rate_limit).toEqual({ requests: 10, per: '1m' });
    const refuse = async (rate_limit: unknown) =>
      expect(expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(limited.secret), payload: { name: 'x', scopes: ['domains:read'], rate_limit } }), 403, 'forbidden').details).toMatchObject({ field: 'rate_limit' });
    await refuse(null);
    await refuse({ requests: 11, per: '1m' });
    // The same average rate, but all 600 may come in one minute: more permissive than 10 a minute.
    await refuse({ requests: 600, per: '1h' });
    expect((await mint(limited.secret, { name: 'inherits', scopes: ['domains:read'] })).token.rate_limit).toEqual({ requests: 10, per: '1m' });
    // One a second is a smaller burst but a higher rate than ten a minute: refused; ten an hour is stricter.
    await refuse({ requests: 1, per: '1s' });
    expect((await mint(limited.secret, { name: 'stricter', scopes: ['domains:read'], rate_limit: { requests: 10, per: '1h' } })).token.rate_limit).toEqual({ requests: 10, per: '1h' });
  });

  it('counts what is below a limited token against its limit too: minting or rotating multiplies nothing', async () => {
    const parent = await createToken(h, session(), { name: 'five an hour', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 5, per: '1h' } });
    // Minting counts too: two of the parent's five.
    const children = [await mint(parent.secret, { name: 'c1', scopes: ['domains:read'] }), await mint(parent.secret, { name: 'c2', scopes: ['domains:read'] })];
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) for (const child of children) statuses.push((await use(child.secret)).statusCode);
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    const refused = await use(children[0]!.secret);
    expect(expectError(refused, 429, 'rate_limited').message).toContain('or a token above it');
    expectError(await use(parent.secret), 429, 'rate_limited');
    // A rotation shares its predecessor's count rather than starting afresh.
    const limited = await createToken(h, session(), { name: 'two an hour', scopes: ['domains:read'], rate_limit: { requests: 2, per: '1h' } });
    for (let i = 0; i < 2; i += 1) expectStatus(await use(limited.secret), 200);
    const rotated = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${limited.token.id}/rotate`, headers: session(), payload: {} }), 200);
    expectError(await use(rotated.secret), 429, 'rate_limited');
  });

  it('narrows a limit below a token changed to one neither looser nor stricter to what lies inside both', async () => {
    const parent = await createToken(h, session(), { name: 'reshaped', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 100, per: '1m' } });
    const child = await mint(parent.secret, { name: 'ten an hour', scopes: ['domains:read'], rate_limit: { requests: 10, per: '1h' } });
    // Five a second: a smaller burst than the child's ten, a higher rate than its ten an hour.
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${parent.token.id}`, headers: session(), payload: { rate_limit: { requests: 5, per: '1s' } } }), 200);
    expect((await ownerView(child.token.id)).rate_limit).toEqual({ requests: 5, per: '1800s' });
  });

  it('keeps the count when a limit is changed: narrowing a limit never gives a fresh budget', async () => {
    const limited = await createToken(h, session(), { name: 'reshuffled', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 5, per: '1m' } });
    for (let i = 0; i < 4; i += 1) expectStatus(await use(limited.secret), 200);
    // The fifth use is the edit itself; a limit of another shape, no looser, counts on from there.
    expectStatus(await as(limited.secret).patch(limited.token.id, { rate_limit: { requests: 5, per: '61s' } }), 200);
    expectError(await use(limited.secret), 429, 'rate_limited');
    expectError(await as(limited.secret).patch(limited.token.id, { rate_limit: { requests: 4, per: '62s' } }), 429, 'rate_limited');
  });

  it('spends nothing when one of the limits refuses: a refused use does not drain the budget shared with siblings', async () => {
    const parent = await createToken(h, session(), { name: 'shared six', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 6, per: '1h' } });
    const thrifty = await mint(parent.secret, { name: 'two of them', scopes: ['domains:read'], rate_limit: { requests: 2, per: '1h' } });
    const sibling = await mint(parent.secret, { name: 'sibling', scopes: ['domains:read'] });
    for (let i = 0; i < 2; i += 1) expectStatus(await use(thrifty.secret), 200);
    // Its own limit refuses these; the parent's budget (two mints and two uses so far) is untouched by them.
    for (let i = 0; i < 5; i += 1) expectError(await use(thrifty.secret), 429, 'rate_limited');
    expectStatus(await use(sibling.secret), 200);
    expectStatus(await use(sibling.secret), 200);
    expectError(await use(sibling.secret), 429, 'rate_limited');
  });

  it('re-reads what is below a token whose limit changed: the new limit counts at once', async () => {
    const parent = await createToken(h, session(), { name: 'loosened', scopes: ['tokens:full', 'domains:read'], rate_limit: { requests: 3, per: '1h' } });
    const child = await mint(parent.secret, { name: 'child', scopes: ['domains:read'] });
    const sibling = await mint(parent.secret, { name: 'sibling', scopes: ['domains:read'] });
    // Two mints and the sibling's use spend the parent's three; the child's own three are untouched.
    expectStatus(await use(sibling.secret), 200);
    expect(expectError(await use(child.secret), 429, 'rate_limited').message).toContain('or a token above it');
    // The owner lifts the parent's limit; the child, counted against its own alone now, goes on.
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${parent.token.id}`, headers: session(), payload: { rate_limit: null } }), 200);
    expectStatus(await use(child.secret), 200);
  });

  it('asks a person to confirm their password before changing a limit, tighter or looser', async () => {
    const { token } = await createToken(h, session(), { name: 'limited by owner', scopes: ['domains:read'], rate_limit: { requests: 5, per: '1m' } });
    h.clock.advance(601_000);
    const stale = session();
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: stale, payload: { rate_limit: null } }), 403, 'reauth_required');
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: stale, payload: { rate_limit: { requests: 50, per: '1m' } } }), 403, 'reauth_required');
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: stale, payload: { rate_limit: { requests: 1, per: '1m' } } }), 403, 'reauth_required');
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: stale, payload: { name: 'renamed', rate_limit: { requests: 5, per: '1m' } } }), 200);
    expect((await ownerView(token.id)).rate_limit).toEqual({ requests: 5, per: '1m' });
  });
});

describe('message tokens are tokens of their mailbox’s domain', () => {
  it('cannot be rotated into the hands of a token that could not have minted them', async () => {
    const domain = await createDomain(h, session());
    const mailbox = await createMailbox(h, session(), domain.id);
    const owners = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: session(), payload: { name: 'owner’s', scopes: ['messages:read'] } }), 201);
    const minter = await createToken(h, session(), { name: 'no mail reading', scopes: ['tokens:full', 'message_tokens:full', 'domains:read'] });
    expectError(await as(minter.secret).post(owners.token.id, 'rotate'), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: bearer(minter.secret), payload: { name: 'x', scopes: ['messages:read'] } }), 403, 'insufficient_scope');

    // A reader that minted one and then gave up reading mail: the message token, which had nothing
    // left inside it, went with that, and cannot be rotated back into its hands.
    const reader = await createToken(h, session(), { name: 'reader', scopes: ['tokens:full', 'message_tokens:full', 'messages:read'] });
    const bound = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: bearer(reader.secret), payload: { name: 'bound', scopes: ['messages:read'] } }), 201);
    expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${mailbox.id}/messages`, headers: bearer(bound.secret) }), 200);
    expectStatus(await as(reader.secret).patch(reader.token.id, { scopes: ['tokens:full', 'message_tokens:full'] }), 200);
    expectError(await h.request({ method: 'GET', url: `/v1/mailboxes/${mailbox.id}/messages`, headers: bearer(bound.secret) }), 401, 'token_revoked');
    expect((await ownerView(bound.token.id)).revoke_reason).toBe(`nothing left inside ${reader.token.id}`);
    expectError(await as(reader.secret).post(bound.token.id, 'rotate'), 409, 'conflict');
  });

  it('stay inside domain constraints: invisible to a token of another domain, and revoked with their domain', async () => {
    const [a, b] = [await createDomain(h, session()), await createDomain(h, session())];
    const mailboxB = await createMailbox(h, session(), b.id);
    const inB = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailboxB.id}/message-tokens`, headers: session(), payload: { name: 'in B', scopes: ['messages:read'] } }), 201);
    expect(inB.token.domains).toEqual([b.id]);
    const onlyA = await createToken(h, session(), { name: 'A only', scopes: ['tokens:full', 'message_tokens:full', 'messages:read', 'domains:read'], domains: [a.id] });
    const minted = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(onlyA.secret), payload: { name: 'A child', scopes: ['domains:read'] } }), 201);
    expect(await as(onlyA.secret).list()).toEqual(expect.not.arrayContaining([inB.token.id]));
    expectError(await as(onlyA.secret).post(inB.token.id, 'rotate'), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailboxB.id}/message-tokens`, headers: bearer(onlyA.secret), payload: { name: 'x', scopes: ['messages:read'] } }), 404, 'not_found');
    expect(await as(onlyA.secret).list()).toContain(minted.token.id);

    expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${mailboxB.id}/messages`, headers: bearer(inB.secret) }), 200);
    expect((await h.request({ method: 'DELETE', url: `/v1/domains/${b.id}`, headers: session() })).statusCode).toBe(204);
    expectError(await h.request({ method: 'GET', url: `/v1/mailboxes/${mailboxB.id}/messages`, headers: bearer(inB.secret) }), 401, 'token_revoked');
    expect((await ownerView(inB.token.id)).revoke_reason).toBe('domain deleted');
  });
});

describe('a token is told nothing of the tokens above it', () => {
  it('reads no ancestor’s id in reasons, details, a rotation’s creator or a full tree', async () => {
    const root = await createToken(h, session(), { name: 'hidden root', scopes: ['tokens:full', 'domains:read', 'activity:read'] });
    const middle = await mint(root.secret, { name: 'middle', scopes: ['tokens:full', 'domains:read', 'activity:read'] });
    const leaf = await mint(middle.secret, { name: 'leaf', scopes: ['activity:read'] });
    const other = await mint(middle.secret, { name: 'other leaf', scopes: ['domains:read'] });
    // The root rotates one of the middle's tokens, and the owner narrows the root so that the leaf has nothing left.
    const rotated = expectStatus(await as(root.secret).post(other.token.id, 'rotate'), 200);
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${root.token.id}`, headers: session(), payload: { scopes: ['tokens:full', 'domains:read'] } }), 200);
    const told = [
      (await as(middle.secret).get(leaf.token.id)).body,
      (await as(middle.secret).get(rotated.token.id)).body,
      (await as(middle.secret).get(middle.token.id)).body,
      (await h.request({ method: 'GET', url: '/v1/tokens?limit=100', headers: bearer(middle.secret) })).body,
      (await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: bearer(middle.secret) })).body,
      (await h.request({ method: 'GET', url: '/v1/audit-log?limit=100&format=csv', headers: bearer(middle.secret) })).body,
    ];
    for (const body of told) {
      expect(body).not.toContain(root.token.id);
      expect(body).not.toContain('hidden root');
    }
    expect(JSON.parse(told[0]!).token.revoke_reason).toBe('nothing left inside (a token this one does not manage)');
    expect(JSON.parse(told[1]!).token.created_by).toMatchObject({ id: null });
  });
});

describe('deleting a domain takes down only what its deleter could', () => {
  it('refuses a token whose domain holds tokens outside its tree, and a member; a person re-authenticates', async () => {
    const domain = await createDomain(h, session());
    const parent = await createToken(h, session(), { name: 'parent on it', scopes: ['tokens:full', 'domains:full'], domains: [domain.id] });
    const child = await mint(parent.secret, { name: 'child on it', scopes: ['domains:full'] });
    // Deleting it would revoke the parent (and the owner's domain token): the child may not.
    expectError(await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: bearer(child.secret) }), 403, 'forbidden');
    const member = asSession(await login(h, await addUser(h, owner.accountId, 'member')));
    expectError(await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: member }), 403, 'forbidden');
    expectStatus(await use(parent.secret), 200);
    h.clock.advance(601_000);
    expectError(await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: session() }), 403, 'reauth_required');
    await fresh();
    expect((await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: session() })).statusCode).toBe(204);
    expectError(await use(child.secret), 401, 'token_revoked');
  });

  it('lets a token delete a domain whose tokens are all its own', async () => {
    const maker = await createToken(h, session(), { name: 'domain maker', scopes: ['tokens:full', 'domains:full', 'mailboxes:full', 'messages:full', 'submission:full', 'activity:read', 'analytics:read'] });
    const made = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(maker.secret), payload: { name: `own${Date.now()}.example.com` } }), 201);
    expect((await h.request({ method: 'DELETE', url: `/v1/domains/${made.domain.id}`, headers: bearer(maker.secret) })).statusCode).toBe(204);
    expectError(await use(made.secret), 401, 'token_revoked');
  });
});

describe('a domain keeps a working token', () => {
  it('does not count what is below a token as standing in for it', async () => {
    const domain = await createDomain(h, session());
    const domainToken = (await h.request({ method: 'GET', url: `/v1/tokens?q=${encodeURIComponent(domain.name)}&limit=100`, headers: session() })).json().data[0];
    // The domain token is the only one on the domain; a token minted below it would go with it.
    const holder = await createToken(h, session(), { name: 'holder', scopes: ['tokens:full', 'domains:read'], domains: [domain.id] });
    await mint(holder.secret, { name: 'below the holder', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${domainToken.id}/revoke`, headers: session(), payload: {} }), 200);
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${holder.token.id}`, headers: session() }), 409, 'last_domain_token');
  });
});

describe('logs show a token only what it manages', () => {
  it('keeps its parent’s and siblings’ use and changes out of the access log and the audit log', async () => {
    const parent = await createToken(h, session(), { name: 'logged parent', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(parent.secret, { name: 'logged child', scopes: ['tokens:full', 'domains:read'] });
    const grandchild = await mint(child.secret, { name: 'logged grandchild', scopes: ['domains:read'] });
    for (const secret of [parent.secret, child.secret, grandchild.secret]) expectStatus(await use(secret), 200);
    await h.ctx.accessLog.flush();
    const accessed = expectStatus(await h.request({ method: 'GET', url: '/v1/access-logs?limit=100', headers: bearer(child.secret) }), 200).data.map((e: any) => e.token_id);
    expect(new Set(accessed)).toEqual(new Set([child.token.id, grandchild.token.id]));
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/access-logs?token_id=${parent.token.id}`, headers: bearer(child.secret) }), 200).data).toEqual([]);
    const audited = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: bearer(child.secret) }), 200).data;
    expect(audited.length).toBeGreaterThan(0);
    for (const event of audited) expect([event.target?.id, event.actor.id]).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`${child.token.id}|${grandchild.token.id}`))]));
    // Its own creation is there, but who made it (its parent, and the parent's address) is not.
    const created = audited.find((e: any) => e.action === 'token.created' && e.target.id === child.token.id);
    expect(created).toMatchObject({ actor: { type: 'token', id: null }, ip: null, user_agent: null });
    const csv = (await h.request({ method: 'GET', url: '/v1/audit-log?format=csv&limit=100', headers: bearer(child.secret) })).body;
    expect(csv).not.toContain(parent.token.id);
    expect(csv).not.toContain('logged parent');
    // Nor does its own view name the token that made it.
    const self = expectStatus(await as(child.secret).get(child.token.id), 200).token;
    expect(self.created_by).toEqual({ type: 'token', id: null, name: '(a token this one does not manage)' });
    expect(JSON.stringify(self)).not.toContain(parent.token.id);
    expect(expectStatus(await as(child.secret).get(grandchild.token.id), 200).token.created_by).toMatchObject({ id: child.token.id });
    // A person's change to a token it sees is there, the person unnamed and called what they are.
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${grandchild.token.id}`, headers: session(), payload: { name: 'renamed by the owner' } }), 200);
    const renamed = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.updated&limit=100', headers: bearer(child.secret) }), 200).data
      .find((e: any) => e.target.id === grandchild.token.id);
    expect(renamed).toMatchObject({ actor: { type: 'user', id: null, name: '(someone of the account)' }, ip: null, user_agent: null });
  });
});
