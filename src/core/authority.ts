import { firstWidening, type Access, type Widening } from './access.js';
import { ApiError, forbidden, invalidRequest, notFound } from './errors.js';
import type { TokenType } from './token-format.js';

/**
 * Who may manage which token, and what the result may hold. Every management route and service
 * asks here; nothing else decides it.
 *
 * - People (owners and admins, by session) manage every token of their account.
 * - A token manages its descendants: what it minted, transitively, and their rotation successors.
 *   Itself it may only read, rename, narrow, pause or revoke: whoever holds its secret can end or
 *   shrink it, never extend it (and so can whoever finds a leaked one).
 *   Its ancestors, its siblings and tokens a person created do not exist for it.
 * - Whatever a token makes or changes lies inside its own access, in every dimension.
 */
export type TokenAction = 'read' | 'rename' | 'edit' | 'pause' | 'resume' | 'rotate' | 'revoke' | 'delete';
export const TOKEN_ACTIONS: readonly TokenAction[] = ['read', 'rename', 'edit', 'pause', 'resume', 'rotate', 'revoke', 'delete'];

/** Where a token sits in its account's tree. */
export interface TokenPlace {
  readonly id: string;
  /** Shared by a token and its rotation successors: a rotation does not move a token in the tree. */
  readonly lineageId: string;
  /** The lineages above it, root first. */
  readonly ancestry: readonly string[];
  /** The successor, once rotated. */
  readonly supersededBy: string | null;
  readonly type: TokenType;
}

export type Manager =
  /** `managesTokens`: an owner or admin (as `LATCHKEY_TOKEN_MANAGERS` says); a member manages none. */
  | { readonly kind: 'person'; readonly managesTokens: boolean }
  | { readonly kind: 'token'; readonly place: TokenPlace; readonly access: Access };

/** Someone reading the whole account, such as an owner: what callers that do not say read as. */
export const ACCOUNT_READER: Manager = { kind: 'person', managesTokens: true };

export type Relation = 'account' | 'self' | 'descendant' | 'unrelated';

/** Deep enough for any real delegation (a CI token minting per-job tokens is two levels). */
export const MAX_TREE_DEPTH = 16;

export function relationOf(manager: Manager, target: TokenPlace): Relation {
  if (manager.kind === 'person') return 'account';
  const self = manager.place;
  if (target.id === self.id) return 'self';
  // A rotated-out secret, in its grace period, still works but manages nothing but itself: the
  // tree is its successor's now.
  if (self.supersededBy !== null) return 'unrelated';
  // Its own predecessors, still in their grace period, are the same token to the current secret.
  if (target.lineageId === self.lineageId) return target.supersededBy !== null ? 'self' : 'unrelated';
  return target.ancestry.includes(self.lineageId) ? 'descendant' : 'unrelated';
}

type Permission = 'yes' | 'narrowing' | 'no';

const BY_RELATION: Readonly<Record<'self' | 'descendant', Readonly<Record<TokenAction, Permission>>>> = {
  self: { read: 'yes', rename: 'yes', edit: 'narrowing', pause: 'yes', resume: 'no', rotate: 'no', revoke: 'yes', delete: 'no' },
  descendant: { read: 'yes', rename: 'yes', edit: 'yes', pause: 'yes', resume: 'yes', rotate: 'yes', revoke: 'yes', delete: 'yes' },
};

/**
 * What a person confirms their password for, within the re-auth window: each action here takes a
 * token's access away or gives it back. (So does anything that hands out a new secret, and any
 * widening, which are asked where they happen.)
 */
export const FRESH_PASSWORD_FOR: Readonly<Partial<Record<TokenAction, string>>> = {
  rotate: 'rotate a token', revoke: 'revoke a token', delete: 'delete a token', resume: 'resume a token',
};

/** Actions whose outcome is a token that can be used: its access must lie inside the manager's. */
const YIELDS_ACCESS: ReadonlySet<TokenAction> = new Set(['edit', 'resume', 'rotate']);

const TOKEN_NOT_FOUND = (): ApiError => notFound('token');

/** Message tokens are a resource of their own: a token needs `message_tokens:full` to touch one. */
export const canManageMessageTokens = (manager: Manager): boolean =>
  manager.kind === 'person' || manager.access.scopes.has('message_tokens:full');

export interface ManagedTarget {
  readonly place: TokenPlace;
  /** What the token allows now. */
  readonly access: Access;
}

/**
 * Whether the manager can see the token at all; what it cannot see reads exactly as absent. A
 * domain-constrained token sees no token that reaches outside its domains (none below it can while
 * live: narrowing narrows what is below).
 */
export function sees(manager: Manager, target: ManagedTarget): boolean {
  if (relationOf(manager, target.place) === 'unrelated') return false;
  if (target.place.type === 'message' && !canManageMessageTokens(manager)) return false;
  if (manager.kind === 'token' && manager.access.domains !== null) {
    const allowed = manager.access.domains;
    return target.access.domains !== null && [...target.access.domains].every((domain) => allowed.has(domain));
  }
  return true;
}

/**
 * May `manager` do `action` to `target`? Throws the refusal: a token it cannot see is not found;
 * one it sees but may not act on so is forbidden.
 */
export function permit(manager: Manager, action: TokenAction, target: ManagedTarget): void {
  if (manager.kind === 'person' && !manager.managesTokens) throw forbidden('this user’s role does not manage tokens');
  if (!sees(manager, target)) throw TOKEN_NOT_FOUND();
  if (manager.kind === 'person') return;
  if (BY_RELATION[relationOf(manager, target.place) as 'self' | 'descendant'][action] === 'no') {
    throw forbidden(`a token may not ${action} itself`, { action });
  }
}

/**
 * May the action leave the token with `outcome` (for an edit, the token as it would be; for resume
 * and rotate, the token as it is)? Its holder gets exactly that access, so a token's outcome must
 * lie inside the token acting, and a token changing itself may only narrow.
 */
export function checkOutcome(manager: Manager, action: TokenAction, target: ManagedTarget, outcome: Access): void {
  if (manager.kind === 'person' || !YIELDS_ACCESS.has(action)) return;
  if (BY_RELATION[relationOf(manager, target.place) as 'self' | 'descendant'][action] === 'narrowing') {
    const widening = firstWidening(outcome, target.access);
    if (widening) throw forbidden(`a token can only narrow itself; this would widen its ${widening.dimension}`, { field: widening.dimension });
  }
  const widening = firstWidening(outcome, manager.access);
  if (widening) throw ceilingError(widening);
}

/**
 * Whether a caller is handed the token that comes with what it makes (a new domain's): a person
 * who manages tokens, or a current api token. A member, a rotated-out secret and an mcp token
 * make the thing without it.
 */
export const holdsTokens = (manager: Manager): boolean =>
  manager.kind === 'person' ? manager.managesTokens : manager.access.type === 'api' && manager.place.supersededBy === null;

/**
 * Whether an action on something else (deleting a domain) may take `target` down with it: only
 * if the caller could have revoked it directly, which takes seeing it.
 */
export const mayRevokeInPassing = (manager: Manager, target: ManagedTarget): boolean =>
  manager.kind === 'person' ? manager.managesTokens : sees(manager, target);

/** May `manager` make a token with `result`? People are bounded by the plan, checked where scopes are read. */
export function authorizeMint(manager: Manager, result: Access): void {
  if (manager.kind === 'person') {
    if (!manager.managesTokens) throw forbidden('this user’s role does not manage tokens');
    return;
  }
  if (manager.access.type !== 'api') throw forbidden(`an ${manager.access.type} token cannot create tokens`, { field: 'type' });
  if (manager.place.supersededBy !== null) throw forbidden('this secret has been rotated: its successor mints tokens now', { rotated_to: manager.place.supersededBy });
  if (result.type === 'message' && !canManageMessageTokens(manager)) {
    throw new ApiError('insufficient_scope', "minting message tokens needs 'message_tokens:full'", { scope: 'message_tokens:full' });
  }
  if (result.type !== 'message' && result.type !== manager.access.type) {
    throw forbidden(`an ${manager.access.type} token cannot create ${result.type} tokens`, { field: 'type' });
  }
  if (manager.place.ancestry.length + 1 >= MAX_TREE_DEPTH) {
    throw new ApiError('conflict', `tokens minted by tokens may nest at most ${MAX_TREE_DEPTH} deep`, { limit: 'tree_depth', max: MAX_TREE_DEPTH });
  }
  const widening = firstWidening(result, manager.access);
  if (widening) throw ceilingError(widening);
}

/** The ancestry a token minted by `manager` gets: the manager's lineage below its own ancestors. */
export const ancestryUnder = (manager: Manager): string[] =>
  manager.kind === 'person' ? [] : [...manager.place.ancestry, manager.place.lineageId];

/** A refusal for a result wider than its manager, naming the field as the client wrote it. */
export function ceilingError(widening: Widening): ApiError {
  switch (widening.dimension) {
    case 'scopes':
      return new ApiError(
        'insufficient_scope',
        widening.needs === widening.scope
          ? `a token cannot grant '${widening.scope}', which it does not hold itself`
          : `granting '${widening.scope}' needs '${widening.needs}', which this token does not hold`,
        { field: 'scopes', scope: widening.needs },
      );
    case 'domains':
      // A domain outside the constraint reads exactly like one that does not exist.
      return widening.domain === null
        ? forbidden('a domain-constrained token cannot give a token every domain', { field: 'domains' })
        : invalidRequest('domains', `unknown domain '${widening.domain}'`, { value: widening.domain });
    case 'ip_allowlist':
      return forbidden('the IP allowlist must lie within the acting token’s own allowlist', { field: 'ip_allowlist' });
    case 'expires_at':
      return forbidden('a token cannot give a token a life beyond its own', { field: 'expires_at' });
    case 'rate_limit':
      return forbidden('the rate limit must be no more permissive than the acting token’s own', { field: 'rate_limit' });
  }
}
