import { firstWidening, type Access, type Widening } from '../../core/access.js';
import { ancestryUnder, authorizeMint, checkOutcome, FRESH_PASSWORD_FOR, permit, relationOf, type ManagedTarget, type Manager, type TokenAction } from '../../core/authority.js';
import type { PlanName } from '../../core/catalog.js';
import type { Clock } from '../../core/clock.js';
import { ApiError, forbidden, notFound } from '../../core/errors.js';
import { admit, admitForConnectedAgent, lifecycleStateOf, type LifecycleState } from '../../core/lifecycle.js';
import { decide } from '../../core/policy.js';
import { compileGrant } from '../grants.js';
import type { TokenRecord } from '../../store/token-codec.js';
import type { Principal } from '../context.js';
import { accessOf, factsOf, placeOf, specOf, type AccessSpec } from './token-access.js';
import { requireFreshAuth } from './token-input.js';
import { ancestorsOf, countLive, findToken, lockAccount, type DbOrTrx, type Trx } from '../../store/tokens.js';
import { planOf } from '../../store/accounts.js';

export interface ManagementLimits {
  maxLivePerAccount: number;
  maxLiveDescendants: number;
}

export interface Acting {
  manager: Manager;
  /** The acting token's row, read inside the transaction; null for a person. */
  row: TokenRecord | null;
  /** That token's access as stored: what a token it makes inherits when the request leaves it out. */
  own: AccessSpec | null;
  plan: PlanName;
}

export interface OpenToken extends Acting {
  token: TokenRecord;
  target: ManagedTarget;
  state: LifecycleState;
  /** `unchanged`: the state already is what the action asks for. */
  acceptance: 'yes' | 'unchanged';
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
    const plan = await planOf(db, principal.accountId);
    if (principal.grant === null) return { manager: { kind: 'person', managesTokens: principal.managesTokens }, row: null, own: null, plan };
    const row = await findToken(db, principal.accountId, principal.grant.id);
    if (!row) throw new ApiError('token_revoked', 'this token has been revoked');
    // Paused with any token above it, as the verify path decides.
    const above = (await ancestorsOf(db, principal.accountId, row.ancestry))
      .map((ancestor) => ({ lineage: ancestor.lineage_id, rateLimit: ancestor.rate_limit, pausedAt: ancestor.paused_at }));
    const current = compileGrant(row, plan, 0, above);
    // Where the token may be used the gate decided for this request; here, what it is now.
    const denial = decide(current, { scope: principal.requiredScope, ip: principal.meta.ip, now, audience: principal.grant.audience });
    if (denial) throw new ApiError(denial.code, denial.message, denial.details);
    return { manager: { kind: 'token', place: placeOf(row), access: accessOf(row) }, row, own: specOf(row), plan };
  }

  /**
   * Who reads the access log and the audit log: a person reads the whole account; a token, as it
   * is now, reads only what concerns the tokens it is related to (never its parent's or a
   * sibling's use), and only if no domain or mailbox bounds it: those logs span the account.
   */
  async accountWideReader(db: DbOrTrx, principal: Principal): Promise<Manager> {
    const { manager } = await this.acting(db, principal, this.deps.clock.now());
    if (manager.kind === 'token' && (manager.access.domains !== null || manager.access.type === 'message')) {
      throw forbidden('a domain-constrained token cannot read account-wide logs');
    }
    return manager;
  }

  /**
   * Opens token `id` for `action`, or throws the refusal. Anything but a read runs inside a
   * transaction, which this locks to the account first.
   */
  async open(db: DbOrTrx, principal: Principal, id: string, action: TokenAction): Promise<OpenToken> {
    const needsPassword = FRESH_PASSWORD_FOR[action];
    if (needsPassword) requireFreshAuth(principal, needsPassword);
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
    if (token.audience !== null) admitForConnectedAgent(action);
    const state = lifecycleStateOf(factsOf(token), now);
    const acceptance = admit(state, action);
    return { ...acting, token, target, state, acceptance, now };
  }

  /**
   * May the opened token end up with `outcome`? A token's outcome lies inside the acting token;
   * nobody's reaches beyond a token above it; and a person changing a token's access confirms
   * their password first, narrowing included: it narrows, for good, everything below the token,
   * and revokes what is left with nothing.
   */
  async checkOutcome(trx: Trx, principal: Principal, opened: OpenToken, action: TokenAction, outcome: Access): Promise<void> {
    if (action === 'edit') requireFreshAuth(principal, 'change a token’s access');
    checkOutcome(opened.manager, action, opened.target, outcome);
    const before = opened.target.access;
    // Only a change that widens the token can take it beyond a token above it.
    if (firstWidening(outcome, before) === null) return;
    for (const ancestor of await ancestorsOf(trx, principal.accountId, opened.target.place.ancestry)) {
      const widening = firstWidening(outcome, accessOf(ancestor));
      if (widening) throw beyondAncestor(widening, ancestor, opened.manager);
    }
  }

  /** The start of a change: the account lock, then who acts, as they are now. */
  async begin(trx: Trx, principal: Principal): Promise<Acting & { now: number }> {
    await lockAccount(trx, principal.accountId);
    const now = this.deps.clock.now();
    return { ...(await this.acting(trx, principal, now)), now };
  }

  /**
   * Before a token is made, `begin`; a person is handed the new secret, so confirms their password
   * first.
   */
  beginMint(trx: Trx, principal: Principal): Promise<Acting & { now: number }> {
    requireFreshAuth(principal, 'create a token');
    return this.begin(trx, principal);
  }

  /**
   * May `acting` make a token with `result`, placed at `ancestry`? The authority rule, and the
   * bounds on how many live tokens an account and each subtree above the new token may hold.
   */
  async checkMint(trx: Trx, principal: Principal, acting: Acting & { now: number }, result: Access): Promise<void> {
    authorizeMint(acting.manager, result);
    const { now } = acting;
    const ancestry = ancestryUnder(acting.manager);
    const { maxLivePerAccount, maxLiveDescendants } = this.deps.limits;
    if ((await countLive(trx, principal.accountId, now)) >= maxLivePerAccount) {
      throw new ApiError('conflict', `this account holds ${maxLivePerAccount} live tokens, the most it may; revoke some first`, {
        limit: 'tokens_per_account', max: maxLivePerAccount,
      });
    }
    for (const lineage of ancestry) {
      if ((await countLive(trx, principal.accountId, now, lineage)) >= maxLiveDescendants) {
        // Whether the full tree is this token's or one above it, only that a limit is reached is said.
        throw new ApiError('conflict', `at most ${maxLiveDescendants} live tokens may sit below a token, and this one's tree is full; revoke some first`, {
          limit: 'descendants_per_token', max: maxLiveDescendants,
        });
      }
    }
  }
}

/**
 * A refusal for a token that would reach beyond a token above it. The ancestor is named only to
 * whoever manages it: a token is never told what lies above itself.
 */
function beyondAncestor(widening: Widening, ancestor: TokenRecord, manager: Manager): ApiError {
  const field = widening.dimension;
  const named = relationOf(manager, placeOf(ancestor)) !== 'unrelated';
  const which = named ? ` (${ancestor.id})` : '';
  const details = named ? { field, ancestor: ancestor.id } : { field };
  if (field === 'expires_at') {
    return forbidden(`a token cannot outlive the token above it${named ? ` (${ancestor.id} expires ${new Date(ancestor.expires_at!).toISOString()})` : ''}`, details);
  }
  const what = { scopes: 'scopes', domains: 'domains', ip_allowlist: 'IP allowlist', rate_limit: 'rate limit' }[field];
  return forbidden(`a token cannot hold more than the token above it${which}: this goes beyond its ${what}`, details);
}
