import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { challengeOf, checkChallenge, checkVerifier, isCodeChallenge, isCodeVerifier, verifies } from '../../../src/core/oauth/pkce.js';
import { describesSafely } from '../../helpers/error-description.js';

// RFC 7636, Appendix B.
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
const verifier = fc.string({ unit: fc.constantFrom(...UNRESERVED), minLength: 43, maxLength: 128 });

describe('PKCE', () => {
  it('computes the challenge of RFC 7636 Appendix B and accepts that pair', () => {
    expect(challengeOf(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
    expect(verifies(RFC_VERIFIER, RFC_CHALLENGE)).toBe(true);
    expect(checkVerifier(RFC_VERIFIER, RFC_CHALLENGE)).toEqual({ ok: true });
    expect(checkChallenge(RFC_CHALLENGE, 'S256')).toEqual({ ok: true, challenge: RFC_CHALLENGE });
  });

  it('reads a verifier as 43 to 128 unreserved characters', () => {
    expect([42, 43, 128, 129].map((length) => isCodeVerifier('a'.repeat(length)))).toEqual([false, true, true, false]);
    for (const bad of ['+', '/', '=', ' ', '%', 'é', '\n']) expect(isCodeVerifier(`${RFC_VERIFIER}${bad}`), bad).toBe(false);
    fc.assert(fc.property(verifier, (text) => isCodeVerifier(text)));
  });

  it('reads a challenge as one SHA-256 digest in base64url without padding', () => {
    expect(isCodeChallenge(RFC_CHALLENGE)).toBe(true);
    for (const bad of [`${RFC_CHALLENGE}=`, RFC_CHALLENGE.slice(1), `${RFC_CHALLENGE}A`, `${RFC_CHALLENGE.slice(0, 42)}+`, `${RFC_CHALLENGE.slice(0, 42)}/`]) {
      expect(isCodeChallenge(bad), bad).toBe(false);
    }
    // `h` decodes to the same 32 bytes as `g` (the last 2 bits are padding), but is not how any digest is written.
    expect(isCodeChallenge(`${RFC_CHALLENGE.slice(0, 42)}h`)).toBe(false);
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => isCodeChallenge(Buffer.from(bytes).toString('base64url'))));
  });

  it('agrees with an independent SHA-256 of the ASCII verifier', () => {
    fc.assert(fc.property(verifier, (text) => challengeOf(text) === createHash('sha256').update(Buffer.from(text, 'ascii')).digest('base64url')));
  });

  it('accepts every verifier with its own challenge and refuses it with any other', () => {
    fc.assert(
      fc.property(verifier, verifier, (mine, theirs) => {
        expect(verifies(mine, challengeOf(mine))).toBe(true);
        expect(verifies(mine, challengeOf(theirs))).toBe(mine === theirs);
      }),
    );
  });

  it('refuses a changed character of either side', () => {
    fc.assert(
      fc.property(verifier, fc.nat(), fc.constantFrom(...UNRESERVED), (text, position, replacement) => {
        const at = position % text.length;
        fc.pre(text[at] !== replacement);
        const changed = text.slice(0, at) + replacement + text.slice(at + 1);
        expect(verifies(changed, challengeOf(text))).toBe(false);
      }),
    );
  });

  it('refuses a verifier of the wrong form even when its digest matches', () => {
    for (const text of ['short', 'a'.repeat(129), `${RFC_VERIFIER} `]) expect(verifies(text, challengeOf(text)), text).toBe(false);
    expect(verifies(RFC_VERIFIER, `${RFC_CHALLENGE}=`)).toBe(false);
    expect(verifies(RFC_VERIFIER, '')).toBe(false);
  });

  it('refuses every method but S256, a missing one included (it would mean plain)', () => {
    for (const method of [undefined, '', 'plain', 's256', 'S256 ', 'SHA256', 'S512']) {
      expect(checkChallenge(RFC_CHALLENGE, method), String(method)).toMatchObject({ ok: false, error: 'invalid_request' });
    }
    expect(checkChallenge(RFC_CHALLENGE, 'plain')).toMatchObject({ description: expect.stringContaining('plain') });
    expect(checkChallenge(RFC_VERIFIER, 'plain')).toMatchObject({ ok: false });
  });

  it('refuses a missing or malformed challenge', () => {
    expect(checkChallenge(undefined, 'S256')).toMatchObject({ ok: false, error: 'invalid_request', description: expect.stringContaining('required') });
    expect(checkChallenge('', 'S256')).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(checkChallenge(`${RFC_CHALLENGE}=`, 'S256')).toMatchObject({ ok: false, error: 'invalid_request' });
  });

  it('tells a missing or malformed verifier (invalid_request) from a wrong one (invalid_grant)', () => {
    expect(checkVerifier(undefined, RFC_CHALLENGE)).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(checkVerifier('', RFC_CHALLENGE)).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(checkVerifier('too-short', RFC_CHALLENGE)).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(checkVerifier('a'.repeat(43), RFC_CHALLENGE)).toMatchObject({ ok: false, error: 'invalid_grant' });
  });

  it('never puts the verifier or the challenge in a description', () => {
    fc.assert(
      fc.property(fc.oneof(verifier, fc.string({ maxLength: 140 })), verifier, (sent, stored) => {
        const outcomes = [checkVerifier(sent, challengeOf(stored)), checkChallenge(sent, 'plain'), checkChallenge(sent, 'S256')];
        for (const outcome of outcomes) {
          if (outcome.ok) continue;
          describesSafely(outcome.description);
          if (sent.length >= 8) expect(outcome.description).not.toContain(sent);
        }
      }),
    );
  });
});
