import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkClientIdUrl, CLIENT_ID_MAX_LENGTH } from '../../../src/core/oauth/client-id.js';
import { describesSafely } from '../../helpers/error-description.js';

const refusedFor = (text: string, reason: RegExp) => expect(checkClientIdUrl(text), JSON.stringify(text)).toMatchObject({ ok: false, error: 'invalid_client', description: expect.stringMatching(reason) });

const segment = fc.string({ unit: fc.constantFrom(...'abcxyzABC0123456789-._~'), minLength: 1, maxLength: 10 }).filter((s) => s !== '.' && s !== '..');
const documentUrl = fc.tuple(fc.domain(), fc.array(segment, { minLength: 1, maxLength: 4 })).map(([host, segments]) => `https://${host}/${segments.join('/')}`);

describe('client ID metadata document URLs', () => {
  it('accept an https URL on a domain with a path', () => {
    for (const text of ['https://app.example/oauth/client.json', 'https://app.example/client', 'https://app.example:8443/client.json', 'https://a.b.c.app.example/x?v=1', 'https://xn--tda.example/client']) {
      expect(checkClientIdUrl(text), text).toEqual({ ok: true, clientId: text });
    }
    fc.assert(
      fc.property(documentUrl, (text) => {
        expect(checkClientIdUrl(text), text).toEqual({ ok: true, clientId: text });
      }),
    );
  });

  it('refuse other schemes', () => {
    for (const text of ['http://app.example/client.json', 'HTTP://app.example/client.json', 'ftp://app.example/client.json', 'javascript:alert(1)', 'data:application/json,{}', 'app.example/client.json', '/client.json', 'client-123', '']) {
      refusedFor(text, /https/);
    }
  });

  it('refuse IP literals, in every spelling the parser reads as one', () => {
    for (const text of ['https://203.0.113.7/client', 'https://127.0.0.1/client', 'https://[2001:db8::1]/client', 'https://[::1]/client', 'https://0x7f.1/client', 'https://2130706433/client', 'https://127.1/client', 'https://0177.0.0.1/client']) {
      refusedFor(text, /not an IP address/);
    }
  });

  it('refuse hosts that are no public domain name', () => {
    for (const text of ['https://localhost/client', 'https://intranet/client', 'https://app_1.example/client', 'https://app.example./client', 'https://-app.example/client', 'https://app-.example/client', `https://${'a'.repeat(64)}.example/client`, `https://${'a.'.repeat(127)}example/client`]) {
      refusedFor(text, /domain name/);
    }
  });

  it('refuse a missing path, fragments, user information and dot segments', () => {
    refusedFor('https://app.example', /path/);
    refusedFor('https://app.example/', /path/);
    refusedFor('https://app.example/?client=1', /path/);
    refusedFor('https://app.example/client#x', /fragment/);
    refusedFor('https://app.example/client#', /fragment/);
    refusedFor('https://user@app.example/client', /user information/);
    refusedFor('https://user:pw@app.example/client', /user information/);
    refusedFor('https://:pw@app.example/client', /user information/);
    for (const text of ['https://app.example/./client', 'https://app.example/a/../client', 'https://app.example/a/..', 'https://app.example/%2e%2e/client', 'https://app.example/%2E/client', 'https://app.example/.%2e/client', 'https://app.example/client/.?x']) {
      refusedFor(text, /path segments/);
    }
  });

  it('refuse any spelling the parser would rewrite, so that one document is one client', () => {
    for (const text of ['https://App.example/client', 'HTTPS://app.example/client', 'https://app.example:443/client', 'https://app.example/a b', 'https:\\\\app.example\\client', 'https://ü.example/client', ' https://app.example/client', 'https://app.example/client\t', 'https://@app.example/client', 'https:app.example/client']) {
      refusedFor(text, /normalised form/);
    }
  });

  it('refuse a URL longer than 2,048 characters', () => {
    const base = 'https://app.example/';
    expect(checkClientIdUrl(base + 'a'.repeat(CLIENT_ID_MAX_LENGTH - base.length))).toMatchObject({ ok: true });
    refusedFor(base + 'a'.repeat(CLIENT_ID_MAX_LENGTH + 1 - base.length), /2048/);
  });

  it('accept only https URLs of their own normalised form, and describe every refusal safely', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withFragments: true, withQueryParameters: true }), documentUrl.map((u) => `${u}/..`), fc.string({ maxLength: 50 })), (text) => {
        const outcome = checkClientIdUrl(text);
        if (outcome.ok) {
          const url = new URL(text);
          expect([url.protocol, url.href, url.hash, url.username]).toEqual(['https:', text, '', '']);
          expect(url.pathname).not.toBe('/');
        } else {
          describesSafely(outcome.description);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
