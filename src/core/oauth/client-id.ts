import { isIP } from 'node:net';
import { refuse, type Outcome } from './outcome.js';

/**
 * A client_id that is the URL of a Client ID Metadata Document: Latchkey will fetch it, and the
 * client is whoever controls it, so it must name a web origin by its domain and a document on it.
 * It is also an identifier compared as a string, so it must be written in the one form the URL
 * standard gives it: otherwise two spellings of one document would be two clients.
 */
export const CLIENT_ID_MAX_LENGTH = 2048;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** Letters, digits and hyphens, at least two labels: what DNS can publish for the public. */
function isDomainName(hostname: string): boolean {
  const labels = hostname.split('.');
  return hostname.length <= 253 && labels.length >= 2 && labels.every((label) => LABEL.test(label));
}

/** The path as written, before the parser removes dot segments from it. */
function writtenPath(text: string): string {
  const afterAuthority = text.slice('https://'.length).replace(/^[^/?]*/, '');
  return afterAuthority.split('?', 1)[0] ?? '';
}

export function checkClientIdUrl(text: string): Outcome<{ clientId: string }, 'invalid_client'> {
  if (text.length > CLIENT_ID_MAX_LENGTH) return refuse('invalid_client', `a client_id URL must be at most ${CLIENT_ID_MAX_LENGTH} characters`);
  if (text.includes('#')) return refuse('invalid_client', 'a client_id URL must not have a fragment');
  const url = URL.parse(text);
  if (url === null) return refuse('invalid_client', 'client_id must be an absolute https URL');
  if (url.protocol !== 'https:') return refuse('invalid_client', 'a client_id URL must use https');
  if (url.username !== '' || url.password !== '') return refuse('invalid_client', 'a client_id URL must not have user information');
  // The parser turns `0x7f.1` and `2130706433` into 127.0.0.1, so its reading of the host is asked.
  if (isIP(url.hostname) !== 0 || url.hostname.startsWith('[')) return refuse('invalid_client', 'a client_id URL must name its host by a domain name, not an IP address');
  if (!isDomainName(url.hostname)) return refuse('invalid_client', 'a client_id URL must name its host by a domain name of at least two labels (letters, digits, hyphens)');
  if (text.startsWith('https://') && writtenPath(text).split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    return refuse('invalid_client', "a client_id URL must not have '.' or '..' path segments");
  }
  if (url.pathname === '/') return refuse('invalid_client', 'a client_id URL must have a path naming the metadata document');
  if (text !== url.href) {
    return refuse('invalid_client', 'a client_id URL must be written in normalised form: lowercase scheme and host, no default port, reserved characters percent-encoded');
  }
  return { ok: true, clientId: text };
}
