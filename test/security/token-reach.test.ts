/**
 * Where a token's reach ends, from outside: a paused token stops what is below it; a domain's
 * deletion takes with it the tokens it leaves nothing to act on, and only those its deleter could
 * have revoked; mail sent by a token bound to one domain tells it nothing of the others. Each test
 * is an attack that got through before.
 */
import { describe, expect, it } from 'vitest';
import { asSession, bearer, createDomain, createMailbox, createToken, expectError, expectStatus, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

const session = () => asSession(owner);
const mint = async (secret: string, payload: Record<string, unknown>) => expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload }), 201);
const act = (auth: Record<string, string>, id: string, action: string, payload: Record<string, unknown> = {}) =>
  h.request({ method: 'POST', url: `/v1/tokens/${id}/${action}`, headers: auth, payload });
const use = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
const ownerView = async (id: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${id}`, headers: session() }), 200).token;
const deleteDomain = (auth: Record<string, string>, id: string) => h.request({ method: 'DELETE', url: `/v1/domains/${id}`, headers: auth });
/** As another node would change a row: this node's cache hears nothing. */
const elsewhere = (id: string, fields: Record<string, unknown>) => h.store.db.updateTable('tokens').set(fields).where('id', '=', id).execute();

describe('a paused token stops everything below it', () => {
  it('refuses the tokens below while it is paused, and gives each back its own state when resumed', async () => {
    const parent = await createToken(h, session(), { name: 'pipeline', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(parent.secret, { name: 'job', scopes: ['tokens:full', 'domains:read'] });
    const grandchild = await mint(child.secret, { name: 'step', scopes: ['domains:read'] });
    const pausedChild = await mint(parent.secret, { name: 'paused job', scopes: ['domains:read'] });
    expectStatus(await act(bearer(parent.secret), pausedChild.token.id, 'pause'), 200);
    for (const { secret } of [child, grandchild]) expectStatus(await use(secret), 200);

    expectStatus(await act(session(), parent.token.id, 'pause'), 200);
    for (const { secret } of [parent, child, grandchild, pausedChild]) expectError(await use(secret), 401, 'token_paused');
    // Nor does a token below manage anything meanwhile.
    expectError(await act(bearer(child.secret), grandchild.token.id, 'revoke'), 401, 'token_paused');
    expect((await ownerView(grandchild.token.id)).status).toBe('active');

    expectStatus(await act(session(), parent.token.id, 'resume'), 200);
    for (const { secret } of [parent, child, grandchild]) expectStatus(await use(secret), 200);
    expectError(await use(pausedChild.secret), 401, 'token_paused');
  });

  it('is decided on the rows as they are now when a token below acts, whatever this node cached', async () => {
    const parent = await createToken(h, session(), { name: 'paused elsewhere', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(parent.secret, { name: 'child', scopes: ['tokens:full', 'domains:read'] });
    const grandchild = await mint(child.secret, { name: 'grandchild', scopes: ['domains:read'] });
    expectStatus(await use(child.secret), 200);
    await elsewhere(parent.token.id, { paused_at: h.clock.now() });
    expectError(await act(bearer(child.secret), grandchild.token.id, 'revoke'), 401, 'token_paused');
    expect((await ownerView(grandchild.token.id)).status).toBe('active');
  });

  it('pauses what is below a rotated token too, its successor’s tree being the same', async () => {
    const parent = await createToken(h, session(), { name: 'rotated then paused', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(parent.secret, { name: 'child', scopes: ['domains:read'] });
    const rotated = expectStatus(await act(session(), parent.token.id, 'rotate', { grace_period: '1h' }), 200);
    expectStatus(await act(session(), rotated.token.id, 'pause'), 200);
    for (const secret of [parent.secret, rotated.secret, child.secret]) expectError(await use(secret), 401, 'token_paused');
  });
});

describe('deleting a domain', () => {
  it('revokes a token once every domain it is constrained to is deleted', async () => {
    const [a, b] = [await createDomain(h, session()), await createDomain(h, session())];
    const both = await createToken(h, session(), { name: 'two domains', scopes: ['domains:read'], domains: [a.id, b.id] });
    expectStatus(await deleteDomain(session(), a.id), 204);
    expectStatus(await use(both.secret), 200);
    expectStatus(await deleteDomain(session(), b.id), 204);
    expectError(await use(both.secret), 401, 'token_revoked');
    expect((await ownerView(both.token.id)).revoke_reason).toBe('domain deleted');
  });

  it('does not take down a message token its deleter cannot see', async () => {
    const minter = await createToken(h, session(), { name: 'minter', scopes: ['tokens:full', 'message_tokens:full', 'messages:read', 'domains:full', 'mailboxes:full'] });
    // Made by the minter, the domain's own token is the minter's to revoke.
    const domain = await createDomain(h, bearer(minter.secret));
    const mailbox = await createMailbox(h, bearer(minter.secret), domain.id);
    const bound = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: bearer(minter.secret), payload: { name: 'agent', scopes: ['messages:read'] } }), 201);
    // It gives up managing message tokens (the one it minted still reads mail, which it holds).
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${minter.token.id}`, headers: bearer(minter.secret), payload: { scopes: ['tokens:full', 'messages:read', 'domains:full', 'mailboxes:full'] } }), 200);
    expectError(await h.request({ method: 'GET', url: `/v1/tokens/${bound.token.id}`, headers: bearer(minter.secret) }), 404, 'not_found');
    expectError(await deleteDomain(bearer(minter.secret), domain.id), 403, 'forbidden');
    expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${mailbox.id}/messages`, headers: bearer(bound.secret) }), 200);
  });

  it('lets a rotated-out secret of a domain’s only token be deleted: its successor stays', async () => {
    const created = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: session(), payload: { name: `only-${Date.now()}.example.com` } }), 201);
    const rotated = expectStatus(await act(session(), created.token.id, 'rotate', { grace_period: '1h' }), 200);
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${rotated.token.id}`, headers: session() }), 409, 'last_domain_token');
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/tokens/${created.token.id}`, headers: session() }), 204);
    expectError(await use(created.secret), 401, 'token_revoked');
    expectStatus(await use(rotated.secret), 200);
  });

  it('counts as a domain’s other token none that is paused, by itself or by a token above it', async () => {
    const created = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: session(), payload: { name: `paused-${Date.now()}.example.com` } }), 201);
    const parent = await createToken(h, session(), { name: 'paused above', scopes: ['tokens:full', 'domains:read'] });
    const standIn = await mint(parent.secret, { name: 'stand-in', scopes: ['domains:read'], domains: [created.domain.id] });
    expectStatus(await act(session(), parent.token.id, 'pause'), 200);
    expectError(await use(standIn.secret), 401, 'token_paused');
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${created.token.id}`, headers: session() }), 409, 'last_domain_token');
    expectStatus(await act(session(), parent.token.id, 'resume'), 200);
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/tokens/${created.token.id}`, headers: session() }), 204);
  });

  it('counts as a domain’s other token only one the deleting token can see', async () => {
    const domain = await createDomain(h, session());
    const manager = await createToken(h, session(), { name: 'manager', scopes: ['tokens:full', 'domains:read'] });
    const child = await mint(manager.secret, { name: 'bound', scopes: ['domains:read'], domains: [domain.id] });
    // The owner's own token for the domain (made with it) is none of the manager's business.
    const error = expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${child.token.id}`, headers: bearer(manager.secret) }), 409, 'last_domain_token');
    expect(error.message).toContain('you can see');
    expectStatus(await act(bearer(manager.secret), child.token.id, 'revoke'), 200);
    expectStatus(await h.request({ method: 'DELETE', url: `/v1/tokens/${child.token.id}`, headers: session() }), 204);
  });

  it('is refused to a token constrained, as it is now, to other domains', async () => {
    const [kept, target] = [await createDomain(h, session()), await createDomain(h, session())];
    const deleter = await createToken(h, session(), { name: 'deleter', scopes: ['domains:full'] });
    expectStatus(await use(deleter.secret), 200);
    await elsewhere(deleter.token.id, { domains: JSON.stringify([kept.id]) });
    expectError(await deleteDomain(bearer(deleter.secret), target.id), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(deleter.secret), payload: { name: `new-${Date.now()}.example.com` } }), 403, 'forbidden');
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${target.id}`, headers: session() }), 200);
  });
});

describe('creating a domain', () => {
  it('with a rotated-out secret makes the domain without its token, as for a member', async () => {
    const maker = await createToken(h, session(), { name: 'maker', scopes: ['tokens:full', 'domains:full'] });
    expectStatus(await act(session(), maker.token.id, 'rotate', { grace_period: '1h' }), 200);
    const created = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(maker.secret), payload: { name: `graced-${Date.now()}.example.com` } }), 201);
    expect(created).toMatchObject({ token: null, secret: null });
  });
});

describe('account-wide logs', () => {
  it('are refused to a token another node has since constrained to a domain', async () => {
    const domain = await createDomain(h, session());
    const reader = await createToken(h, session(), { name: 'log reader', scopes: ['tokens:full', 'domains:read'] });
    for (const url of ['/v1/access-logs', '/v1/audit-log']) expectStatus(await h.request({ method: 'GET', url, headers: bearer(reader.secret) }), 200);
    await elsewhere(reader.token.id, { domains: JSON.stringify([domain.id]) });
    for (const url of ['/v1/access-logs', '/v1/audit-log']) expectError(await h.request({ method: 'GET', url, headers: bearer(reader.secret) }), 403, 'forbidden');
  });
});

describe('mail from a token bound to one domain', () => {
  it('reaches a mailbox of another domain of the account without telling the sender it exists', async () => {
    const [mine, theirs] = [await createDomain(h, session()), await createDomain(h, session())];
    const hidden = await createMailbox(h, session(), theirs.id, 'private');
    const sender = await createToken(h, session(), { name: 'sender', scopes: ['submission:full', 'messages:read', 'activity:read'], domains: [mine.id] });
    const sent = expectStatus(await h.request({ method: 'POST', url: '/v1/email', headers: bearer(sender.secret), payload: { from: `app@${mine.name}`, to: [hidden.address, 'x@example.org'], subject: 'Hi', text: 'Body' } }), 202);
    expect(sent).toEqual({ accepted: [hidden.address, 'x@example.org'], delivered_locally: [] });
    const seen = expectStatus(await h.request({ method: 'GET', url: '/v1/activity', headers: bearer(sender.secret) }), 200).data;
    expect(seen.map((row: { to: string; event: string }) => [row.to, row.event]).sort()).toEqual([[hidden.address, 'accepted'], ['x@example.org', 'accepted']]);

    const delivered = expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${hidden.id}/messages`, headers: session() }), 200).data;
    expect(delivered).toHaveLength(1);
    const all = expectStatus(await h.request({ method: 'GET', url: '/v1/activity', headers: session() }), 200).data;
    expect(all.filter((row: { domain_id: string; event: string }) => row.domain_id === theirs.id).map((row: { event: string }) => row.event)).toEqual(['delivered']);
  });
});
