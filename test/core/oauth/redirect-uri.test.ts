import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRedirectUri, chooseRedirectUri, redirectUriMatches } from '../../../src/core/oauth/redirect-uri.js';
import { describesSafely } from '../../helpers/error-description.js';

const segment = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._~'), minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..');
const path = fc.array(segment, { maxLength: 4 }).map((segments) => `/${segments.join('/')}`);
const query = fc.option(fc.string({ unit: fc.constantFrom(...'abcxyz0123=&'), maxLength: 12 }).map((q) => `?${q}`), { nil: '' });
const httpsUri = fc.tuple(fc.domain(), path, query).map(([host, p, q]) => `https://${host}${p}${q}`);
const privateUseUri = fc.tuple(fc.constantFrom('com.example.app', 'org.example.native', 'com.googleusercontent.apps.1234-abc'), path).map(([scheme, p]) => `${scheme}:${p}`);
const loopbackHost = fc.constantFrom('127.0.0.1', '[::1]', 'localhost');
const port = fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 80);
const loopbackUri = fc.tuple(loopbackHost, fc.option(port, { nil: undefined }), path, query).map(([host, p, rest, q]) => `http://${host}${p === undefined ? '' : `:${p}`}${rest}${q}`);

const accepted = (text: string) => checkRedirectUri(text);

describe('redirect URIs at registration', () => {
  it('accept https anywhere, http on loopback hosts, and an app’s own scheme in either form', () => {
    expect(accepted('https://app.example/callback')).toEqual({ ok: true, uri: 'https://app.example/callback', kind: 'https' });
    expect(accepted('https://app.example')).toEqual({ ok: true, uri: 'https://app.example', kind: 'https' });
    expect(accepted('https://app.example:8443/cb?tenant=a')).toMatchObject({ ok: true, kind: 'https' });
    expect(accepted('https://203.0.113.7/cb')).toMatchObject({ ok: true, kind: 'https' });
    for (const uri of ['http://127.0.0.1/callback', 'http://127.0.0.1:33418/', 'http://[::1]:8080/cb', 'http://localhost:6274/oauth/callback', 'http://localhost']) {
      expect(accepted(uri), uri).toEqual({ ok: true, uri, kind: 'loopback' });
    }
    for (const uri of ['com.example.app:/callback', 'com.googleusercontent.apps.123-abc:/oauth2redirect', 'org.example:/', 'cursor://anysphere.cursor-mcp/oauth/callback', 'vscode://vscode.github-authentication/did-authenticate']) {
      expect(accepted(uri), uri).toEqual({ ok: true, uri, kind: 'private-use' });
    }
    fc.assert(
      fc.property(fc.oneof(httpsUri, loopbackUri, privateUseUri), (uri) => {
        expect(accepted(uri), uri).toMatchObject({ ok: true, uri });
      }),
    );
  });

  it('refuse dangerous and single-word schemes, an operating system’s handlers among them', () => {
    for (const uri of ['myapp:/callback', 'ms-msdt:/id', 'search-ms:/query', 'ms-officecmd:/x', 'itms-services://x/y', 'steam://run/1', 'javascript:alert(1)', 'javascript://app.example/%0aalert(1)', 'data:text/html,<script>1</script>', 'file:///etc/passwd', 'blob:https://app.example/x', 'vbscript:msgbox', 'about:blank', 'ftp://app.example/', 'ws://127.0.0.1/', 'wss://app.example/', 'mailto:someone@app.example']) {
      expect(accepted(uri), uri).toMatchObject({ ok: false, error: 'invalid_redirect_uri' });
    }
  });

  it('refuse http off loopback, however close to loopback the host looks', () => {
    for (const uri of ['http://app.example/cb', 'http://127.0.0.2/cb', 'http://10.0.0.1/cb', 'http://localhost.evil.example/cb', 'http://127.0.0.1.nip.io/cb', 'http://[::2]/cb', 'http://0.0.0.0/cb']) {
      expect(accepted(uri), uri).toMatchObject({ ok: false, description: expect.stringContaining('loopback') });
    }
  });

  it('refuse relative URIs, fragments, user information, and app schemes with no path or an empty authority', () => {
    for (const uri of ['', '/callback', 'app.example/cb', '//app.example/cb', 'https://', 'https://app.example/cb#x', 'https://app.example/cb#', 'https://user@app.example/cb', 'https://good.example@evil.example/', 'https://:pw@app.example/', 'http://user:pw@127.0.0.1/', 'com.example.app:///callback', 'com.example.app:callback', 'com.example.app://u@host/cb']) {
      expect(accepted(uri), uri).toMatchObject({ ok: false, error: 'invalid_redirect_uri' });
    }
  });

  it('refuse any spelling a parser would rewrite', () => {
    for (const uri of ['HTTPS://app.example/cb', 'https://App.example/cb', 'https://app.example:443/cb', 'http://127.0.0.1:80/cb', 'https://app.example/a/../cb', 'https://app.example/./cb', 'https://app.example/%2e%2e/cb', 'https:\\\\app.example\\cb', 'https://app.example/c b', ' https://app.example/cb', 'https://app.example/cb\n', 'http://127.1/cb', 'http://0x7f.0.0.1/cb', 'https://ü.example/cb', 'http://[0:0::1]/cb']) {
      expect(accepted(uri), JSON.stringify(uri)).toMatchObject({ ok: false, error: 'invalid_redirect_uri' });
    }
  });

  it('refuse a URI longer than 2,048 characters', () => {
    const base = 'https://app.example/';
    expect(accepted(base + 'a'.repeat(2048 - base.length))).toMatchObject({ ok: true });
    expect(accepted(base + 'a'.repeat(2049 - base.length))).toMatchObject({ ok: false, description: expect.stringContaining('2048') });
  });

  it('describe every refusal in fixed, safe text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.webUrl({ withFragments: true, withQueryParameters: true }), httpsUri.map((u) => `${u}#"\\`)), (text) => {
        const outcome = accepted(text);
        if (outcome.ok) return;
        describesSafely(outcome.description);
        if (text.length > 3) expect(outcome.description).not.toContain(text);
      }),
    );
  });
});

/** One character inserted, removed or replaced, or the case of one letter changed. */
const mutated = (uri: string) =>
  fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'case'), fc.constantFrom(...'aZ0/.:@?#%&=\\-_~ ')).map(([position, how, char]) => {
    const at = position % (uri.length + (how === 'insert' ? 1 : 0));
    const head = uri.slice(0, at);
    if (how === 'insert') return head + char + uri.slice(at);
    if (how === 'delete') return head + uri.slice(at + 1);
    if (how === 'replace') return head + char + uri.slice(at + 1);
    const letter = uri[at] ?? '';
    return head + (letter === letter.toLowerCase() ? letter.toUpperCase() : letter.toLowerCase()) + uri.slice(at + 1);
  });

describe('redirect URIs at authorization', () => {
  it('match a registered https or private-use URI only exactly', () => {
    fc.assert(
      fc.property(fc.oneof(httpsUri, privateUseUri).chain((uri) => fc.tuple(fc.constant(uri), mutated(uri))), ([registered, requested]) => {
        expect(redirectUriMatches(registered, registered)).toBe(true);
        expect(redirectUriMatches(registered, requested)).toBe(requested === registered);
      }),
      { numRuns: 2000 },
    );
  });

  it('match a loopback URI on any port, and with nothing else changed', () => {
    fc.assert(
      fc.property(loopbackUri, fc.option(port, { nil: undefined }), (registered, otherPort) => {
        const requested = registered.replace(/^(http:\/\/(?:127\.0\.0\.1|\[::1\]|localhost))(:\d+)?/, (_, host: string) => (otherPort === undefined ? host : `${host}:${otherPort}`));
        expect(redirectUriMatches(registered, requested)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(loopbackUri.chain((uri) => fc.tuple(fc.constant(uri), mutated(uri))), ([registered, requested]) => {
        const portless = (uri: string) => uri.replace(/^(http:\/\/[^/?]*?)(:\d+)?(?=[/?]|$)/, '$1');
        const onlyThePortChanged = portless(requested) === portless(registered) && checkRedirectUri(requested).ok && !/:0(?=[/?]|$)/.test(requested);
        expect(redirectUriMatches(registered, requested), requested).toBe(onlyThePortChanged);
      }),
      { numRuns: 2000 },
    );
  });

  it('do not carry the loopback exception over to other hosts or schemes', () => {
    expect(redirectUriMatches('http://127.0.0.1:3000/cb', 'http://localhost:3000/cb')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/cb', 'http://[::1]:3000/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:3000/cb', 'https://127.0.0.1:3000/cb')).toBe(false);
    expect(redirectUriMatches('https://localhost:3000/cb', 'https://localhost:4000/cb')).toBe(false);
    expect(redirectUriMatches('https://app.example:8443/cb', 'https://app.example:9443/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:3000/cb', 'http://127.0.0.1:0/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:3000/cb', 'http://127.0.0.1:99999/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:3000/cb', 'http://127.0.0.1:80/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:3000/cb', 'http://127.0.0.1/cb')).toBe(true);
  });

  it('never match an open-redirect attempt', () => {
    const registered = 'https://good.example/callback';
    const attempts = [
      'https://good.example@evil.example/callback', 'https://good.example.evil.example/callback', 'https://evil.example/good.example/callback',
      'https://good.example/callback/../../evil', 'https://good.example/callback/..%2f..%2fevil', 'https://good.example/callback%2f..%2fevil',
      'https://good.example/%63allback', 'https://good.example/Callback', 'https://good.example/CALLBACK', 'https://GOOD.example/callback',
      'https://good.example/callback/', 'https://good.example/callback?next=https://evil.example', 'https://good.example/callback#@evil.example',
      'https://good.example:443/callback', 'https://good.example./callback', 'https:/good.example/callback', 'https:\\\\good.example\\callback',
      'https://good.example%2f@evil.example/callback', 'https://good.example\\@evil.example/callback', ' https://good.example/callback',
      'http://good.example/callback', '//evil.example/callback', 'https://good.example/callback\u0000', 'https://good.example/callback%00',
    ];
    for (const attempt of attempts) expect(redirectUriMatches(registered, attempt), JSON.stringify(attempt)).toBe(false);
    const loopback = 'http://127.0.0.1/callback';
    for (const attempt of ['http://127.0.0.1@evil.example/callback', 'http://127.0.0.1.evil.example/callback', 'http://127.0.0.1:3000@evil.example/callback', 'http://127.0.0.1:3000/callback/../evil', 'http://127.0.0.1:3000/Callback', 'http://127.0.0.1:3000/callback#x', 'http://127.0.0.1:3000/%63allback']) {
      expect(redirectUriMatches(loopback, attempt), attempt).toBe(false);
    }
  });

  it('choose the requested URI when one registered allows it', () => {
    const registered = ['https://app.example/cb', 'http://127.0.0.1/cb'];
    expect(chooseRedirectUri(registered, 'https://app.example/cb')).toEqual({ ok: true, uri: 'https://app.example/cb' });
    expect(chooseRedirectUri(registered, 'http://127.0.0.1:51234/cb')).toEqual({ ok: true, uri: 'http://127.0.0.1:51234/cb' });
    expect(chooseRedirectUri(registered, 'https://evil.example/cb')).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(chooseRedirectUri([], 'https://app.example/cb')).toMatchObject({ ok: false, error: 'invalid_request' });
  });

  it('let a client with one fixed URI leave it out, and no other', () => {
    expect(chooseRedirectUri(['https://app.example/cb'], undefined)).toEqual({ ok: true, uri: 'https://app.example/cb' });
    expect(chooseRedirectUri(['com.example.app:/cb'], '')).toEqual({ ok: true, uri: 'com.example.app:/cb' });
    expect(chooseRedirectUri(['https://app.example/cb', 'https://app.example/other'], undefined)).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(chooseRedirectUri(['http://127.0.0.1/cb'], undefined)).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(chooseRedirectUri([], undefined)).toMatchObject({ ok: false, error: 'invalid_request' });
  });
});
