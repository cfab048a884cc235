import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalResource } from '../../../src/core/oauth/resource.js';
import { describesSafely } from '../../helpers/error-description.js';

const EXPECTED = 'https://latchkey.example/mcp';
const check = (value: string) => canonicalResource(value, EXPECTED);

/** Each letter in upper or lower case at random. */
const anyCase = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((flips) => [...text].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

describe('resource indicators', () => {
  it('accept the MCP endpoint with or without a trailing slash, and answer its canonical form', () => {
    for (const value of [EXPECTED, `${EXPECTED}/`, 'HTTPS://LATCHKEY.EXAMPLE/mcp', 'https://Latchkey.Example/mcp/', 'https://latchkey.example:443/mcp']) {
      expect(check(value), value).toEqual({ ok: true, resource: EXPECTED });
    }
  });

  it('read the expected URL the same way, however the deployment wrote it', () => {
    for (const expected of ['https://latchkey.example/mcp/', 'https://LATCHKEY.example:443/mcp']) expect(canonicalResource(EXPECTED, expected)).toEqual({ ok: true, resource: EXPECTED });
    expect(canonicalResource('http://localhost:3000/mcp', 'http://localhost:3000/mcp')).toEqual({ ok: true, resource: 'http://localhost:3000/mcp' });
    expect(canonicalResource('http://localhost:3000/mcp', 'http://localhost/mcp')).toMatchObject({ ok: false });
    expect(canonicalResource('https://api.example/latchkey/mcp', 'https://api.example/latchkey/mcp')).toMatchObject({ ok: true });
    expect(canonicalResource('https://api.example/mcp', 'https://api.example/latchkey/mcp')).toMatchObject({ ok: false });
  });

  it('refuse fragments, other schemes, hosts, ports and user information', () => {
    for (const value of [`${EXPECTED}#`, `${EXPECTED}#x`, 'http://latchkey.example/mcp', 'wss://latchkey.example/mcp', 'https://evil.example/mcp', 'https://latchkey.example.evil.example/mcp', 'https://mcp.latchkey.example/mcp', 'https://latchkey.example./mcp', 'https://latchkey.example:8443/mcp', 'https://latchkey.example:/mcp', 'https://latchkey.example:0443/mcp', 'https://user@latchkey.example/mcp', 'https://latchkey.example@evil.example/mcp', 'https://la%74chkey.example/mcp']) {
      expect(check(value), value).toMatchObject({ ok: false, error: 'invalid_target' });
    }
    // Said as such, though no path with a `#` in it could match either.
    for (const value of [`${EXPECTED}#`, `${EXPECTED}/#x`, 'https://latchkey.example#/mcp']) expect(check(value)).toMatchObject({ description: 'resource must not have a fragment' });
    expect(check('https://user@latchkey.example/mcp')).toMatchObject({ description: 'resource must not have user information' });
  });

  it('refuse every other path, case variants and spellings a parser would tidy included', () => {
    for (const value of ['https://latchkey.example', 'https://latchkey.example/', 'https://latchkey.example/MCP', 'https://latchkey.example/Mcp', 'https://latchkey.example/mcp//', 'https://latchkey.example/mcp/x', 'https://latchkey.example/mcpx', 'https://latchkey.example/mcp/.', 'https://latchkey.example/x/../mcp', 'https://latchkey.example/./mcp', 'https://latchkey.example/%6dcp', 'https://latchkey.example/mcp%2f', 'https://latchkey.example/mcp?x=1', 'https://latchkey.example/mcp?', 'https://latchkey.example\\mcp', 'https:latchkey.example/mcp', '//latchkey.example/mcp', '/mcp', '', ' https://latchkey.example/mcp', 'https://latchkey.example/mcp ', 'https://latchkey.example/mcp\n']) {
      expect(check(value), JSON.stringify(value)).toMatchObject({ ok: false, error: 'invalid_target' });
    }
  });

  it('ignore case in the scheme and host, and nowhere else', () => {
    fc.assert(
      fc.property(anyCase('https://latchkey.example'), anyCase('/mcp'), fc.boolean(), (origin, path, slash) => {
        const outcome = check(`${origin}${path}${slash ? '/' : ''}`);
        expect(outcome.ok).toBe(path === '/mcp');
      }),
    );
  });

  it('accept nothing else, whatever is sent', () => {
    const near = fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([at, text]) => {
      const position = at % (EXPECTED.length + 1);
      return EXPECTED.slice(0, position) + text + EXPECTED.slice(position);
    });
    const acceptable = new Set([EXPECTED, `${EXPECTED}/`, 'https://latchkey.example:443/mcp', 'https://latchkey.example:443/mcp/']);
    fc.assert(
      fc.property(fc.oneof(near, fc.webUrl(), fc.string({ maxLength: 40 })), (value) => {
        const outcome = check(value);
        const lowered = value.replace(/^[^/]*\/\/[^/]*/, (origin) => origin.toLowerCase());
        expect(outcome.ok, value).toBe(acceptable.has(lowered));
        if (!outcome.ok) describesSafely(outcome.description);
      }),
      { numRuns: 3000 },
    );
  });

  it('throw on a deployment URL that cannot be the canonical one', () => {
    for (const expected of ['', '/mcp', 'https://latchkey.example/mcp?x=1', 'https://latchkey.example/mcp#x', 'https://u@latchkey.example/mcp', 'ftp://latchkey.example/mcp']) {
      expect(() => canonicalResource(EXPECTED, expected), expected).toThrow(/MCP endpoint URL/);
    }
  });
});
