import { parseDuration } from '../../core/duration.js';
import { mayRevokeInPassing, sees, type Manager } from '../../core/authority.js';
import { ApiError, forbidden, invalidRequest } from '../../core/errors.js';
import { transact } from '../../store/transactions.js';
import type { TokenRecord } from '../../store/token-codec.js';
import {
  claimRotation, livePredecessors, lockAccount, otherDomainTokens, pausedLineagesAmong, purgeable, removeToken, setLineagePaused, subtreeHashes, tokensOnlyOf,
  updateToken, type Trx,
} from '../../store/tokens.js';
import { liveDomainsAmong } from '../../store/domains.js';
import type { Actor, Principal } from '../context.js';
import { issueToken } from './issue.js';
import { accessOf, placeOf, specOf } from './token-access.js';
import { requireFreshAuth } from './token-input.js';
import { tokenStatus, type TokenView } from './token-view.js';
import { revokeSubtree } from './tree.js';
import { revokeConnectionOfToken } from '../oauth/grant-revocation.js';
import type { TokenChangeDeps } from './token-service.js';

export interface LifecycleDeps extends TokenChangeDeps {
  defaultGraceSeconds: number;
  retentionDays: number;
}

const MAX_GRACE_SECONDS = 7 * 86_400;
const SYSTEM: Actor = { type: 'system', id: null, name: 'retention' };

/**
 * What happens to a token after it is created: pause, resume, rotate, revoke, delete, and the
 * purge once it has been dead for the retention period. Every change is one transaction with its
 * audit events, opened through `TokenManagement`, and every token it touches leaves the verify
 * cache after the commit.
 */
export class TokenLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  private forget(hashes: string[]): void {
    this.deps.verifier.invalidate(...hashes);
  }

  async pause(principal: Principal, id: string): Promise<TokenView> {
    return this.setPaused(principal, id, true);
  }

  async resume(principal: Principal, id: string): Promise<TokenView> {
    return this.setPaused(principal, id, false);
  }

  /**
   * Pausing or resuming a token does the same to the secret it replaced, still in its grace
   * period; everything below it is refused while it is paused, and keeps its own state.
   */
  private async setPaused(principal: Principal, id: string, paused: boolean): Promise<TokenView> {
    const { db, audit, management, presenter } = this.deps;
    const result = await transact(db, async (trx) => {
      const opened = await management.open(trx, principal, id, paused ? 'pause' : 'resume');
      const { token: row, plan, now, manager } = opened;
      let hashes: string[] = [];
      let current = row;
      if (opened.acceptance === 'yes') {
        if (!paused) await management.checkOutcome(trx, principal, opened, 'resume', opened.target.access);
        // What is below is paused with it: its cached grants hold the lineage as it was.
        hashes = [
          ...(await setLineagePaused(trx, principal.accountId, row.lineage_id, paused ? now : null, now)),
          ...(await subtreeHashes(trx, principal.accountId, row.lineage_id)),
        ];
        await audit.append(trx, principal.accountId, {
          action: paused ? 'token.paused' : 'token.resumed', actor: principal.actor, target: { type: 'token', id, name: row.name }, meta: principal.meta,
        }, now);
        current = { ...row, paused_at: paused ? now : null };
      }
      return { hashes, view: await presenter.one(trx, principal.accountId, manager, current, plan) };
    });
    this.forget(result.hashes);
    return result.view;
  }

  /**
   * Revokes a token and everything below it; revoking the current token of a lineage also ends
   * its predecessors' grace periods. A rotated-out predecessor is revoked alone.
   */
  async revoke(principal: Principal, id: string, reason: string | undefined): Promise<TokenView> {
    const { db, audit, management, presenter } = this.deps;
    const result = await transact(db, async (trx) => {
      const { token: row, plan, now, manager } = await management.open(trx, principal, id, 'revoke');
      const hashes = await revokeSubtree(trx, audit, principal, row, reason ?? null, now);
      hashes.push(...(await revokeConnectionOfToken(trx, audit, row.id, principal, 'revoked', now)));
      const view = await presenter.one(trx, principal.accountId, manager, { ...row, revoked_at: now, revoke_reason: reason ?? null }, plan);
      return { hashes, view };
    });
    this.forget(result.hashes);
    return result.view;
  }

  /**
   * Inside a domain's deletion: revokes the tokens it is the last live domain of (and what is
   * below them), if `manager` could revoke every one of them; else nothing is revoked or deleted.
   */
  async revokeDomainTokens(trx: Trx, principal: Principal, manager: Manager, domainId: string, now: number): Promise<string[]> {
    const only = await tokensOnlyOf(trx, principal.accountId, domainId);
    if (only.some((row) => !mayRevokeInPassing(manager, { place: placeOf(row), access: accessOf(row) }))) {
      throw forbidden('this domain has tokens that only someone managing them may revoke, and deleting it would', { field: 'domain' });
    }
    if (only.length > 0) requireFreshAuth(principal, 'delete a domain (its tokens are revoked with it)');
    const hashes: string[] = [];
    for (const row of only) {
      hashes.push(...(await revokeSubtree(trx, this.deps.audit, principal, row, 'domain deleted', now)));
      hashes.push(...(await revokeConnectionOfToken(trx, this.deps.audit, row.id, principal, 'revoked with its domain', now)));
    }
    return hashes;
  }

  /** After a transaction that revoked tokens commits: they leave the verify cache. */
  forgetAll(hashes: string[]): void {
    this.forget(hashes);
  }

  /**
   * A new secret with the same settings, and the same state: a paused token's successor is paused.
   * The old secret works until the grace period ends (never past its own expiry). The old row is
   * claimed with a conditional update, so of concurrent rotations exactly one succeeds and the rest
   * get 409; a failure anywhere rolls the whole rotation back.
   */
  async rotate(principal: Principal, id: string, gracePeriod: string | undefined) {
    const { db, tokenPrefix, audit, management, presenter } = this.deps;
    const graceSeconds = gracePeriod === undefined ? this.deps.defaultGraceSeconds : parseGrace(gracePeriod);
    const result = await transact(db, async (trx) => {
      const opened = await management.open(trx, principal, id, 'rotate');
      const { token: old, plan, now, manager } = opened;
      await management.checkOutcome(trx, principal, opened, 'rotate', opened.target.access);
      const graceEnd = Math.min(now + graceSeconds * 1000, old.expires_at ?? Infinity);
      // A token has at most two working secrets: the current one and the one it replaced.
      const ended = await this.endEarlierGrace(trx, principal, old, now);
      const { token: successor, secret } = await issueToken(trx, audit, principal, {
        ...specOf(old), name: old.name, description: old.description, mailboxId: old.mailbox_id, ancestry: old.ancestry,
        rotatedFrom: { id: old.id, lineageId: old.lineage_id }, pausedAt: old.paused_at === null ? null : now, audience: old.audience,
      }, tokenPrefix, now, { rotated_from: old.id });
      if (!(await claimRotation(trx, old.id, successor.id, graceEnd))) throw new ApiError('conflict', 'this token has already been rotated');
      await audit.append(trx, principal.accountId, {
        action: 'token.rotated', actor: principal.actor, target: { type: 'token', id: old.id, name: old.name },
        details: { successor: successor.id, old_expires_at: new Date(graceEnd).toISOString(), grace_seconds: graceSeconds }, meta: principal.meta,
      }, now);
      const [token, previous] = await presenter.present(trx, principal.accountId, manager, [successor, { ...old, rotated_to: successor.id, expires_at: graceEnd }], plan);
      return { token: token!, secret, previous: previous!, hashes: [old.hash, ...ended] };
    });
    this.forget(result.hashes);
    return { token: result.token, secret: result.secret, previous: result.previous };
  }

  /** Ends, now, the grace period of any earlier secret of the lineage still working. Returns their hashes. */
  private async endEarlierGrace(trx: Trx, principal: Principal, rotating: TokenRecord, now: number): Promise<string[]> {
    const earlier = await livePredecessors(trx, rotating.account_id, rotating.lineage_id, rotating.id, now);
    for (const row of earlier) {
      await updateToken(trx, row.id, { expires_at: now });
      await this.deps.audit.append(trx, principal.accountId, {
        action: 'token.updated', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
        details: { changes: { expires_at: { from: row.expires_at === null ? null : new Date(row.expires_at).toISOString(), to: new Date(now).toISOString() } }, reason: `${rotating.id} rotated` },
        meta: principal.meta,
      }, now);
    }
    return earlier.map((row) => row.hash);
  }

  /** Deletes (and so revokes, with everything below it); the last active token of a domain stays. */
  async delete(principal: Principal, id: string): Promise<void> {
    const { db, audit, management } = this.deps;
    const hashes = await transact(db, async (trx) => {
      const { token: row, now, manager } = await management.open(trx, principal, id, 'delete');
      await this.assertNotLastDomainToken(trx, manager, row, now);
      const hashes = await revokeSubtree(trx, audit, principal, row, 'deleted', now);
      hashes.push(...(await revokeConnectionOfToken(trx, audit, row.id, principal, 'deleted', now)));
      await updateToken(trx, id, { deleted_at: now });
      await audit.append(trx, principal.accountId, {
        action: 'token.deleted', actor: principal.actor, target: { type: 'token', id, name: row.name }, meta: principal.meta,
      }, now);
      return hashes;
    });
    this.forget(hashes);
  }

  /**
   * A domain keeps a working token: one outside this token's own tree, which goes with it, not
   * paused there or above, and one the deleting token can see, so that whether the delete succeeds says nothing of tokens it
   * cannot. A rotated-out secret goes alone, and its successor stays.
   */
  private async assertNotLastDomainToken(trx: Trx, manager: Manager, row: TokenRecord, now: number): Promise<void> {
    if (row.domains === null || row.type === 'message' || row.rotated_to !== null || tokenStatus(row, now) !== 'active') return;
    const live = await liveDomainsAmong(trx, specOf(row).domains!);
    if (live.length === 0) return;
    const candidates = (await otherDomainTokens(trx, row, now)).filter((other) => sees(manager, { place: placeOf(other), access: accessOf(other) }));
    // One below a paused token is paused with it, and stands in for nothing.
    const paused = await pausedLineagesAmong(trx, row.account_id, [...new Set(candidates.flatMap((other) => other.ancestry))]);
    const others = candidates.filter((other) => !other.ancestry.some((lineage) => paused.has(lineage)));
    for (const domain of live) {
      if (!others.some((other) => specOf(other).domains!.includes(domain.id))) {
        const yours = manager.kind === 'token' ? ' you can see' : '';
        throw new ApiError('last_domain_token', `this is the last active token${yours} of ${domain.name}; create another first, or revoke it instead`, {
          domain_id: domain.id,
        });
      }
    }
  }

  /**
   * Removes tokens that have been revoked, deleted or expired for longer than the retention
   * period. Each purge is audited; the conditional delete makes concurrent purgers harmless.
   */
  async purgeExpired(): Promise<number> {
    const { db, clock, audit } = this.deps;
    const now = clock.now();
    let purged = 0;
    for (const row of await purgeable(db, now - this.deps.retentionDays * 86_400_000, 1000)) {
      await transact(db, async (trx) => {
        await lockAccount(trx, row.account_id);
        if (!(await removeToken(trx, row.id))) return;
        purged += 1;
        await audit.append(trx, row.account_id, {
          action: 'token.purged', actor: SYSTEM, target: { type: 'token', id: row.id, name: row.name },
          details: { status: tokenStatus(row, now), retention_days: this.deps.retentionDays }, meta: null,
        }, now);
      });
      this.deps.verifier.invalidate(row.hash);
    }
    return purged;
  }
}

function parseGrace(text: string): number {
  const seconds = text === '0' ? 0 : parseDuration(text);
  if (seconds === null || seconds > MAX_GRACE_SECONDS) {
    throw invalidRequest('grace_period', 'grace_period must be a duration from 0s to 7d, such as 12h');
  }
  return seconds;
}
