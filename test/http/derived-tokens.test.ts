import { describe, expect, it } from 'vitest';
import { asSession, bearer, createMailbox, createToken, expectError, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

let n = 0;
const newDomain = async (name = `dt${(n += 1)}-${Date.now().toString(36)}.example.com`) => {
  const response = await h.request({ method: 'POST', url: '/v1/domains', headers: asSession(owner), payload: { name } });
  expect(response.headers['cache-control']).toBe('no-store');
  return expectStatus(response, 201) as { domain: { id: string; name: string }; token: any; secret: string };
};

describe('domain tokens', () => {
  it('come with every new domain: named after it, domain-admin scopes, constrained to it, shown once', async () => {
    const { domain, token, secret } = await newDomain();
    const other = await newDomain();
    expect(token).toMatchObject({ name: `${domain.name} token 1`, domains: [domain.id], type: 'api' });
    expect(token.scopes).toEqual(expect.arrayContaining(['domains:full', 'mailboxes:full', 'submission:full']));
    expect(secret).toMatch(/^lk_live_/);
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${domain.id}`, headers: bearer(secret) }), 200);
    expectError(await h.request({ method: 'GET', url: `/v1/domains/${other.domain.id}`, headers: bearer(secret) }), 404, 'not_found');
    const created = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.created', headers: asSession(owner) }), 200);
    expect(created.data.find((e: any) => e.target.id === token.id).details).toMatchObject({ domain_token: true, domain_id: domain.id });
  });

  it('refuse deletion of the last active token of a domain with 409, but always allow revocation', async () => {
    const { domain, token } = await newDomain();
    const err = expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: asSession(owner) }), 409, 'last_domain_token');
    expect(err.details).toEqual({ domain_id: domain.id });
    const { token: second } = await createToken(h, asSession(owner), { name: 'second', scopes: ['domains:read'], domains: [domain.id] });
    expect((await h.request({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: asSession(owner) })).statusCode).toBe(204);
    expectError(await h.request({ method: 'DELETE', url: `/v1/tokens/${second.id}`, headers: asSession(owner) }), 409, 'last_domain_token');
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${second.id}/revoke`, headers: asSession(owner), payload: {} }), 200);
    expect((await h.request({ method: 'DELETE', url: `/v1/tokens/${second.id}`, headers: asSession(owner) })).statusCode).toBe(204);
  });

  it('survive parallel deletes: at most all but one of a domain’s tokens go', async () => {
    const { domain, token } = await newDomain();
    const others = [];
    for (let i = 0; i < 4; i += 1) others.push((await createToken(h, asSession(owner), { name: `extra ${i}`, scopes: ['domains:read'], domains: [domain.id] })).token);
    const ids = [token.id, ...others.map((t) => t.id)];
    const results = await Promise.all(ids.map((id) => h.request({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: asSession(owner) })));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 204)).toHaveLength(4);
    expect(codes.filter((c) => c === 409)).toHaveLength(1);
    const live = await h.store.db.selectFrom('tokens').select('id').where('id', 'in', ids).where('deleted_at', 'is', null).execute();
    expect(live).toHaveLength(1);
  });

  it('are revoked with their domain; a domain re-created under the same name is a new domain to old tokens', async () => {
    const { domain, secret } = await newDomain('recreated.example.com');
    const other = await newDomain();
    const { secret: both } = await createToken(h, asSession(owner), { name: 'both', scopes: ['domains:read'], domains: [domain.id, other.domain.id] });
    expect((await h.request({ method: 'DELETE', url: `/v1/domains/${domain.id}`, headers: asSession(owner) })).statusCode).toBe(204);
    expectError(await h.request({ method: 'GET', url: `/v1/domains/${other.domain.id}`, headers: bearer(secret) }), 401, 'token_revoked');
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${other.domain.id}`, headers: bearer(both) }), 200);
    const again = await newDomain('recreated.example.com');
    expect(again.domain.id).not.toBe(domain.id);
    expect(again.token.name).toBe('recreated.example.com token 2');
    expectError(await h.request({ method: 'GET', url: `/v1/domains/${again.domain.id}`, headers: bearer(both) }), 404, 'not_found');
  });
});

describe('message tokens', () => {
  it('are minted for one mailbox by a token holding message_tokens:full, and reach that mailbox only', async () => {
    const { domain } = await newDomain();
    const inbox = await createMailbox(h, asSession(owner), domain.id, 'inbox');
    const elsewhere = await createMailbox(h, asSession(owner), domain.id, 'elsewhere');
    const { secret: minter } = await createToken(h, asSession(owner), { name: 'minter', scopes: ['message_tokens:full', 'messages:read', 'submission:full'] });
    const minted = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${inbox.id}/message-tokens`, headers: bearer(minter), payload: { name: 'agent inbox', scopes: ['messages:read', 'messages:send'] } }), 201);
    expect(minted.secret).toMatch(/^lk_msg_/);
    expect(minted.token).toMatchObject({ type: 'message', mailbox_id: inbox.id, scopes: ['messages:read', 'messages:send'] });
    const msg = bearer(minted.secret);

    expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${inbox.id}/messages`, headers: msg }), 200);
    const sent = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${inbox.id}/messages/send`, headers: msg, payload: { to: elsewhere.address, subject: 'hi', text: 'from the agent' } }), 202);
    // Delivered, but not said to be: the message token sees no mailbox but its own.
    expect(sent.delivered_locally).toEqual([]);
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${elsewhere.id}/messages`, headers: asSession(owner) }), 200).data).toHaveLength(1);
    expectError(await h.request({ method: 'GET', url: `/v1/mailboxes/${elsewhere.id}/messages`, headers: msg }), 404, 'not_found');
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${elsewhere.id}/messages/send`, headers: msg, payload: { to: 'x@example.org', subject: 's', text: 't' } }), 404, 'not_found');
    for (const url of ['/v1/domains', '/v1/activity', '/v1/tokens']) expectError(await h.request({ method: 'GET', url, headers: msg }), 403, 'forbidden');
    expectError(await h.request({ method: 'POST', url: '/v1/email', headers: msg, payload: { from: inbox.address, to: 'x@example.org', subject: 's', text: 't' } }), 403, 'forbidden');
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${inbox.id}/message-tokens`, headers: msg, payload: { name: 'child', scopes: ['messages:read'] } }), 403, 'forbidden');
  });

  it('are never wider than the minting token', async () => {
    const { domain } = await newDomain();
    const inbox = await createMailbox(h, asSession(owner), domain.id);
    const { secret: readOnly } = await createToken(h, asSession(owner), { name: 'read only minter', scopes: ['message_tokens:full', 'messages:read'], expires_in: '7d', ip_allowlist: ['127.0.0.1'] });
    const mint = (scopes: string[], extra: Record<string, unknown> = {}) =>
      h.request({ method: 'POST', url: `/v1/mailboxes/${inbox.id}/message-tokens`, headers: bearer(readOnly), payload: { name: 'm', scopes, ...extra } });
    expect(expectError(await mint(['messages:send']), 403, 'insufficient_scope').details).toMatchObject({ scope: 'submission:full' });
    const ok = expectStatus(await mint(['messages:read']), 201);
    expect(ok.token.ip_allowlist).toEqual(['127.0.0.1']);
    expect(Date.parse(ok.token.expires_at)).toBe(h.clock.now() + 7 * 86_400_000);
    expectError(await mint(['messages:read'], { expires_in: '30d' }), 403, 'forbidden');
    expectError(await mint(['domains:read']), 400, 'invalid_request');
    const { secret: constrained } = await createToken(h, asSession(owner), { name: 'other domain', scopes: ['message_tokens:full', 'messages:read'], domains: [(await newDomain()).domain.id] });
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${inbox.id}/message-tokens`, headers: bearer(constrained), payload: { name: 'm', scopes: ['messages:read'] } }), 404, 'not_found');
    const starter = await ownerSession(h, 'starter');
    const { domain: sd } = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: asSession(starter), payload: { name: 'starter-mail.example.com' } }), 201);
    const box = await createMailbox(h, asSession(starter), sd.id);
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${box.id}/message-tokens`, headers: asSession(starter), payload: { name: 'm', scopes: ['messages:read'] } }), 403, 'plan_restricted');
  });
});

describe('cascading revocation', () => {
  it('revokes everything a token minted, three levels deep, on revoke and on delete', async () => {
    const { domain } = await newDomain();
    const inbox = await createMailbox(h, asSession(owner), domain.id);
    for (const end of ['revoke', 'delete'] as const) {
      const { secret: a, token: tokenA } = await createToken(h, asSession(owner), { name: `A ${end}`, scopes: ['tokens:full', 'message_tokens:full', 'messages:read', 'domains:read'] });
      const b = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(a), payload: { name: 'B', scopes: ['tokens:full', 'message_tokens:full', 'messages:read'] } }), 201);
      const c = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(b.secret), payload: { name: 'C', scopes: ['messages:read'] } }), 201);
      const m = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${inbox.id}/message-tokens`, headers: bearer(b.secret), payload: { name: 'M', scopes: ['messages:read'] } }), 201);
      const probe = (secret: string, url = `/v1/mailboxes/${inbox.id}/messages`) => h.request({ method: 'GET', url, headers: bearer(secret) });
      expectStatus(await probe(c.secret), 200);
      expectStatus(await probe(m.secret), 200);
      if (end === 'revoke') expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${tokenA.id}/revoke`, headers: asSession(owner), payload: {} }), 200);
      else expect((await h.request({ method: 'DELETE', url: `/v1/tokens/${tokenA.id}`, headers: asSession(owner) })).statusCode).toBe(204);
      for (const secret of [b.secret, c.secret, m.secret]) expectError(await probe(secret), 401, 'token_revoked');
      const view = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${c.token.id}`, headers: asSession(owner) }), 200).token;
      expect(view.revoke_reason).toBe(`parent ${tokenA.id} revoked`);
    }
  });

  it('after a rotation, revoking the successor revokes the old secret in its grace period and what it minted', async () => {
    const { secret: parent, token } = await createToken(h, asSession(owner), { name: 'parent', scopes: ['tokens:full', 'domains:read'] });
    const child = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: bearer(parent), payload: { name: 'child', scopes: ['domains:read'] } }), 201);
    const rotated = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/rotate`, headers: asSession(owner), payload: {} }), 200);
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${rotated.token.id}/revoke`, headers: asSession(owner), payload: {} }), 200);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(child.secret) }), 401, 'token_revoked');
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(parent) }), 401, 'token_revoked');
  });
});
