import type { TokenAction } from './authority.js';
import { ApiError } from './errors.js';

/**
 * The token lifecycle as one table: which management actions each state accepts. Expired and
 * revoked are terminal, and a rotated-out predecessor is only waiting for its grace period to end:
 * nothing brings any of them back. Enforced in one place (`admit`); the tests are generated from
 * the table, one per cell.
 */
export type LifecycleState = 'active' | 'paused' | 'superseded' | 'expired' | 'revoked';
export const LIFECYCLE_STATES: readonly LifecycleState[] = ['active', 'paused', 'superseded', 'expired', 'revoked'];

/** `unchanged`: accepted, and there is nothing to do (pausing what is paused). */
export type Acceptance = 'yes' | 'unchanged' | 'no';

export const LIFECYCLE: Readonly<Record<LifecycleState, Readonly<Record<TokenAction, Acceptance>>>> = {
  active: { read: 'yes', rename: 'yes', edit: 'yes', pause: 'yes', resume: 'unchanged', rotate: 'yes', revoke: 'yes', delete: 'yes' },
  // A paused token rotates into a paused successor.
  paused: { read: 'yes', rename: 'yes', edit: 'yes', pause: 'unchanged', resume: 'yes', rotate: 'yes', revoke: 'yes', delete: 'yes' },
  // Rotated, still in its grace period: it may be cut short, never extended or changed.
  superseded: { read: 'yes', rename: 'yes', edit: 'no', pause: 'no', resume: 'no', rotate: 'no', revoke: 'yes', delete: 'yes' },
  expired: { read: 'yes', rename: 'yes', edit: 'no', pause: 'no', resume: 'no', rotate: 'no', revoke: 'no', delete: 'yes' },
  revoked: { read: 'yes', rename: 'yes', edit: 'no', pause: 'no', resume: 'no', rotate: 'no', revoke: 'no', delete: 'yes' },
};

export interface LifecycleFacts {
  revokedAt: number | null;
  expiresAt: number | null;
  pausedAt: number | null;
  /** The successor, once rotated. */
  supersededBy: string | null;
}

/** Instants are compared as numbers: an expiry equal to now has passed. */
export function lifecycleStateOf(token: LifecycleFacts, now: number): LifecycleState {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  if (token.supersededBy !== null) return 'superseded';
  return token.pausedAt !== null ? 'paused' : 'active';
}

const REFUSAL: Readonly<Record<LifecycleState, string>> = {
  active: 'an active token',
  paused: 'a paused token',
  superseded: 'a rotated token (change its successor instead)',
  expired: 'an expired token',
  revoked: 'a revoked token',
};

const VERB: Readonly<Record<TokenAction, string>> = {
  read: 'be read', rename: 'be renamed', edit: 'have its access changed', pause: 'be paused', resume: 'be resumed',
  rotate: 'be rotated', revoke: 'be revoked', delete: 'be deleted',
};

/** Whether a token in `state` accepts `action`: `yes` or `unchanged`, or a 409 naming the state. */
export function admit(state: LifecycleState, action: TokenAction): 'yes' | 'unchanged' {
  const acceptance = LIFECYCLE[state][action];
  if (acceptance === 'no') {
    throw new ApiError('conflict', `${REFUSAL[state]} cannot ${VERB[action]}`, { state, action });
  }
  return acceptance;
}

/**
 * A connected agent's token (issued through OAuth) belongs to its connection: a rotated or
 * resumed copy would outlive a disconnect, and the agent's next refresh undoes any edit. It can
 * only be read, revoked or deleted; the connection is changed by connecting again.
 */
const CONNECTED_AGENT_ACTIONS: ReadonlySet<TokenAction> = new Set<TokenAction>(['read', 'revoke', 'delete']);

export function admitForConnectedAgent(action: TokenAction): void {
  if (!CONNECTED_AGENT_ACTIONS.has(action)) {
    throw new ApiError('conflict', `a connected agent's token cannot ${VERB[action]}: revoke it, or disconnect the agent`, { action });
  }
}
