/**
 * A secret disguised by what a reader drops without thinking (zero-width and other invisible
 * characters, inside the prefix and the type word too; line breaks; percent- and JSON-escapes of
 * them; the UTF-8 bytes of one read as Latin-1, as Node reads a header) is still a secret: it is
 * redacted as it arrives, in the access log and in the server log, wherever the disguise sits.
 */
import { describe, expect } from 'vitest';
import { asSession, bearer, createToken, expectStatus } from '../helpers/actors.js';
import { test, type Victim } from '../helpers/fixtures.js';

const REDACTED = '…[redacted]';
const DISGUISES = ['%E2%80%8B', '%C2%AD', '\\u200b', '\\n', '\u00e2\u0080\u008b', '\u200b', '\u00ad', '\u2060', '\ufeff', '\n'];

/** The victim's secret with `insert` before each of the characters at `at`. */
const disguised = (victim: Victim, at: readonly number[], insert: string) =>
  [...victim.secret].map((ch, i) => (at.includes(i) ? insert : '') + ch).join('');

/** Nothing of the secret's body past its visible part, even once every disguise is taken out. */
function expectGone(victim: Victim, text: string): void {
  const seen = DISGUISES.reduce((out, disguise) => out.split(disguise).join(''), text);
  expect(seen).not.toContain(victim.secret.slice(16, 40));
  expect(seen).not.toContain(victim.secret.slice(-20));
}

describe('a disguised secret', () => {
  test('is redacted before it is stored: in a name, a description (JSON-escaped in the body), a user agent', async ({ app: h, owner, victim }) => {
    const s = asSession(owner);
    const name = `named ${disguised(victim, [1, 3, 5, 6], '\u200b')}`;
    const description = `${disguised(victim, [4, 30], '%E2%80%8B')} and ${disguised(victim, [2, 8], '\u00ad')} and ${disguised(victim, [20], '\u200b'.repeat(20))}`;
    // Sent as JSON text with `\u2060` escapes, which the body parser turns into the characters.
    const reason = JSON.stringify({ reason: `was ${disguised(victim, [3, 6, 20], '\u2060\u2060')}` }).replace(/\u2060/g, '\\u2060');
    const carrier = expectStatus(await h.request({
      method: 'POST', url: '/v1/tokens', headers: { ...s, 'user-agent': `curl/8 ${disguised(victim, [2, 9, 33], '\u00e2\u0080\u008b')}` },
      payload: { name, description, scopes: ['domains:read'] },
    }), 201);
    expect(carrier.token.name).toBe(`named ${victim.token.visible_prefix}${REDACTED}`);
    expect(carrier.token.description).toBe([1, 2, 3].map(() => `${victim.token.visible_prefix}${REDACTED}`).join(' and '));
    const revoked = expectStatus(await h.request({
      method: 'POST', url: `/v1/tokens/${carrier.token.id}/revoke`, headers: { ...s, 'content-type': 'application/json' }, payload: reason,
    }), 200);
    expectGone(victim, JSON.stringify(revoked));
    const audit = JSON.stringify(expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?limit=100', headers: s }), 200));
    expectGone(victim, audit);
    expect(audit).toContain(`${victim.token.visible_prefix}${REDACTED}`);
  });

  test('in a URL is not echoed, nor kept in the access log or its CSV', async ({ app: h, owner, victim }) => {
    const { secret: caller } = await createToken(h, asSession(owner), { name: 'caller', scopes: ['tokens:full', 'domains:read'] });
    for (const url of [`/v1/tokens/${disguised(victim, [1, 3, 8], '%E2%80%8B')}`, `/v1/nowhere/${disguised(victim, [2, 4, 40], '%C2%AD')}`, `/v1/tokens/${disguised(victim, [7, 9], '%EF%BB%BF'.repeat(20))}/activity`]) {
      const response = await h.request({ method: 'GET', url, headers: bearer(caller) });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, url).toBeLessThan(500);
      expectGone(victim, response.body);
    }
    await h.ctx.accessLog.flush();
    const csv = await h.request({ method: 'GET', url: '/v1/access-logs?format=csv&limit=1000', headers: asSession(owner) });
    expectGone(victim, csv.body);
    expect(csv.body).toContain(`${victim.token.visible_prefix}${REDACTED}`);
  });

  test('in a server log line, where a line break is written `\\n`, is redacted and the line stays JSON', async ({ app: h, victim }) => {
    const pasted = `key:\n${disguised(victim, [3, 6, 24], '\n')}\r\n${disguised(victim, [1, 5], '\u200b'.repeat(17))}`;
    h.app.log.warn({ pasted }, 'a pasted secret');
    const line = h.logs.find((entry) => entry.includes('a pasted secret'))!;
    expectGone(victim, line);
    expect(JSON.parse(line).pasted).toBe(`key:\n${victim.token.visible_prefix}${REDACTED}\r\n${victim.token.visible_prefix}${REDACTED}`);
    expectGone(victim, h.logs.join(''));
  });
});
