import { describe, expect, it } from 'vitest';
import { TOKEN_ACTIONS, type TokenAction } from '../../src/core/authority.js';
import { ApiError } from '../../src/core/errors.js';
import { admit, LIFECYCLE, LIFECYCLE_STATES, lifecycleStateOf, type Acceptance, type LifecycleState } from '../../src/core/lifecycle.js';

const NOW = 1_000_000;
const facts = (over: Partial<Parameters<typeof lifecycleStateOf>[0]> = {}) => ({ revokedAt: null, expiresAt: null, pausedAt: null, supersededBy: null, ...over });

/** The table as the API promises it (docs/concepts.md), written out here rather than read from the code. */
const EXPECTED: Record<LifecycleState, Record<TokenAction, Acceptance>> = {
  active: { read: 'yes', rename: 'yes', edit: 'yes', pause: 'yes', resume: 'unchanged', rotate: 'yes', revoke: 'yes', delete: 'yes' },
  paused: { read: 'yes', rename: 'yes', edit: 'yes', pause: 'unchanged', resume: 'yes', rotate: 'yes', revoke: 'yes', delete: 'yes' },
  superseded: { read: 'yes', rename: 'yes', edit: 'no', pause: 'no', resume: 'no', rotate: 'no', revoke: 'yes', delete: 'yes' },
  expired: { read: 'yes', rename: 'yes', edit: 'no', pause: 'no', resume: 'no', rotate: 'no', revoke: 'no', delete: 'yes' },
  revoked: { read: 'yes', rename: 'yes', edit: 'no', pause: 'no', resume: 'no', rotate: 'no', revoke: 'no', delete: 'yes' },
};

const REFUSED_AS: Record<LifecycleState, string> = {
  active: 'an active token',
  paused: 'a paused token',
  superseded: 'a rotated token (change its successor instead)',
  expired: 'an expired token',
  revoked: 'a revoked token',
};

const VERBS: Record<TokenAction, string> = {
  read: 'be read', rename: 'be renamed', edit: 'have its access changed', pause: 'be paused', resume: 'be resumed',
  rotate: 'be rotated', revoke: 'be revoked', delete: 'be deleted',
};

describe('the lifecycle state of a token', () => {
  it('is revoked first, then expired (an expiry equal to now has passed), then superseded, then paused, else active', () => {
    expect(lifecycleStateOf(facts(), NOW)).toBe('active');
    expect(lifecycleStateOf(facts({ pausedAt: 1 }), NOW)).toBe('paused');
    expect(lifecycleStateOf(facts({ pausedAt: 1, supersededBy: 'tok_2' }), NOW)).toBe('superseded');
    expect(lifecycleStateOf(facts({ pausedAt: 1, supersededBy: 'tok_2', expiresAt: NOW }), NOW)).toBe('expired');
    expect(lifecycleStateOf(facts({ pausedAt: 1, supersededBy: 'tok_2', expiresAt: NOW, revokedAt: 5 }), NOW)).toBe('revoked');
    expect(lifecycleStateOf(facts({ expiresAt: NOW + 1 }), NOW)).toBe('active');
    expect(lifecycleStateOf(facts({ expiresAt: NOW - 1 }), NOW)).toBe('expired');
    expect(lifecycleStateOf(facts({ revokedAt: 0 }), NOW)).toBe('revoked');
    expect(lifecycleStateOf(facts({ pausedAt: 0 }), NOW)).toBe('paused');
  });

  it('names the five states', () => {
    expect(LIFECYCLE_STATES).toEqual(['active', 'paused', 'superseded', 'expired', 'revoked']);
    expect(TOKEN_ACTIONS).toEqual(['read', 'rename', 'edit', 'pause', 'resume', 'rotate', 'revoke', 'delete']);
  });
});

describe('the lifecycle table', () => {
  it('is the table the API promises, cell by cell', () => {
    expect(LIFECYCLE).toEqual(EXPECTED);
  });

  for (const state of LIFECYCLE_STATES) {
    for (const action of TOKEN_ACTIONS) {
      const expected = EXPECTED[state][action];
      it(`${state} × ${action}: ${expected}`, () => {
        if (expected !== 'no') {
          expect(admit(state, action)).toBe(expected);
          return;
        }
        let error: unknown;
        try {
          admit(state, action);
        } catch (thrown) {
          error = thrown;
        }
        expect(error).toBeInstanceOf(ApiError);
        expect(error).toMatchObject({ code: 'conflict', message: `${REFUSED_AS[state]} cannot ${VERBS[action]}`, details: { state, action } });
      });
    }
  }
});
