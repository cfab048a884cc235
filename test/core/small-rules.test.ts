/** The small modules of src/core, each at its edges: errors, durations, display text, base62 and token words, client keys. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base62Width, BASE62_DIGITS, bytesToBigInt, decodeBase62Number, encodeBase62, encodeBase62Number } from '../../src/core/base62.js';
import { crc32Ascii } from '../../src/core/crc32.js';
import { displayTextProblem } from '../../src/core/display-text.js';
import { parseDuration } from '../../src/core/duration.js';
import { ApiError, ERROR_STATUS, forbidden, invalidRequest, notFound } from '../../src/core/errors.js';
import { clientKeyOf, compileAllowlist, intersectAllowlists, normaliseAllowlist } from '../../src/core/ip-allowlist.js';
import { BODY_LENGTH, CHECKSUM_LENGTH, hashSecret, OPERATOR_WORD, recognise, tokenTypeOfWord, TYPE_WORD, VISIBLE_BODY_CHARS } from '../../src/core/token-format.js';

describe('errors', () => {
  it('map each code to its one status', () => {
    expect(ERROR_STATUS).toEqual({
      invalid_request: 400, unauthorized: 401, token_revoked: 401, token_expired: 401, token_paused: 401, ip_not_allowed: 403, insufficient_scope: 403,
      plan_restricted: 403, reauth_required: 403, forbidden: 403, not_found: 404, conflict: 409, last_domain_token: 409, rate_limited: 429, internal_error: 500,
    });
    expect(new ApiError('rate_limited', 'slow down').status).toBe(429);
  });

  it('carry their code, message, details and name', () => {
    const error = new ApiError('conflict', 'no', { a: 1 });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.message, error.details]).toEqual(['ApiError', 'conflict', 'no', { a: 1 }]);
    expect(new ApiError('conflict', 'no').details).toBeUndefined();
    expect(invalidRequest('name', 'too long', { max: 3 })).toMatchObject({ code: 'invalid_request', message: 'too long', details: { field: 'name', max: 3 } });
    expect(invalidRequest('name', 'too long').details).toEqual({ field: 'name' });
    expect(notFound('domain')).toMatchObject({ code: 'not_found', message: 'domain not found', details: undefined });
    expect(forbidden('not yours', { field: 'x' })).toMatchObject({ code: 'forbidden', message: 'not yours', details: { field: 'x' } });
    expect(forbidden('not yours').details).toBeUndefined();
  });
});

describe('durations', () => {
  it('read a count of up to six digits and one unit as seconds', () => {
    expect(['45s', '30m', '12h', '90d', '2w', '0s', '999999s'].map(parseDuration)).toEqual([45, 1800, 43_200, 7_776_000, 1_209_600, 0, 999_999]);
  });

  it('read nothing else', () => {
    for (const text of ['', 's', '1', '1y', '1S', ' 1s', '1s ', '1.5h', '-1s', '1000000s', '1d1h', 'x1s', '1sx']) expect(parseDuration(text), text).toBeNull();
  });
});

describe('display text', () => {
  it('refuses bidirectional controls anywhere', () => {
    for (const control of ['\u061c', '\u200e', '\u200f', '\u202a', '\u202c', '\u202e', '\u2066', '\u2069']) {
      expect(displayTextProblem(`ci${control}deploy`, 'text'), control.codePointAt(0)!.toString(16)).toBe(
        'must not hold bidirectional control characters (U+202A–U+202E, U+2066–U+2069, direction marks)',
      );
    }
    for (const near of ['\u061b', '\u200d', '\u2029', '\u202f', '\u2065', '\u206a']) expect(displayTextProblem(`ci${near}deploy`, 'text'), near.codePointAt(0)!.toString(16)).toBeNull();
  });

  it('asks a name to show something, and a text nothing', () => {
    expect(displayTextProblem('deploy', 'name')).toBeNull();
    expect(displayTextProblem(' \u200b\u3164 ', 'name')).toBe('must hold at least one visible character');
    expect(displayTextProblem('\u0301', 'name')).toBe('must hold at least one visible character');
    expect(displayTextProblem(' \u200b ', 'text')).toBeNull();
    expect(displayTextProblem('', 'text')).toBeNull();
    for (const visible of ['a', '7', '.', '€', 'é', '字', '😀']) expect(displayTextProblem(` ${visible} `, 'name'), visible).toBeNull();
  });
});

describe('base62', () => {
  it('writes fixed-width numbers in 0-9A-Za-z, and refuses what does not fit', () => {
    expect(encodeBase62(0n, 3)).toBe('000');
    expect(encodeBase62(61n, 2)).toBe('0z');
    expect(encodeBase62(62n, 2)).toBe('10');
    expect(encodeBase62(3843n, 2)).toBe('zz');
    expect(() => encodeBase62(3844n, 2)).toThrow(new RangeError('value does not fit in 2 base62 digits'));
    expect(encodeBase62Number(0, 3)).toBe('000');
    expect(encodeBase62Number(61, 2)).toBe('0z');
    expect(encodeBase62Number(62, 2)).toBe('10');
    expect(encodeBase62Number(3843, 2)).toBe('zz');
    expect(() => encodeBase62Number(3844, 2)).toThrow(new RangeError('value does not fit in 2 base62 digits'));
  });

  it('reads back what it writes, over any slice, and -1 for any other character', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 62 ** 6 - 1 }), (value) => {
        const text = `__${encodeBase62Number(value, 6)}__`;
        expect(decodeBase62Number(text, 2, 8)).toBe(value);
        expect(encodeBase62(BigInt(value), 6)).toBe(text.slice(2, 8));
      }),
    );
    expect(decodeBase62Number('zz', 0, 2)).toBe(3843);
    expect(decodeBase62Number('', 0, 0)).toBe(0);
    for (const bad of ['-', '_', ' ', 'é', '\u0100', '{']) expect(decodeBase62Number(`1${bad}`, 0, 2), bad).toBe(-1);
    expect(BASE62_DIGITS['0'.charCodeAt(0)]).toBe(0);
    expect(BASE62_DIGITS['Z'.charCodeAt(0)]).toBe(35);
    expect(BASE62_DIGITS['z'.charCodeAt(0)]).toBe(61);
    expect(BASE62_DIGITS['/'.charCodeAt(0)]).toBe(-1);
  });

  it('reads bytes big-endian, and needs 43 digits for a 32-byte body', () => {
    expect(bytesToBigInt(new Uint8Array([1, 0]))).toBe(256n);
    expect(bytesToBigInt(new Uint8Array([0xff, 0x01, 0x02]))).toBe(0xff0102n);
    expect(bytesToBigInt(new Uint8Array([]))).toBe(0n);
    expect(base62Width(32)).toBe(43);
    expect(base62Width(1)).toBe(2);
    expect([BODY_LENGTH, CHECKSUM_LENGTH, VISIBLE_BODY_CHARS]).toEqual([43, 6, 8]);
  });
});

describe('token words and checksums', () => {
  it('names each type by its word, and nothing else', () => {
    expect(TYPE_WORD).toEqual({ api: 'live', mcp: 'mcp', message: 'msg' });
    expect(OPERATOR_WORD).toBe('admin');
    expect(['live', 'mcp', 'msg', 'admin', 'api', ''].map(tokenTypeOfWord)).toEqual(['api', 'mcp', 'message', null, null, null]);
  });

  it('checks the allowed characters from where it is told, in the same pass', () => {
    expect(crc32Ascii('hello')).toBe(907_060_870);
    expect(crc32Ascii('')).toBe(0);
    expect(crc32Ascii('hello world', 5)).toBe(crc32Ascii('hello'));
    expect(crc32Ascii('ab_-', 4, 2, BASE62_DIGITS)).toBe(-1);
    expect(crc32Ascii('ab_-', 4, 4, BASE62_DIGITS)).toBe(crc32Ascii('ab_-'));
    expect(crc32Ascii('ab_Z', 4, 3, BASE62_DIGITS)).toBe(crc32Ascii('ab_Z'));
    expect(crc32Ascii('\u007f')).not.toBe(-1);
    expect(crc32Ascii('\u0080')).toBe(-1);
  });

  it('recognises a type word of up to eight characters after the prefix, and refuses a body with a stray character', () => {
    const body = 'A'.repeat(BODY_LENGTH);
    const tokenOf = (word: string, tail = body) => `lk_${word}_${tail}${encodeBase62Number(crc32Ascii(`lk_${word}_${tail}`), CHECKSUM_LENGTH)}`;
    expect(recognise('lk', tokenOf('live'))).toBe('live');
    expect(recognise('lk', tokenOf('abcdefgh'))).toBe('abcdefgh');
    expect(recognise('lk', tokenOf('abcdefghi'))).toBeNull();
    expect(recognise('lk', tokenOf(''))).toBeNull();
    expect(recognise('lk', tokenOf('li_ve'))).toBeNull();
    expect(recognise('lk', tokenOf('live').replace('lk_', 'lk-'))).toBeNull();
    expect(recognise('lk', tokenOf('live', `${'A'.repeat(BODY_LENGTH - 1)}-`))).toBeNull();
    expect(hashSecret('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('allowlists and client keys', () => {
  it('intersect two allowlists range by range, keeping the smaller of two that nest', () => {
    expect(intersectAllowlists(['10.0.0.0/8', '192.0.2.1'], ['10.1.0.0/16', '192.0.2.0/24', '2001:db8::/32'])).toEqual(['10.1.0.0/16', '192.0.2.1']);
    expect(intersectAllowlists(['10.1.0.0/16'], ['10.0.0.0/8'])).toEqual(['10.1.0.0/16']);
    expect(intersectAllowlists(['10.0.0.0/8'], ['11.0.0.0/8'])).toEqual([]);
    expect(intersectAllowlists(['2001:db8::/32'], ['2001:db8:1::/48', '2001:db8:1::/48'])).toEqual(['2001:db8:1::/48']);
  });

  it('cover only what lies inside, of the same family, at least as narrow', () => {
    const list = compileAllowlist(['10.0.0.0/8', '2001:db8::/32']);
    expect(list.covers(['10.0.0.0/8', '10.9.0.0/16', '10.1.2.3', '2001:db8:5::/48'])).toBe(true);
    expect(list.covers(['10.0.0.0/7'])).toBe(false);
    expect(list.covers(['11.0.0.1'])).toBe(false);
    expect(list.covers(['::ffff:10.0.0.1'])).toBe(true);
    expect(list.covers(['not an address'])).toBe(false);
    expect(list.covers([])).toBe(true);
    expect(list.allows('not an address')).toBe(false);
    expect(list.allows('2001:db8::1')).toBe(true);
    expect(list.entries).toEqual(['10.0.0.0/8', '2001:db8::/32']);
  });

  it('read IPv4-mapped ranges as IPv4 ones, and only canonical forms', () => {
    expect(normaliseAllowlist(['::ffff:10.0.0.0/104'])).toEqual(['10.0.0.0/8']);
    expect(normaliseAllowlist(['::ffff:10.0.0.1/128'])).toEqual(['10.0.0.1']);
    expect(normaliseAllowlist(['10.0.0.1/32', '10.0.0.1'])).toEqual(['10.0.0.1']);
    expect(normaliseAllowlist(['2001:db8::1/128'])).toEqual(['2001:db8::1']);
    expect(normaliseAllowlist(['::/0'])).toEqual(['::/0']);
    expect(() => normaliseAllowlist(['10.0.0.1/1234'])).toThrow();
    expect(() => normaliseAllowlist(['2001:db8::/129'])).toThrow();
    let error: unknown;
    try {
      normaliseAllowlist(['bad'], 'allow');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({ code: 'invalid_request', message: "'bad' is not an IP address or CIDR range", details: { field: 'allow', value: 'bad' } });
  });

  it('count a client by its address however written, an IPv6 one by its /64', () => {
    expect(clientKeyOf('198.51.100.7')).toBe('198.51.100.7');
    expect(clientKeyOf('198.51.100.7:4711')).toBe('198.51.100.7');
    expect(clientKeyOf('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientKeyOf('::FFFF:c633:6407')).toBe('198.51.100.7');
    expect(clientKeyOf('[::ffff:198.51.100.7]:4711')).toBe('198.51.100.7');
    expect(clientKeyOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('[2001:db8:1:2::9]:443')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:DB8:0:a::1')).toBe('2001:db8:0:a::/64');
    expect(clientKeyOf('not an address')).toBe('not an address');
    expect(clientKeyOf('[bad]:1')).toBe('[bad]:1');
    expect(clientKeyOf('1.2.3.4:x')).toBe('1.2.3.4:x');
  });
});
