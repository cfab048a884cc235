import { ApiError, forbidden } from './errors.js';
import type { Role } from './roles.js';

/**
 * Who asks to see or change the people of an account: a person signed in, with their role now
 * and whether their password check is fresh; or a token (its scopes are checked by the route),
 * with the role its creating person holds now (null when that person was removed).
 */
export type PeopleActor =
  | { kind: 'person'; role: Role; freshAuth: boolean }
  | { kind: 'token'; creatorRole: Role | null };

export type PeopleChange =
  | { kind: 'add'; role: Role }
  | { kind: 'role'; from: Role; to: Role }
  | { kind: 'remove'; role: Role };

const MAY_READ: ReadonlySet<Role> = new Set<Role>(['owner', 'admin']);

/** Whether a change makes or unmakes an owner. */
const touchesOwnership = (change: PeopleChange): boolean =>
  change.kind === 'role' ? change.from !== change.to && (change.from === 'owner' || change.to === 'owner') : change.role === 'owner';

/** Whether a change leaves one owner fewer. */
const losesOwner = (change: PeopleChange): boolean =>
  (change.kind === 'remove' && change.role === 'owner') || (change.kind === 'role' && change.from === 'owner' && change.to !== 'owner');

/** Owners and admins see the people of their account; a token, when its scope lets it. */
export function refusalToRead(actor: PeopleActor): ApiError | null {
  if (actor.kind === 'person' && !MAY_READ.has(actor.role)) return forbidden('only owners and admins may see the people of the account', { role: actor.role });
  return null;
}

/**
 * The one rule for changing people. Only owners change people: in person, or through a token an
 * owner created and is an owner still (so an admin cannot mint a `users:full` token and promote
 * themselves). Making or unmaking an owner takes an owner in person, with a fresh password check:
 * a leaked token must not hand out the account. And the account keeps an owner, always.
 */
export function refusalToChange(actor: PeopleActor, change: PeopleChange, owners: number): ApiError | null {
  if (actor.kind === 'person' && actor.role !== 'owner') return forbidden('only owners may change the people of the account', { role: actor.role });
  if (actor.kind === 'token' && actor.creatorRole !== 'owner') {
    return forbidden('only a token created by one of the account’s owners, still an owner, may change its people');
  }
  if (touchesOwnership(change)) {
    if (actor.kind === 'token') return forbidden('only an owner, signed in, may make or unmake an owner');
    if (!actor.freshAuth) return new ApiError('reauth_required', 'confirm your password to make or unmake an owner', { action: 'make or unmake an owner' });
  }
  if (losesOwner(change) && owners <= 1) {
    return new ApiError('conflict', 'the account’s last owner can be neither removed nor demoted; make someone else an owner first');
  }
  return null;
}
