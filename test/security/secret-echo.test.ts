/**
 * A secret pasted where it does not belong (a URL, a name, a domain list, an email address) is
 * never echoed, logged or stored: it comes back as its visible prefix and `…[redacted]`. And
 * `/v1/verify` vouches for a token on a domain only when that domain is really its to act on.
 * The harness searches every log line and every stored row for every secret it handed out.
 */
import { describe, expect } from 'vitest';
import { asSession, bearer, createDomain, createMailbox, createToken, expectError, expectStatus, operator, ownerSession } from '../helpers/actors.js';
import { test, type Victim } from '../helpers/fixtures.js';

const REDACTED = '…[redacted]';

function expectRedacted(victim: Victim, text: string): void {
  expect(text).not.toContain(victim.secret);
  expect(text).not.toContain(victim.secret.slice(16, 40));
}

describe('a secret pasted into a URL', () => {
  test('is not echoed by the router, nor kept whole in the access log, its CSV or the server log', async ({ app: h, owner, victim }) => {
    const { secret: caller } = await createToken(h, asSession(owner), { name: 'caller', scopes: ['tokens:full', 'domains:read'] });
    const encoded = victim.secret.replace(/_/g, '%5F');
    const urls = [`/v1/tokens/${victim.secret}`, `/v1/tokens/${encoded}`, `/v1/tokens/${victim.secret}/activity`, `/v1/nowhere/${victim.secret}`, `/v1/tokens/x?${victim.secret}=1`];
    for (const url of urls) {
      for (const headers of [bearer(caller), asSession(owner)]) {
        const response = await h.request({ method: 'GET', url, headers });
        expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, url).toBeLessThan(500);
        expectRedacted(victim, response.body);
      }
    }
    expect((await h.request({ method: 'GET', url: `/v1/nowhere/${victim.secret}`, headers: asSession(owner) })).json().error.message).toContain(REDACTED);
    await h.ctx.accessLog.flush();
    const csv = await h.request({ method: 'GET', url: '/v1/access-logs?format=csv&limit=1000', headers: asSession(owner) });
    expectRedacted(victim, csv.body);
    expect(csv.body).toContain(`${victim.token.visible_prefix}${REDACTED}`);
    expectRedacted(victim, h.logs.join(''));
    expect(h.logs.join('')).toContain(`${victim.token.visible_prefix}${REDACTED}`);
  });
});

describe('a secret pasted into the wrong field', () => {
  test('is redacted in every error that quotes the field', async ({ app: h, owner, victim }) => {
    const s = asSession(owner);
    const domain = await createDomain(h, s);
    await createMailbox(h, s, domain.id);
    const attempts = [
      { url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'], domains: [victim.secret] } },
      { url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'], ip_allowlist: [victim.secret] } },
      { url: '/v1/tokens', payload: { name: 'x', scopes: [victim.secret] } },
      { url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'], expires_at: victim.secret } },
      { url: '/v1/tokens', payload: { name: 'x', scopes: ['domains:read'], [victim.secret]: true } },
      { url: '/v1/email', payload: { from: `inbox@${domain.name}`, to: victim.secret, subject: 's', text: 't' } },
      { url: '/v1/email', payload: { from: victim.secret, to: 'a@example.com', subject: 's', text: 't' } },
      { url: '/v1/domains', payload: { name: victim.secret } },
    ];
    for (const { url, payload } of attempts) {
      const response = await h.request({ method: 'POST', url, headers: s, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expectRedacted(victim, response.body);
    }
    const quoted = expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: s, payload: { name: 'x', scopes: ['domains:read'], domains: [victim.secret] } }), 400, 'invalid_request');
    expect(quoted.message).toBe(`unknown domain '${victim.token.visible_prefix}${REDACTED}'`);
  });

  test('is redacted before it is stored: in a name, a description, an email, a reason, a user agent', async ({ app: h, owner, victim }) => {
    const s = asSession(owner);
    const domain = await createDomain(h, s);
    const mailbox = await createMailbox(h, s, domain.id);
    const carrier = expectStatus(await h.request({
      method: 'POST', url: '/v1/tokens', headers: { ...s, 'user-agent': `curl ${victim.secret}` },
      payload: { name: `named ${victim.secret}`, description: victim.secret, scopes: ['domains:read'] },
    }), 201);
    expect(carrier.token.name).toBe(`named ${victim.token.visible_prefix}${REDACTED}`);
    expect(carrier.token.description).toBe(`${victim.token.visible_prefix}${REDACTED}`);
    expectStatus(await h.request({ method: 'POST', url: '/v1/email', headers: s, payload: { from: `x@${domain.name}`, to: mailbox.address, subject: victim.secret, text: `key: ${victim.secret}` } }), 202);
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${carrier.token.id}/revoke`, headers: s, payload: { reason: `rotated, was ${victim.secret}` } }), 200);
    const messages = expectStatus(await h.request({ method: 'GET', url: `/v1/mailboxes/${mailbox.id}/messages`, headers: s }), 200);
    expect(messages.data[0].text).toBe(`key: ${victim.token.visible_prefix}${REDACTED}`);
    expectRedacted(victim, JSON.stringify(expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: s }), 200)));
  });
});

describe('/v1/verify answers only what is true', () => {
  test('vouches for a token on a domain only if that domain is live, in its account, and inside its constraint', async ({ app: h, owner, victim }) => {
    const s = asSession(owner);
    const mine = await createDomain(h, s);
    const otherMine = await createDomain(h, s);
    const stranger = await ownerSession(h);
    const theirs = await createDomain(h, asSession(stranger));
    const mailbox = await createMailbox(h, s, mine.id);
    const message = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: s, payload: { name: 'bound', scopes: ['messages:read'] } }), 201);
    const verify = async (token: string, domain: string, scope?: string) =>
      expectStatus(await h.request({ method: 'POST', url: '/v1/verify', headers: operator(h), payload: { token, domain, ...(scope ? { scope } : {}) } }), 200);

    expect(await verify(victim.secret, mine.id)).toMatchObject({ valid: true });
    const refusals = [await verify(victim.secret, theirs.id), await verify(victim.secret, 'dom_does_not_exist'), await verify(message.secret, otherMine.id)];
    for (const answer of refusals) expect(answer).toEqual({ valid: false, code: 'not_found' });
    expect(await verify(message.secret, mine.id, 'messages:read')).toMatchObject({ valid: true, token: { domains: [mine.id] } });

    expect((await h.request({ method: 'DELETE', url: `/v1/domains/${otherMine.id}`, headers: s })).statusCode).toBe(204);
    expect(await verify(victim.secret, otherMine.id)).toEqual({ valid: false, code: 'not_found' });
    // Asked again from the cache, still the same answers.
    expect(await verify(victim.secret, theirs.id)).toEqual({ valid: false, code: 'not_found' });
    expect(await verify(victim.secret, mine.id)).toMatchObject({ valid: true });
  });
});
