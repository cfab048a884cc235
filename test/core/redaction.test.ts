import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIgnorable } from '../../src/core/disguise.js';
import { REDACTED, redactDeep, secretRedactor } from '../../src/core/redaction.js';
import { BODY_LENGTH, CHECKSUM_LENGTH, mintSecret, VISIBLE_BODY_CHARS } from '../../src/core/token-format.js';

const TAIL = BODY_LENGTH + CHECKSUM_LENGTH;

const redact = secretRedactor('lk', ['configured-operator-token-0123456789abcdef']);

describe('the redactor', () => {
  it('replaces a token of this deployment by its visible prefix, wherever it sits in the text', () => {
    const { secret, visiblePrefix } = mintSecret('lk', 'live');
    expect(redact(secret)).toBe(`${visiblePrefix}${REDACTED}`);
    expect(redact(`/v1/tokens/${secret}/activity`)).toBe(`/v1/tokens/${visiblePrefix}${REDACTED}/activity`);
    expect(redact(`unknown domain '${secret}'`)).toBe(`unknown domain '${visiblePrefix}${REDACTED}'`);
    expect(redact(`${secret}${secret}`)).toBe(`${visiblePrefix}${REDACTED}`.repeat(2));
  });

  it('knows every type word and the operator’s, and a configured operator token in any form', () => {
    for (const word of ['live', 'mcp', 'msg', 'admin']) {
      const { secret, visiblePrefix } = mintSecret('lk', word);
      expect(redact(`x ${secret} y`)).toBe(`x ${visiblePrefix}${REDACTED} y`);
    }
    expect(redact('Bearer configured-operator-token-0123456789abcdef')).toBe('Bearer [redacted]');
  });

  it('finds a percent-encoded token, beside a stray % and encoded twice', () => {
    const { secret, visiblePrefix } = mintSecret('lk', 'live');
    const once = secret.replace(/_/g, '%5F');
    expect(redact(`/v1/tokens/${once}`)).toBe(`/v1/tokens/${visiblePrefix}${REDACTED}`);
    expect(redact(`see 100% ${once}`)).toBe(`see 100% ${visiblePrefix}${REDACTED}`);
    expect(redact(`/v1/x%zz${once}`)).toBe(`/v1/x%zz${visiblePrefix}${REDACTED}`);
    expect(redact(`/v1/tokens/${secret.replace(/_/g, '%255F')}`)).toBe(`/v1/tokens/${visiblePrefix}${REDACTED}`);
    expect(redact(`/v1/tokens/${encodeURIComponent(encodeURIComponent(once))}`)).toBe(`/v1/tokens/${visiblePrefix}${REDACTED}`);
  });

  it('finds a token wrapped across lines, spaced, or carrying characters that show as nothing', () => {
    const { secret, visiblePrefix } = mintSecret('lk', 'live');
    const body = secret.slice('lk_live_'.length);
    for (const inside of ['\n', ' ', '\r\n  ', '\u200b', '\u00ad', '\u2060', '\ufeff']) {
      const pasted = `lk_live_${body.slice(0, 20)}${inside}${body.slice(20, 35)}${inside}${body.slice(35)}`;
      expect(redact(`key: ${pasted} end`)).toBe(`key: ${visiblePrefix}${REDACTED} end`);
    }
  });

  it('leaves alone what is not a token of this deployment: a broken checksum, another prefix, ordinary text', () => {
    const { secret } = mintSecret('lk', 'live');
    const broken = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const text of [broken, mintSecret('acme', 'live').secret, 'lk_live_short', 'plain text, 100% ordinary', '']) expect(redact(text)).toBe(text);
  });

  it('never lets a token through, whatever surrounds it', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom('live', 'mcp', 'msg'), (before, after, word) => {
        const { secret, visiblePrefix } = mintSecret('lk', word);
        const out = redact(`${before}${secret}${after}`);
        return !out.includes(secret) && out.includes(`${visiblePrefix}${REDACTED}`);
      }),
    );
  });

  it('redacts every string of a value, keys included, and keeps its shape', () => {
    const { secret, visiblePrefix } = mintSecret('lk', 'live');
    expect(redactDeep({ [secret]: [secret, 1, null, { reason: `was ${secret}` }] }, redact)).toEqual({
      [`${visiblePrefix}${REDACTED}`]: [`${visiblePrefix}${REDACTED}`, 1, null, { reason: `was ${visiblePrefix}${REDACTED}` }],
    });
  });
});

/** Characters that show as nothing, and the ways they reach the redactor in a real text. */
const IGNORABLES = ['\u200b', '\u00ad', '\u2060', '\ufeff', '\u200c', '\u200d', '\u200e', '\u202e', '\u2066', '\u180e', '\u034f', '\ufe0f', '\u3164', '\u2800', '\u0000', '\u001f', '\u0085', '\u00a0', '\u3000', '\u2028', '\udb40\udc20', '\t', '\n', '\r', ' '];
const PERCENT_IGNORABLES = ['%E2%80%8B', '%C2%AD', '%E2%81%A0', '%EF%BB%BF', '%e2%80%8b', '%25E2%2580%258B', '%2525C2%2525AD', '%u200B', '%uFEFF', '%AD', '%0A', '%20', '%F3%A0%80%A0'];
const JSON_ESCAPED = ['\\n', '\\r\\n', '\\t', '\\u200b', '\\u00AD', '\\u000b', '\\\\n', '\\udb40\\udc20'];
/** U+200B's UTF-8 bytes read as Latin-1, as Node reads a header such as the user agent. */
const LATIN1_UTF8 = ['\u00e2\u0080\u008b', '\u00c2\u00ad'];

/** `secret` with `insert(i)` put before its i-th character, wherever `at` says. */
function inserted(secret: string, at: readonly number[], insert: (i: number) => string): string {
  let out = '';
  for (let i = 0; i <= secret.length; i += 1) out += (at.includes(i) ? insert(i) : '') + (secret[i] ?? '');
  return out;
}

/** Removes every disguise the tests use, so what is left shows whether a secret survived. */
const undisguised = (text: string): string =>
  [...PERCENT_IGNORABLES, ...JSON_ESCAPED, ...LATIN1_UTF8, ...IGNORABLES].reduce((out, disguise) => out.split(disguise).join(''), text);

describe('the redactor, against disguised secrets', () => {
  const minted = (word = 'live') => mintSecret('lk', word);
  const redactedOf = (visiblePrefix: string) => `${visiblePrefix}${REDACTED}`;

  it('reads through UTF-8 percent-escapes of invisible characters, encoded once or twice, and %uXXXX', () => {
    const { secret, visiblePrefix } = minted();
    for (const escape of PERCENT_IGNORABLES) {
      const text = inserted(secret, [10, 20, 40, 56], () => escape);
      expect(redact(`/v1/tokens/${text}/x`), escape).toBe(`/v1/tokens/${redactedOf(visiblePrefix)}/x`);
      const encoded = inserted(secret.replace(/_/g, '%5F'), [12, 30], () => escape);
      expect(redact(`q=${encoded}`), escape).toBe(`q=${redactedOf(visiblePrefix)}`);
    }
  });

  it('reads through invisible characters before the body, inside the prefix and inside the type word', () => {
    for (const word of ['live', 'msg', 'mcp', 'admin']) {
      const { secret, visiblePrefix } = minted(word);
      const headLength = `lk_${word}_`.length;
      for (const at of [1, 2, 3, 4, headLength - 2, headLength - 1, headLength, headLength + 1]) {
        // The last few draw nothing in a browser either, though few lists name them.
        for (const inside of ['\u200b', '\n', '\u00ad', '\u2060', '\ufeff', ' ', '\ufff9', '\ufffb', '\ufffc', '\u0301', '\u{13430}', '\u{16fe4}', '\u{1d159}']) {
          const text = inserted(secret, [at], () => inside);
          expect(redact(`x ${text} y`), `${word} ${at} ${JSON.stringify(inside)}`).toBe(`x ${redactedOf(visiblePrefix)} y`);
        }
      }
      // The example from the report: the word itself broken by a soft hyphen, its prefix by a zero-width space.
      const broken = secret.replace(`lk_${word}_`, `lk_\u200b${word.slice(0, 2)}\u00ad${word.slice(2)}_\u2060`);
      expect(redact(broken)).toBe(redactedOf(visiblePrefix));
    }
  });

  it('reads through any number of invisible characters in a row', () => {
    const { secret, visiblePrefix } = minted();
    for (const count of [17, 40, 1000]) {
      for (const inside of ['\u200b', ' ', '\u00ad\u200d', '\n']) {
        // Inside the body only, where the old reader stopped after 16.
        expect(redact(`[${inserted(secret, [30], () => inside.repeat(count))}]`), `${count} × ${inside}`).toBe(`[${redactedOf(visiblePrefix)}]`);
        expect(redact(`[${inserted(secret, [1, 5, 9, 30, 56], () => inside.repeat(count))}]`), `${count} × ${inside}`).toBe(`[${redactedOf(visiblePrefix)}]`);
      }
    }
    expect(redact(`[${inserted(secret, [8, 30], () => '%E2%80%8B'.repeat(100))}]`)).toBe(`[${redactedOf(visiblePrefix)}]`);
  });

  it('reads through JSON escapes of line breaks and invisible characters, as in a JSON log line', () => {
    const { secret, visiblePrefix } = minted('msg');
    for (const escape of JSON_ESCAPED) {
      const text = inserted(secret, [3, 7, 25, 50], () => escape);
      expect(redact(`"msg":"${text}"`), escape).toBe(`"msg":"${redactedOf(visiblePrefix)}"`);
    }
    // A line as pino writes it: the pasted secret's line breaks become `\n`, and the line stays JSON.
    const pasted = `key:\n${secret.slice(0, 20)}\n${secret.slice(20, 40)}\r\n${secret.slice(40)}\n"quoted"`;
    const line = JSON.stringify({ level: 30, msg: pasted, path: '/a%0A%22b' });
    const out = redact(line);
    expect(JSON.parse(out)).toEqual({ level: 30, msg: `key:\n${redactedOf(visiblePrefix)}\n"quoted"`, path: '/a%0A%22b' });
  });

  it('reads a token whose own characters are escaped: %XX any number of times, and JSON \\u00XX', () => {
    const { secret, visiblePrefix } = minted();
    const percent = [...secret].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join('');
    expect(redact(`a ${percent} b`)).toBe(`a ${redactedOf(visiblePrefix)} b`);
    expect(redact(`a ${secret.replace(/_/g, '%25255F')} b`)).toBe(`a ${redactedOf(visiblePrefix)} b`);
    expect(redact(`a ${secret.replace(/_/g, '\\u005f')} b`)).toBe(`a ${redactedOf(visiblePrefix)} b`);
    expect(redact(`a ${secret.replace(/_/g, '\\\\u005F')} b`)).toBe(`a ${redactedOf(visiblePrefix)} b`);
  });

  it('reads through the UTF-8 bytes of an invisible character read as Latin-1 (a header’s bytes)', () => {
    const { secret, visiblePrefix } = minted();
    for (const bytes of LATIN1_UTF8) expect(redact(`curl/8 ${inserted(secret, [2, 9, 33], () => bytes)}`)).toBe(`curl/8 ${redactedOf(visiblePrefix)}`);
  });

  it('replaces only the secret: the text around it keeps its escapes, so decoding cannot forge a log line', () => {
    const { secret, visiblePrefix } = minted();
    const around = '/x%0A{"level":60,%22msg%22:"forged"}%0A';
    expect(redact(`${around}${secret.replace(/_/g, '%5F')}%20tail`)).toBe(`${around}${redactedOf(visiblePrefix)}%20tail`);
    expect(redact(`${around}\\n${inserted(secret, [4], () => '%E2%80%8B')}\\n`)).toBe(`${around}\\n${redactedOf(visiblePrefix)}\\n`);
  });

  it('finds the configured operator token percent-encoded and JSON-escaped too, and leaves the rest as sent', () => {
    const operatorToken = 'configured-operator-token-0123456789abcdef';
    expect(redact(`a%20b ${operatorToken.replace(/-/g, '%2D')} c`)).toBe('a%20b [redacted] c');
    expect(redact(`"a\\"b ${operatorToken.replace(/-/g, '\\u002d')}"`)).toBe('"a\\"b [redacted]"');
  });

  it('redacts a token’s body after any head its checksum does not belong to: a look-alike letter, a changed case, no prefix', () => {
    const { secret } = minted();
    const body = secret.slice('lk_live_'.length);
    const shown = `${body.slice(0, VISIBLE_BODY_CHARS)}${REDACTED}`;
    for (const head of ['lk_liv\u0435_', 'LK_LIVE_', 'lk_msg_', 'live_', '_', 'lk-live_', '%5F']) {
      expect(redact(`key ${head}${body} end`), head).toBe(`key ${head}${shown} end`);
    }
    // Another deployment’s token has another checksum; so has a body one character off.
    const off = `${body.slice(0, 20)}${body[20] === 'q' ? 'r' : 'q'}${body.slice(21)}`;
    for (const text of [mintSecret('acme', 'live').secret, `_${mintSecret('acme', 'live').secret.slice(-TAIL)}`, `LK_LIVE_${off}`]) expect(redact(text)).toBe(text);
  });

  it('finds the configured operator token through the same disguises, and from an escape that repeats its first character', () => {
    const operatorToken = 'configured-operator-token-0123456789abcdef';
    expect(redact(`x ${inserted(operatorToken, [1, 10, 30], () => '\u200b'.repeat(20))} y`)).toBe('x [redacted] y');
    expect(redact(`x ${inserted(operatorToken, [5, 12], () => '%E2%80%8B')}\n`)).toBe('x [redacted]\n');
    expect(redact(`x %63${operatorToken.replace(/^c/, '%63')} y`)).toBe('x %63[redacted] y');
    expect(redact(`x c${operatorToken.slice(0, 20)} ${operatorToken} y`)).toBe(`x c${operatorToken.slice(0, 20)} [redacted] y`);
  });

  // Under mutation testing (`npm run mutation`) every branch is instrumented and runs several times
  // slower, so a time budget says nothing there; a mutant that reads a text over and over times out.
  it.skipIf(process.env.LATCHKEY_MUTATION === '1')('reads a long text once, whatever it repeats', () => {
    const mega = 1 << 20;
    const texts = [
      `_${'a'.repeat(48)}!`.repeat(mega / 50), `_a${' '.repeat(98)}`.repeat(mega / 100), `_${'\u200b'.repeat(mega)}`, `_${'%E2%80%8B'.repeat(mega / 9)}`,
      `${'\\'.repeat(mega)}x`, `%${'25'.repeat(mega / 2)}`, '_'.repeat(mega), 'c'.repeat(mega), `${'configured-operator-token-0123456789abcde'}X`.repeat(mega / 42),
    ];
    for (const text of texts) {
      const started = performance.now();
      expect(redact(text)).toBe(text);
      expect(performance.now() - started, JSON.stringify(text.slice(0, 12))).toBeLessThan(1500);
    }
  });

  it('counts as invisible every whitespace, control, format, non-spacing mark and default-ignorable code point', () => {
    const expected = /[\s\p{Cc}\p{Cf}\p{Mn}\p{Me}\p{Default_Ignorable_Code_Point}]/u;
    const missing: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (expected.test(String.fromCodePoint(cp)) && !isIgnorable(cp)) missing.push(cp.toString(16));
    }
    expect(missing).toEqual([]);
    for (const visible of ['a', '_', '-', '.', '%', '\\', 'é', 'е', '\u2014']) expect(isIgnorable(visible.codePointAt(0)!), visible).toBe(false);
  });

  const disguise = fc.oneof(
    fc.constantFrom(...IGNORABLES),
    fc.constantFrom(...PERCENT_IGNORABLES),
    fc.constantFrom(...JSON_ESCAPED),
    fc.constantFrom(...LATIN1_UTF8),
    fc.array(fc.constantFrom(...IGNORABLES, ...JSON_ESCAPED, ...PERCENT_IGNORABLES), { minLength: 17, maxLength: 60 }).map((run) => run.join('')),
  );
  /** Surrounding text that is more than letters: escapes, underscores, backslashes, near-prefixes, any code unit. */
  const noise = fc.array(
    fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('_', '%', '%2', '%25', '\\', '\\u', '\\u00', 'lk', 'lk_', 'lk_live_', 'l', '%5F', '%E2', '\u00e2', '\ud83d', 'abcXYZ019'), disguise),
    { maxLength: 6 },
  ).map((parts) => parts.join(''));
  /** Where to insert: biased towards the prefix and the type word (0–9), anywhere up to the end of the longest token. */
  const positions = fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 58 })), { maxLength: 12 });
  const words = fc.constantFrom('live', 'mcp', 'msg', 'admin');

  it('never lets a disguised token’s body through, whatever is inserted where and whatever surrounds it', () => {
    fc.assert(
      fc.property(words, positions, fc.array(disguise, { minLength: 12, maxLength: 12 }), noise, noise, (word, where, pieces, before, after) => {
        const { secret, visiblePrefix } = mintSecret('lk', word);
        const at = where.filter((i) => i <= secret.length);
        const out = redact(`${before}${inserted(secret, at, (i) => pieces[at.indexOf(i)]!)}${after}`);
        const body = secret.slice(`lk_${word}_`.length);
        const seen = undisguised(out);
        return out.includes(`${visiblePrefix}${REDACTED}`) && !seen.includes(body.slice(VISIBLE_BODY_CHARS)) && !seen.includes(body.slice(0, 24));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves alone text that holds no token: random text, and a token one character off, disguised the same way', () => {
    fc.assert(
      fc.property(noise, words, fc.integer({ min: 0, max: 48 }), fc.array(fc.tuple(fc.nat(), disguise), { maxLength: 8 }), (text, word, changed, insertions) => {
        if (redact(text) !== text) return false;
        const { secret } = mintSecret('lk', word);
        const i = `lk_${word}_`.length + changed;
        const off = `${secret.slice(0, i)}${secret[i] === 'q' ? 'r' : 'q'}${secret.slice(i + 1)}`;
        let disguised = off;
        for (const [where, piece] of insertions) {
          const k = where % (disguised.length + 1);
          disguised = disguised.slice(0, k) + piece + disguised.slice(k);
        }
        const sample = `${text}${disguised}${text}`;
        return redact(sample) === sample;
      }),
      { numRuns: 300 },
    );
  });
});
