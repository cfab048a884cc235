import { refuse, type Outcome } from './outcome.js';

/**
 * Redirect URIs: which a client may register, and which requested URI a registered one allows.
 *
 * Kinds accepted at registration:
 * - `https:` with any host;
 * - `http:` on a loopback host (`127.0.0.1`, `[::1]`, `localhost`) for native apps (RFC 8252
 *   section 7.3); over the network it would carry the code in the clear;
 * - a private-use scheme of a native app: the reverse-domain form RFC 8252 section 7.1 asks for
 *   (`com.example.app:/callback`), and the plain form a few agents people use register
 *   (`cursor://anysphere.cursor-mcp/oauth/callback`), those by name only: a plain scheme is as
 *   likely an operating system's handler (`ms-msdt:`, `search-ms:`), which a browser launches.
 *   Any app on a device may claim a scheme, which is why PKCE is required of every client and
 *   the consent page names the scheme. Schemes a browser acts on itself (`javascript:`, `data:`,
 *   `file:`, `blob:`, `about:`, …) and the web's own (`ftp:`, `ws:`, `wss:`) are refused.
 *
 * A URI must be written as the URL standard serialises it (lowercase scheme and host, no default
 * port, no dot segments, no characters left unencoded), except that a bare origin may leave out
 * its `/`. What is registered is then what a browser goes to, and the exact comparison below
 * cannot be defeated by a spelling one parser reads differently from another.
 */
export type RedirectKind = 'https' | 'loopback' | 'private-use';

export const REDIRECT_URI_MAX_LENGTH = 2048;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const SCHEME = /^[a-z][a-z0-9+.-]*:$/;
/** A DNS name (as the URL parser leaves it: lowercase, IDNs in punycode) or an IP literal. */
const HOST_NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$|^\[[0-9a-f:.]+\]$/;
/** Schemes that are not an app's to receive a code: the browser runs, shows or fetches them itself. */
const REFUSED_SCHEMES = new Set([
  'javascript:', 'vbscript:', 'data:', 'file:', 'blob:', 'about:', 'filesystem:', 'view-source:', 'ftp:', 'ws:', 'wss:', 'mailto:', 'tel:', 'sms:', 'urn:',
]);

/** Plain schemes of MCP clients people connect, which register them rather than a reverse-domain one. */
const AGENT_SCHEMES = new Set(['cursor:', 'vscode:', 'vscode-insiders:', 'windsurf:', 'claude:', 'zed:']);

type RedirectOutcome = Outcome<{ uri: string; kind: RedirectKind }, 'invalid_redirect_uri'>;

function isSerialised(text: string, url: URL): boolean {
  if (text === url.href) return true;
  // `https://app.example` serialises as `https://app.example/`; the two are one resource.
  return url.pathname === '/' && url.origin !== 'null' && text === url.origin + url.href.slice(url.origin.length + 1);
}

function kindOf(text: string, url: URL): RedirectOutcome {
  if (url.protocol === 'https:') {
    // The URL standard lets `*` and other marks into a host; no browser reaches one, and `*` reads as a wildcard nothing here honours.
    return HOST_NAME.test(url.hostname)
      ? { ok: true, uri: text, kind: 'https' }
      : refuse('invalid_redirect_uri', 'redirect_uri must name a host: letters, digits, hyphens and dots, or an IP address; wildcards are not supported');
  }
  if (url.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname)
      ? { ok: true, uri: text, kind: 'loopback' }
      : refuse('invalid_redirect_uri', 'redirect_uri may use http only on a loopback host (127.0.0.1, [::1] or localhost); use https');
  }
  if (!SCHEME.test(url.protocol) || REFUSED_SCHEMES.has(url.protocol) || !(url.protocol.includes('.') || AGENT_SCHEMES.has(url.protocol))) {
    return refuse('invalid_redirect_uri', 'redirect_uri must use https, http on a loopback host, or an app\'s own scheme in reverse-domain form (com.example.app:/callback)');
  }
  // Either a path (`com.example.app:/callback`) or an authority and a path (`cursor://host/path`).
  const withAuthority = text.startsWith(`${url.protocol}//`);
  if (withAuthority ? url.host === '' : !text.startsWith(`${url.protocol}/`)) {
    return refuse('invalid_redirect_uri', 'an app\'s redirect_uri is its scheme and a path (com.example.app:/callback) or an authority and a path (cursor://app/callback)');
  }
  return { ok: true, uri: text, kind: 'private-use' };
}

/** At registration (RFC 7591): the URI as given, and what kind it is. */
export function checkRedirectUri(text: string): RedirectOutcome {
  if (text.length > REDIRECT_URI_MAX_LENGTH) return refuse('invalid_redirect_uri', `redirect_uri must be at most ${REDIRECT_URI_MAX_LENGTH} characters`);
  const url = URL.parse(text);
  if (url === null) return refuse('invalid_redirect_uri', 'redirect_uri must be an absolute URI');
  // `#` alone leaves `url.hash` empty, so the text is asked.
  if (text.includes('#')) return refuse('invalid_redirect_uri', 'redirect_uri must not have a fragment');
  if (url.username !== '' || url.password !== '') return refuse('invalid_redirect_uri', 'redirect_uri must not have user information');
  if (!isSerialised(text, url)) {
    return refuse('invalid_redirect_uri', 'redirect_uri must be written in normalised form: lowercase scheme and host, no default port, no dot segments, reserved characters percent-encoded');
  }
  return kindOf(text, url);
}

const LOOPBACK_PARTS = /^(http:\/\/(?:127\.0\.0\.1|\[::1\]|localhost))(?::(\d+))?([/?].*)?$/s;

/** A loopback URI without its port, or null when it is no loopback URI a client may be sent to. */
function withoutLoopbackPort(text: string): string | null {
  const checked = checkRedirectUri(text);
  if (!checked.ok || checked.kind !== 'loopback') return null;
  const parts = LOOPBACK_PARTS.exec(text);
  if (parts === null || parts[2] === '0') return null;
  return `${parts[1]}${parts[3] ?? ''}`;
}

/**
 * Exact string comparison, except for loopback: a native app listens on whatever port the
 * system gives it that time, so the port may differ (RFC 8252 section 7.3) while the scheme,
 * host, path and query match character for character.
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (requested === registered) return true;
  const registeredRest = withoutLoopbackPort(registered);
  return registeredRest !== null && registeredRest === withoutLoopbackPort(requested);
}

/**
 * At the authorization endpoint: the URI to send the answer to. A refusal here must be shown to
 * the user, never redirected, since the URI is the thing not trusted.
 */
export function chooseRedirectUri(registered: readonly string[], requested: string | undefined): Outcome<{ uri: string }, 'invalid_request'> {
  if (requested === undefined || requested === '') {
    // OAuth 2.1 lets a client with one URI leave it out; a loopback one needs its port said.
    const only = registered.length === 1 ? registered[0] : undefined;
    if (only !== undefined && withoutLoopbackPort(only) === null) return { ok: true, uri: only };
    return refuse('invalid_request', 'redirect_uri is required for this client');
  }
  if (registered.some((uri) => redirectUriMatches(uri, requested))) return { ok: true, uri: requested };
  return refuse('invalid_request', 'redirect_uri is not one this client registered');
}
