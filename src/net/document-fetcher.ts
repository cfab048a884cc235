import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from '../core/oauth/public-address.js';

/**
 * A JSON document fetched from a URL someone else chose (a client's metadata document), so that
 * the request cannot be turned against this server's own networks: https only, every address the
 * name resolves to must be public, the connection goes to the address that was checked (a second
 * resolution could answer otherwise), each redirect is checked like the first URL, and size and
 * time are bounded.
 */
export interface DocumentFetcher {
  fetch(url: string): Promise<FetchedDocument>;
}

export type FetchedDocument =
  | { ok: true; url: string; body: unknown; freshForMs: number }
  | { ok: false; reason: FetchRefusal; description: string };

export type FetchRefusal = 'scheme' | 'address' | 'redirects' | 'status' | 'content_type' | 'too_large' | 'timeout' | 'not_json' | 'network';

export interface FetchRules {
  maxBytes: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /** How long a document may be kept at most, whatever its Cache-Control says. */
  maxFreshMs: number;
  /** How long one that says nothing is kept. */
  defaultFreshMs: number;
  schemes: readonly ('https:' | 'http:')[];
  addressAllowed: (ip: string) => boolean;
  /** Every address of a name. */
  resolve: (host: string) => Promise<string[]>;
}

export const DEFAULT_FETCH_RULES: FetchRules = {
  maxBytes: 64 * 1024,
  timeoutMs: 5000,
  maxRedirects: 3,
  maxFreshMs: 24 * 3600_000,
  defaultFreshMs: 300_000,
  schemes: ['https:'],
  addressAllowed: isPublicAddress,
  resolve: async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((entry) => entry.address),
};

const refused = (reason: FetchRefusal, description: string): FetchedDocument => ({ ok: false, reason, description });

class Refused extends Error {
  constructor(readonly reason: FetchRefusal, description: string) {
    super(description);
  }
}

/** How long a response may be kept, from its Cache-Control. */
export function freshnessOf(cacheControl: string | undefined, rules: Pick<FetchRules, 'maxFreshMs' | 'defaultFreshMs'>): number {
  if (cacheControl === undefined) return rules.defaultFreshMs;
  const directives = cacheControl.toLowerCase().split(',').map((part) => part.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache' || d === 'private')) return 0;
  const maxAge = directives.map((d) => /^max-age=(\d{1,10})$/.exec(d)).find((m) => m !== null);
  if (maxAge == null) return rules.defaultFreshMs;
  return Math.min(Number(maxAge[1]) * 1000, rules.maxFreshMs);
}

export class SafeDocumentFetcher implements DocumentFetcher {
  private readonly rules: FetchRules;

  constructor(rules: Partial<FetchRules> = {}) {
    this.rules = { ...DEFAULT_FETCH_RULES, ...rules };
  }

  async fetch(url: string): Promise<FetchedDocument> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.rules.timeoutMs);
    try {
      let current = url;
      for (let hop = 0; ; hop += 1) {
        const answer = await this.request(current, deadline.signal);
        if (answer.kind === 'document') return answer.document;
        if (hop >= this.rules.maxRedirects) return refused('redirects', `more than ${this.rules.maxRedirects} redirects`);
        current = answer.location;
      }
    } catch (error) {
      if (error instanceof Refused) return refused(error.reason, error.message);
      if (deadline.signal.aborted) return refused('timeout', `no complete answer within ${this.rules.timeoutMs} ms`);
      return refused('network', 'the document could not be fetched');
    } finally {
      clearTimeout(timer);
    }
  }

  /** The URL's one checked address, for the connection to use instead of resolving again. */
  private async addressOf(url: URL): Promise<string> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const addresses = isIP(host) ? [host] : await this.rules.resolve(host).catch(() => {
      throw new Refused('network', 'the document’s host name does not resolve');
    });
    if (addresses.length === 0) throw new Refused('network', 'the document’s host name does not resolve');
    // All of them, not one: which one a later connection would pick is not ours to know.
    if (!addresses.every((address) => this.rules.addressAllowed(address))) {
      throw new Refused('address', 'the document’s host is not on the public Internet');
    }
    return addresses[0]!;
  }

  private async request(text: string, signal: AbortSignal): Promise<{ kind: 'document'; document: FetchedDocument } | { kind: 'redirect'; location: string }> {
    const url = URL.parse(text);
    if (url === null || !(this.rules.schemes as readonly string[]).includes(url.protocol)) {
      throw new Refused('scheme', `the document must be fetched over ${this.rules.schemes.join(' or ')}`);
    }
    if (url.username !== '' || url.password !== '') throw new Refused('scheme', 'the document’s URL must not carry user information');
    const address = await this.addressOf(url);
    const pinned: LookupFunction = (_host, options, callback) => {
      const family = isIP(address);
      if (options.all) (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      // Whatever stage the exchange is in when time runs out, the answer is a refusal.
      signal.addEventListener('abort', () => reject(new Refused('timeout', `no complete answer within ${this.rules.timeoutMs} ms`)), { once: true });
      const request = client.request(url, {
        method: 'GET', lookup: pinned, signal, agent: false,
        headers: { accept: 'application/json', 'user-agent': 'Latchkey (client metadata fetcher)' },
      }, (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400 && status !== 304) {
          response.resume();
          const location = response.headers.location;
          if (location === undefined) return reject(new Refused('status', `a ${status} redirect without a Location`));
          return resolve({ kind: 'redirect', location: new URL(location, url).href });
        }
        if (status !== 200) {
          response.resume();
          return reject(new Refused('status', `the document’s server answered ${status}`));
        }
        const type = String(response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json' && !type.endsWith('+json')) {
          response.destroy();
          return reject(new Refused('content_type', 'the document must be served as application/json'));
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.rules.maxBytes) {
          response.destroy();
          return reject(new Refused('too_large', `the document must be at most ${this.rules.maxBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.rules.maxBytes) {
            response.destroy();
            reject(new Refused('too_large', `the document must be at most ${this.rules.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          if (size > this.rules.maxBytes) return;
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(new Refused('not_json', 'the document is not valid JSON'));
          }
          const freshForMs = freshnessOf(response.headers['cache-control'], this.rules);
          resolve({ kind: 'document', document: { ok: true, url: url.href, body, freshForMs } });
        });
      });
      request.on('error', reject);
      request.end();
    });
  }
}
