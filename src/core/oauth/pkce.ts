import { hash, timingSafeEqual } from 'node:crypto';
import { refuse, type Outcome } from './outcome.js';

/**
 * PKCE (RFC 7636) with S256 only. `plain` sends the verifier itself as the challenge, so anyone
 * who sees the authorization request can redeem the code; OAuth 2.1 lets a server refuse it, and
 * every client that speaks PKCE can do S256.
 */
export const CHALLENGE_METHOD = 'S256';

const VERIFIER_FORM = /^[A-Za-z0-9._~-]{43,128}$/;

/**
 * 32 bytes in base64url without padding: 43 characters, the last carrying 2 bits of nothing, which
 * must be zero. Another last character would decode to the same bytes yet never equal the
 * challenge computed from a verifier, so it is refused when the request is made, not when the
 * code is redeemed.
 */
const CHALLENGE_FORM = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export const isCodeVerifier = (text: string): boolean => VERIFIER_FORM.test(text);
export const isCodeChallenge = (text: string): boolean => CHALLENGE_FORM.test(text);

/** BASE64URL(SHA256(ASCII(verifier))); a verifier of the right form is ASCII, so UTF-8 is the same bytes. */
export const challengeOf = (verifier: string): string => hash('sha256', verifier, 'base64url');

/** Constant time in the challenge's content: the comparison never stops at the first difference. */
export function verifies(verifier: string, challenge: string): boolean {
  if (!isCodeVerifier(verifier) || !isCodeChallenge(challenge)) return false;
  return timingSafeEqual(Buffer.from(challengeOf(verifier), 'ascii'), Buffer.from(challenge, 'ascii'));
}

/** At the authorization endpoint: PKCE is required for every client, and only as S256. */
export function checkChallenge(challenge: string | undefined, method: string | undefined): Outcome<{ challenge: string }, 'invalid_request'> {
  if (challenge === undefined || challenge === '') return refuse('invalid_request', 'code_challenge is required (PKCE, S256)');
  // A missing method means `plain` (RFC 7636 section 4.3), so it is refused like `plain`.
  if (method === undefined || method === '') return refuse('invalid_request', 'code_challenge_method is required and must be S256');
  if (method !== CHALLENGE_METHOD) return refuse('invalid_request', 'code_challenge_method must be S256; plain and other methods are not supported');
  if (!isCodeChallenge(challenge)) return refuse('invalid_request', 'code_challenge must be 43 characters of base64url without padding (a SHA-256 digest)');
  return { ok: true, challenge };
}

/** At the token endpoint, against the challenge stored with the code. */
export function checkVerifier(verifier: string | undefined, challenge: string): Outcome<object, 'invalid_request' | 'invalid_grant'> {
  if (verifier === undefined || verifier === '') return refuse('invalid_request', 'code_verifier is required');
  if (!isCodeVerifier(verifier)) return refuse('invalid_request', "code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'");
  if (!verifies(verifier, challenge)) return refuse('invalid_grant', 'code_verifier does not match the code_challenge');
  return { ok: true };
}
