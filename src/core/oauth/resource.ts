import { refuse, type Outcome } from './outcome.js';

/**
 * Resource indicators (RFC 8707): a client names the server a token is for, and Latchkey serves
 * one, its own MCP endpoint. A token is bound to that one canonical URL, so the value a client
 * sends is compared with it, not interpreted: scheme and host without regard to case (they have
 * none), an explicit default port allowed, a trailing `/` allowed, and the path otherwise
 * character for character, since a server may tell `/MCP` from `/mcp`.
 */

const DEFAULT_PORT: Readonly<Record<string, string>> = { 'https:': '443', 'http:': '80' };

/** Scheme, then authority, then the rest, as written: the URL parser would tidy what is compared. */
const PARTS = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#\\]*)(.*)$/s;

export const RESOURCE_MAX_LENGTH = 2048;

interface Canonical {
  readonly href: string;
  readonly protocol: string;
  readonly authorities: readonly string[];
  readonly path: string;
}

/** The deployment's own URL; a bad one is a configuration error, so this throws. */
function canonicalOf(expected: string): Canonical {
  const url = URL.parse(expected);
  if (url === null || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || !(url.protocol in DEFAULT_PORT)) {
    throw new Error('the MCP endpoint URL must be an absolute http(s) URL without query, fragment or user information');
  }
  const path = url.pathname.replace(/\/$/, '');
  const authorities = url.port === '' ? [url.host, `${url.host}:${DEFAULT_PORT[url.protocol]}`] : [url.host];
  return { href: `${url.origin}${path}`, protocol: url.protocol, authorities, path };
}

/** The form a token's audience is stored in: what a token bound to `url` is compared with. */
export const canonicalHref = (url: string): string => canonicalOf(url).href;

/** The one resource a token may be bound to, or `invalid_target`. Whether it may be left out is the endpoint's to decide. */
export function canonicalResource(value: string, expected: string): Outcome<{ resource: string }, 'invalid_target'> {
  const canonical = canonicalOf(expected);
  const notOurs = refuse('invalid_target', `resource must be this server's MCP endpoint, ${canonical.href}`);
  if (value.includes('#')) return refuse('invalid_target', 'resource must not have a fragment');
  if (value.length > RESOURCE_MAX_LENGTH) return notOurs;
  const parts = PARTS.exec(value);
  if (parts === null) return refuse('invalid_target', 'resource must be an absolute URI');
  const [, protocol = '', authority = '', rest = ''] = parts;
  if (authority.includes('@')) return refuse('invalid_target', 'resource must not have user information');
  if (protocol.toLowerCase() !== canonical.protocol || !canonical.authorities.includes(authority.toLowerCase())) return notOurs;
  if (rest !== canonical.path && rest !== `${canonical.path}/`) return notOurs;
  return { ok: true, resource: canonical.href };
}
