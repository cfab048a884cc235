import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_LENGTH, CHECKSUM_LENGTH, checksumOf, hasTokenShape, mintSecret, recognise } from '../../src/core/token-format.js';

describe('token format', () => {
  it('is <prefix>_<word>_<43 base62 body><6 base62 CRC32>', () => {
    const { secret, visiblePrefix, last4 } = mintSecret('lk', 'live');
    expect(secret).toMatch(new RegExp(`^lk_live_[0-9A-Za-z]{${BODY_LENGTH}}[0-9A-Za-z]{${CHECKSUM_LENGTH}}$`));
    expect(secret.slice(-CHECKSUM_LENGTH)).toBe(checksumOf(secret.slice(0, -CHECKSUM_LENGTH)));
    expect(visiblePrefix).toBe(secret.slice(0, 16));
    expect(last4).toBe(secret.slice(-4));
    expect(recognise('lk', secret)).toBe('live');
    expect(recognise('acme', secret)).toBeNull();
  });

  it('never repeats a body', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => mintSecret('lk', 'live').secret));
    expect(seen.size).toBe(2000);
  });

  it('detects any single-character change offline', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...alphabet), (position, replacement) => {
        const { secret } = mintSecret('lk', 'live');
        const at = 8 + (position % (secret.length - 8));
        fc.pre(secret[at] !== replacement);
        const changed = secret.slice(0, at) + replacement + secret.slice(at + 1);
        return recognise('lk', changed) === null;
      }),
      { numRuns: 2000 },
    );
  });

  it('tells the shape alone (what a cache hit needs checked) from the checksum', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ minLength: BODY_LENGTH + CHECKSUM_LENGTH, maxLength: BODY_LENGTH + CHECKSUM_LENGTH })), (text) => {
        expect(hasTokenShape('lk', `lk_live_${text}`)).toBe(text.length === BODY_LENGTH + CHECKSUM_LENGTH);
      }),
    );
    // Every token minted has the shape; a broken checksum keeps it, and only `recognise` refuses it.
    const { secret } = mintSecret('lk', 'live');
    const broken = `${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`;
    expect([hasTokenShape('lk', secret), hasTokenShape('lk', broken), recognise('lk', broken)]).toEqual([true, true, null]);
    expect(hasTokenShape('xx', secret)).toBe(false);
  });

  it('recognises nothing in arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (text) => recognise('lk', `lk_live_${text}`) === null || text.length === BODY_LENGTH + CHECKSUM_LENGTH));
  });
});

describe('checksum', () => {
  it('is the CRC-32 zlib computes', async () => {
    const { crc32 } = await import('node:zlib');
    const { crc32Ascii } = await import('../../src/core/crc32.js');
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 100 }), (text) => crc32Ascii(text) === crc32(text)));
  });

  it('refuses non-ASCII text rather than guessing its encoding', async () => {
    const { crc32Ascii } = await import('../../src/core/crc32.js');
    expect(crc32Ascii('lk_livé_')).toBe(-1);
  });
});
