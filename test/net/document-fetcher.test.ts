import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshnessOf, SafeDocumentFetcher, DEFAULT_FETCH_RULES, type FetchRules } from '../../src/net/document-fetcher.js';

/**
 * A real server on loopback stands in for a client's host. The fetcher under test keeps its
 * default rules except two the loopback server needs: plain http, and 127.0.0.1 counted as public
 * (names are resolved by a table, so `docs.test` reaches it and `inside.test` points inward).
 */
let server: Server;
let port: number;
const seen: { host?: string | undefined } = {};
const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  '/client.json': (_q, s) => s.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end('{"client_id":"x"}'),
  '/plain.json': (_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'),
  '/text': (_q, s) => s.writeHead(200, { 'content-type': 'text/html' }).end('<html>'),
  '/broken.json': (_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end('{"a":'),
  '/missing': (_q, s) => s.writeHead(404, { 'content-type': 'application/json' }).end('{}'),
  '/huge-declared': (_q, s) => s.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) }).end(),
  '/huge-streamed': (_q, s) => {
    s.writeHead(200, { 'content-type': 'application/json' });
    const chunk = 'x'.repeat(16 * 1024);
    let sent = 0;
    const more = () => {
      while (sent < 200 && s.write(chunk)) sent += 1;
      if (sent < 200) s.once('drain', more);
      else s.end();
    };
    s.write('"');
    more();
  },
  '/slow': () => undefined,
  '/to-client': (_q, s) => s.writeHead(302, { location: '/client.json' }).end(),
  '/loop': (_q, s) => s.writeHead(302, { location: '/loop' }).end(),
  '/to-inside': (_q, s) => s.writeHead(302, { location: `http://inside.test:${port}/client.json` }).end(),
  '/to-metadata-service': (_q, s) => s.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
};

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.host = request.headers.host;
    const route = routes[new URL(request.url ?? '/', 'http://x').pathname];
    if (route) route(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const NAMES: Record<string, string[]> = { 'docs.test': ['127.0.0.1'], 'inside.test': ['10.0.0.5'], 'mixed.test': ['127.0.0.1', '192.168.1.1'] };
const loopbackRules = (over: Partial<FetchRules> = {}): Partial<FetchRules> => ({
  schemes: ['http:'],
  addressAllowed: (ip) => ip === '127.0.0.1',
  resolve: async (host) => NAMES[host] ?? [],
  ...over,
});
const fetcher = (over: Partial<FetchRules> = {}) => new SafeDocumentFetcher(loopbackRules(over));
const at = (path: string, host = 'docs.test') => `http://${host}:${port}${path}`;

describe('the document fetcher, by its default rules', () => {
  it('fetches over https only', async () => {
    const strict = new SafeDocumentFetcher({ resolve: async () => ['93.184.216.34'] });
    expect(await strict.fetch('http://client.example/meta.json')).toMatchObject({ ok: false, reason: 'scheme' });
    expect(await strict.fetch('ftp://client.example/meta.json')).toMatchObject({ ok: false, reason: 'scheme' });
    expect(await strict.fetch('not a url')).toMatchObject({ ok: false, reason: 'scheme' });
    expect(await strict.fetch('https://user:pw@client.example/meta.json')).toMatchObject({ ok: false, reason: 'scheme' });
  });

  it('refuses an address on this host, its networks or anything special-purpose, named or literal', async () => {
    for (const inward of [['127.0.0.1'], ['10.1.2.3'], ['169.254.169.254'], ['::1'], ['fd00::1'], ['93.184.216.34', '192.168.0.10'], ['::ffff:127.0.0.1']]) {
      const strict = new SafeDocumentFetcher({ resolve: async () => inward });
      expect(await strict.fetch('https://client.example/meta.json'), inward.join()).toMatchObject({ ok: false, reason: 'address' });
    }
    const strict = new SafeDocumentFetcher({ resolve: async () => { throw new Error('no DNS here'); } });
    for (const literal of ['https://127.0.0.1/m.json', 'https://[::1]/m.json', 'https://169.254.169.254/m.json', 'https://[::ffff:10.0.0.1]/m.json', 'https://2130706433/m.json']) {
      expect(await strict.fetch(literal), literal).toMatchObject({ ok: false, reason: 'address' });
    }
    expect(await strict.fetch('https://client.example/m.json')).toMatchObject({ ok: false, reason: 'network' });
  });

  it('keeps a document as long as its Cache-Control says, within bounds', () => {
    const rules = DEFAULT_FETCH_RULES;
    expect(freshnessOf(undefined, rules)).toBe(rules.defaultFreshMs);
    expect(freshnessOf('public, max-age=600', rules)).toBe(600_000);
    expect(freshnessOf('max-age=99999999', rules)).toBe(rules.maxFreshMs);
    for (const never of ['no-store', 'no-cache', 'private, max-age=600', 'MAX-AGE=60, No-Store']) expect(freshnessOf(never, rules), never).toBe(0);
    expect(freshnessOf('max-age=-1', rules)).toBe(rules.defaultFreshMs);
  });
});

describe('the document fetcher against a real server', () => {
  it('fetches a JSON document, connecting to the address it checked', async () => {
    expect(await fetcher().fetch(at('/client.json'))).toEqual({ ok: true, url: at('/client.json'), body: { client_id: 'x' }, freshForMs: 600_000 });
    // The connection went to the checked address while the request still named the host.
    expect(seen.host).toBe(`docs.test:${port}`);
    expect(await fetcher().fetch(at('/plain.json'))).toMatchObject({ ok: true, freshForMs: DEFAULT_FETCH_RULES.defaultFreshMs });
  });

  it('refuses a name any of whose addresses points inward', async () => {
    expect(await fetcher().fetch(at('/client.json', 'inside.test'))).toMatchObject({ ok: false, reason: 'address' });
    expect(await fetcher().fetch(at('/client.json', 'mixed.test'))).toMatchObject({ ok: false, reason: 'address' });
    expect(await fetcher().fetch(at('/client.json', 'unknown.test'))).toMatchObject({ ok: false, reason: 'network' });
  });

  it('follows a few redirects, each checked like the first URL', async () => {
    expect(await fetcher().fetch(at('/to-client'))).toMatchObject({ ok: true, url: at('/client.json'), body: { client_id: 'x' } });
    expect(await fetcher().fetch(at('/loop'))).toMatchObject({ ok: false, reason: 'redirects' });
    expect(await fetcher().fetch(at('/to-inside'))).toMatchObject({ ok: false, reason: 'address' });
    expect(await fetcher().fetch(at('/to-metadata-service'))).toMatchObject({ ok: false, reason: 'address' });
    expect(await fetcher({ maxRedirects: 0 }).fetch(at('/to-client'))).toMatchObject({ ok: false, reason: 'redirects' });
  });

  it('refuses what is not a JSON document, too big, or too slow', async () => {
    expect(await fetcher().fetch(at('/text'))).toMatchObject({ ok: false, reason: 'content_type' });
    expect(await fetcher().fetch(at('/broken.json'))).toMatchObject({ ok: false, reason: 'not_json' });
    expect(await fetcher().fetch(at('/missing'))).toMatchObject({ ok: false, reason: 'status' });
    expect(await fetcher().fetch(at('/huge-declared'))).toMatchObject({ ok: false, reason: 'too_large' });
    expect(await fetcher().fetch(at('/huge-streamed'))).toMatchObject({ ok: false, reason: 'too_large' });
    const started = Date.now();
    expect(await fetcher({ timeoutMs: 300 }).fetch(at('/slow'))).toMatchObject({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never puts what it was sent into its descriptions', async () => {
    const answers = await Promise.all(['/text', '/broken.json', '/missing', '/huge-streamed', '/loop'].map((path) => fetcher().fetch(at(path))));
    for (const answer of answers) {
      expect(answer.ok).toBe(false);
      if (!answer.ok) expect(answer.description).not.toMatch(/html|xxxx|docs\.test/);
    }
  });
});
