import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TOKEN_TYPES } from '../../src/core/token-format.js';
import { ACTOR_TYPES } from '../../src/core/roles.js';
import { descendantPattern, tokenColumns, toTokenRecord, toTokenRow, type TokenRecord } from '../../src/store/token-codec.js';

const id = fc.stringMatching(/^tok_[0-9A-Z_%\\]{4,8}$/);
const instant = fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: null });
const list = fc.option(fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }), { nil: null });
const record: fc.Arbitrary<TokenRecord> = fc.record({
  id, account_id: fc.string(), name: fc.string(), description: fc.string(), type: fc.constantFrom(...TOKEN_TYPES), hash: fc.string(),
  visible_prefix: fc.string(), last4: fc.string(), scopes: fc.array(fc.string()), domains: list, mailbox_id: fc.option(fc.string(), { nil: null }),
  ip_allowlist: list, created_at: fc.integer({ min: 0, max: 2 ** 45 }), created_by_type: fc.constantFrom(...ACTOR_TYPES),
  created_by_id: fc.option(fc.string(), { nil: null }), created_by_name: fc.string(), lineage_id: id, ancestry: fc.array(id, { maxLength: 4 }),
  expires_at: instant, paused_at: instant, revoked_at: instant, revoke_reason: fc.option(fc.string(), { nil: null }), deleted_at: instant,
  first_used_at: instant, last_used_at: instant, last_used_ip: fc.option(fc.string(), { nil: null }), rotated_from: fc.option(id, { nil: null }),
  rotated_to: fc.option(id, { nil: null }), audience: fc.option(fc.webUrl(), { nil: null }), rate_limit: fc.option(fc.record({ requests: fc.integer({ min: 1 }), per: fc.constantFrom('1s', '90s', '1m', '1d') }), { nil: null }),
});

describe('the token codec', () => {
  it('gives back the record it stored, for any record', () => {
    fc.assert(fc.property(record, (token) => {
      expect(toTokenRecord(toTokenRow(token))).toEqual(token);
    }));
  });

  it('writes on an update exactly the columns of the fields given', () => {
    expect(tokenColumns({ domains: null, rate_limit: { requests: 5, per: '1m' } })).toEqual({ domains: null, rate_limit: '{"requests":5,"per":"1m"}' });
    expect(tokenColumns({ ancestry: [] })).toEqual({ ancestry: '' });
  });

  it('refuses a stored value the code does not know, naming the column', () => {
    fc.assert(fc.property(record, fc.string().filter((t) => !(TOKEN_TYPES as readonly string[]).includes(t)), (token, type) => {
      expect(() => toTokenRecord({ ...toTokenRow(token), type })).toThrow(/tokens\.type/);
    }));
  });

  it('matches a lineage below another by a pattern in which ids are literal, wildcards escaped', () => {
    fc.assert(fc.property(fc.array(id, { minLength: 1, maxLength: 4 }), id, (ancestry, other) => {
      const text = toTokenRow({ ...sample, ancestry }).ancestry;
      const matches = (lineage: string) => likeMatches(text, descendantPattern(lineage));
      for (const lineage of ancestry) expect(matches(lineage)).toBe(true);
      expect(matches(other)).toBe(ancestry.includes(other));
    }));
  });
});

/** SQL `like` with `\` as its escape character, as both stores run it. */
function likeMatches(text: string, pattern: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i]!;
    if (ch === '\\') source += escapeRegExp(pattern[(i += 1)]!);
    else source += ch === '%' ? '.*' : ch === '_' ? '.' : escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`, 's').test(text);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const sample: TokenRecord = fc.sample(record, { numRuns: 1, seed: 1 })[0]!;
