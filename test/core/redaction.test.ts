import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactDeep, secretRedactor } from '../../src/core/redaction.js';
import { mintSecret } from '../../src/core/token-format.js';

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
