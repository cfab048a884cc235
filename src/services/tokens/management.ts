import { firstWidening, type Access, type Widening } from '../../core/access.js';
import { authorizeMint, checkOutcome, permit, type ManagedTarget, type Manager, type TokenAction } from '../../core/authority.js';
import type { PlanName } from '../../core/catalog.js';
import type { Clock } from '../../core/clock.js';
import { ApiError, forbidden, notFound } from '../../core/errors.js';
import { admit, lifecycleStateOf, type LifecycleState } from '../../core/lifecycle.js';
import { decide } from '../../core/policy.js';
import { compileGrant } from '../grants.js';
import type { TokensTable } from '../../store/schema.js';
import type { Principal } from '../context.js';
import { accessOf, factsOf, placeOf } from './token-access.js';
import { requireFreshAuth } from './token-input.js';
import { ancestorsOf, countLive, findToken, lockAccount, planOf, visibleTokenIds, type DbOrTrx, type Trx } from './token-store.js';

export interface ManagementLimits {
  maxLivePerAccount: number;
  maxLiveDescendants: number;
}

export interface Acting {
  manager: Manager;
  /** The acting token's row, read inside the transaction; null for a person. */
  row: TokensTable | null;
}

export interface OpenToken extends Acting {
  token: TokensTable;
  target: ManagedTarget;
  state: LifecycleState;
  /** `unchanged`: the state already is what the action asks for. */
  acceptance: 'yes' | 'unchanged';
  plan: PlanName;
  now: number;
}

/**
 * The one way into a token change. Every management route reaches the token it acts on through
 * `open` (or, to make one, `beginMint` and `checkMint`), which locks the account first, decides
 * on the acting token again as it is now, and asks the authority rule and the lifecycle table, in
 * that order: absent (404), not allowed (403), not in this state (409). Nothing changes a token
 * without coming through here.
 */
export class TokenManagement {
  constructor(private readonly deps: { clock: Clock; limits: ManagementLimits }) {}

  /**
   * Who acts, as the store has it now. The verify cache may be one invalidation notice behind (a
   * token revoked, paused or narrowed on another node), so the acting token is read again and the
   * whole policy decided once more on that row: status, plan, address, and the route's scope.
   */
  async acting(db: DbOrTrx, principal: Principal, now: number): Promise<Acting> {
    if (principal.grant === null) return { manager: { kind: 'person' }, row: null };
    const row = await findToken(db, principal.accountId, principal.grant.id);
    if (!row) throw new ApiError('token_revoked', 'this token has been revoked');
    const current = compileGrant(row, await planOf(db, principal.accountId), 0);
    const denial = decide(current, { scope: principal.requiredScope, ip: principal.meta.ip, now });
    if (denial) throw new ApiError(denial.code, denial.message, denial.details);
    return { manager: { kind: 'token', place: placeOf(row), access: accessOf(row) }, row };
  }

  /**
   * Whose access log and audit events a caller may read: null for a person (the whole account),
   * else the tokens it sees, so that no token reads its parent's or a sibling's use.
   */
  async logScope(db: DbOrTrx, principal: Principal): Promise<string[] | null> {
    const { manager } = await this.acting(db, principal, this.deps.clock.now());
    return manager.kind === 'person' ? null : visibleTokenIds(db, principal.accountId, manager);
  }

  /** For reads: the manager and the account's plan, without taking any lock. */
  async reader(db: DbOrTrx, principal: Principal, now: number): Promise<Acting & { plan: PlanName }> {
    return { ...(await this.acting(db, principal, now)), plan: await planOf(db, principal.accountId) };
  }

  /**
   * Opens token `id` for `action`, or throws the refusal. Anything but a read runs inside a
   * transaction, which this locks to the account first.
   */
  async open(db: DbOrTrx, principal: Principal, id: string, action: TokenAction): Promise<OpenToken> {
    if (action !== 'read') {
      if (!db.isTransaction) throw new Error(`opening a token to ${action} it needs a transaction`);
      await lockAccount(db as Trx, principal.accountId);
    }
    const now = this.deps.clock.now();
    const acting = await this.acting(db, principal, now);
    const token = await findToken(db, principal.accountId, id);
    if (!token) throw notFound('token');
    const target: ManagedTarget = { place: placeOf(token), access: accessOf(token) };
    permit(acting.manager, action, target);
    const state = lifecycleStateOf(factsOf(token), now);
    const acceptance = admit(state, action);
    return { ...acting, token, target, state, acceptance, plan: await planOf(db, principal.accountId), now };
  }

  /**
   * May the opened token end up with `outcome`? A token's outcome lies inside the acting token;
   * nobody's reaches beyond a token above it; and a person widening a token confirms their
   * password first.
   */
  async checkOutcome(trx: Trx, principal: Principal, opened: OpenToken, action: TokenAction, outcome: Access): Promise<void> {
    checkOutcome(opened.manager, action, opened.target, outcome);
    const before = opened.target.access;
    // Only a change that widens the token can take it beyond a token above it.
    if (firstWidening(outcome, before) === null) return;
    for (const ancestor of await ancestorsOf(trx, principal.accountId, opened.target.place.ancestry)) {
      const widening = firstWidening(outcome, accessOf(ancestor));
      if (widening) throw beyondAncestor(widening, ancestor);
    }
    if (opened.manager.kind === 'person') requireFreshAuth(principal, 'widen a token’s access');
  }

  /** Before a token is made: the account lock, and the acting token as it is now (to inherit from). */
  async beginMint(trx: Trx, principal: Principal): Promise<Acting & { plan: PlanName; now: number }> {
    await lockAccount(trx, principal.accountId);
    const now = this.deps.clock.now();
    return { ...(await this.acting(trx, principal, now)), plan: await planOf(trx, principal.accountId), now };
  }

  /**
   * May `acting` make a token with `result`, placed at `ancestry`? The authority rule, and the
   * bounds on how many live tokens an account and each subtree above the new token may hold.
   */
  async checkMint(trx: Trx, principal: Principal, acting: Acting, result: Access, ancestry: readonly string[]): Promise<void> {
    authorizeMint(acting.manager, result);
    const now = this.deps.clock.now();
    const { maxLivePerAccount, maxLiveDescendants } = this.deps.limits;
    if ((await countLive(trx, principal.accountId, now)) >= maxLivePerAccount) {
      throw new ApiError('conflict', `this account holds ${maxLivePerAccount} live tokens, the most it may; revoke some first`, {
        limit: 'tokens_per_account', max: maxLivePerAccount,
      });
    }
    for (const lineage of ancestry) {
      if ((await countLive(trx, principal.accountId, now, lineage)) >= maxLiveDescendants) {
        throw new ApiError('conflict', `a token may have at most ${maxLiveDescendants} live tokens below it; revoke some first`, {
          limit: 'descendants_per_token', max: maxLiveDescendants, token: lineage,
        });
      }
    }
  }
}

/** A refusal for a token that would reach beyond a token above it, naming both. */
function beyondAncestor(widening: Widening, ancestor: TokensTable): ApiError {
  const field = widening.dimension;
  if (field === 'expires_at') {
    return forbidden(`a token cannot outlive the token above it (${ancestor.id} expires ${new Date(ancestor.expires_at!).toISOString()})`, { field, ancestor: ancestor.id });
  }
  const what = { scopes: 'scopes', domains: 'domains', ip_allowlist: 'IP allowlist', rate_limit: 'rate limit' }[field];
  return forbidden(`a token cannot hold more than the token above it (${ancestor.id}): this goes beyond its ${what}`, { field, ancestor: ancestor.id });
}
