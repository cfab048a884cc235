import type { Manager } from '../../core/authority.js';
import type { PlanName } from '../../core/catalog.js';
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { ApiError, invalidRequest } from '../../core/errors.js';
import type { TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import type { TokensTable } from '../../store/schema.js';
import { decodeAncestry } from '../../store/token-codec.js';
import type { AuditLog } from '../audit.js';
import type { Actor, Principal } from '../context.js';
import type { UsageRecorder } from '../usage.js';
import type { Verifier } from '../verifier.js';
import type { TokenManagement } from './management.js';
import { requireFreshAuth } from './token-input.js';
import { insertToken, lockAccount, type Trx } from './token-store.js';
import { tokenStatus, toTokenView, type TokenView } from './token-view.js';
import { revokeSubtree } from './tree.js';

export interface LifecycleDeps {
  db: Db;
  clock: Clock;
  verifier: Verifier;
  usage: UsageRecorder;
  audit: AuditLog;
  management: TokenManagement;
  tokenPrefix: string;
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

  private view(row: TokensTable, plan: PlanName, viewer: Manager): TokenView {
    return toTokenView(this.deps.usage.overlay(row), plan, this.deps.clock.now(), viewer);
  }

  private forget(hashes: string[]): void {
    this.deps.verifier.invalidate(...hashes);
  }

  async pause(principal: Principal, id: string): Promise<TokenView> {
    return this.setPaused(principal, id, true);
  }

  /** Resuming gives a token its access back: a person confirms their password first. */
  async resume(principal: Principal, id: string): Promise<TokenView> {
    requireFreshAuth(principal, 'resume a token');
    return this.setPaused(principal, id, false);
  }

  private async setPaused(principal: Principal, id: string, paused: boolean): Promise<TokenView> {
    const { db, audit, management } = this.deps;
    const action = paused ? 'pause' : 'resume';
    const { row, plan, changed, manager } = await db.transaction().execute(async (trx) => {
      const opened = await management.open(trx, principal, id, action);
      const { token: row, plan, now, manager } = opened;
      if (opened.acceptance === 'unchanged') return { row, plan, changed: false, manager };
      if (!paused) await management.checkOutcome(trx, principal, opened, 'resume', opened.target.access);
      const change = { paused_at: paused ? now : null };
      await trx.updateTable('tokens').set(change).where('id', '=', id).execute();
      await audit.append(trx, principal.accountId, {
        action: paused ? 'token.paused' : 'token.resumed', actor: principal.actor, target: { type: 'token', id, name: row.name }, meta: principal.meta,
      }, now);
      return { row: { ...row, ...change }, plan, changed: true, manager };
    });
    if (changed) this.forget([row.hash]);
    return this.view(row, plan, manager);
  }

  /**
   * Revokes a token and everything below it; revoking the current token of a lineage also ends
   * its predecessors' grace periods. A rotated-out predecessor is revoked alone.
   */
  async revoke(principal: Principal, id: string, reason: string | undefined): Promise<TokenView> {
    requireFreshAuth(principal, 'revoke a token');
    const { db, audit, management } = this.deps;
    const result = await db.transaction().execute(async (trx) => {
      const { token: row, plan, now, manager } = await management.open(trx, principal, id, 'revoke');
      const hashes = await revokeSubtree(trx, audit, principal, row, reason ?? null, now);
      return { row: { ...row, revoked_at: now, revoke_reason: reason ?? null }, plan, hashes, manager };
    });
    this.forget(result.hashes);
    return this.view(result.row, result.plan, result.manager);
  }

  /** Inside a domain's deletion: revokes the tokens constrained to that domain alone (and what is below them). */
  async revokeDomainTokens(trx: Trx, principal: Principal, domainId: string, now: number): Promise<string[]> {
    const only = await trx.selectFrom('tokens').selectAll()
      .where('account_id', '=', principal.accountId).where('domains', '=', JSON.stringify([domainId])).where('revoked_at', 'is', null)
      .orderBy('id')
      .execute();
    const hashes: string[] = [];
    for (const row of only) hashes.push(...(await revokeSubtree(trx, this.deps.audit, principal, row, 'domain deleted', now)));
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
    requireFreshAuth(principal, 'rotate a token');
    const { db, tokenPrefix, audit, management } = this.deps;
    const graceSeconds = gracePeriod === undefined ? this.deps.defaultGraceSeconds : parseGrace(gracePeriod);
    const result = await db.transaction().execute(async (trx) => {
      const opened = await management.open(trx, principal, id, 'rotate');
      const { token: old, plan, now } = opened;
      await management.checkOutcome(trx, principal, opened, 'rotate', opened.target.access);
      const graceEnd = Math.min(now + graceSeconds * 1000, old.expires_at ?? Infinity);
      // A token has at most two working secrets: the current one and the one it replaced.
      const ended = await this.endEarlierGrace(trx, principal, old, now);
      const { row: successor, secret } = await insertToken(trx, audit, principal, {
        type: old.type as TokenType, name: old.name, description: old.description, scopes: JSON.parse(old.scopes) as string[],
        domains: old.domains === null ? null : (JSON.parse(old.domains) as string[]),
        ipAllowlist: old.ip_allowlist === null ? null : (JSON.parse(old.ip_allowlist) as string[]),
        expiresAt: old.expires_at, mailboxId: old.mailbox_id, rateLimit: old.rate_limit, ancestry: decodeAncestry(old.ancestry),
        rotatedFrom: { id: old.id, lineageId: old.lineage_id }, pausedAt: old.paused_at === null ? null : now,
      }, tokenPrefix, now, { rotated_from: old.id });
      const claimed = await trx.updateTable('tokens')
        .set({ rotated_to: successor.id, expires_at: graceEnd })
        .where('id', '=', old.id).where('rotated_to', 'is', null).where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new ApiError('conflict', 'this token has already been rotated');
      await audit.append(trx, principal.accountId, {
        action: 'token.rotated', actor: principal.actor, target: { type: 'token', id: old.id, name: old.name },
        details: { successor: successor.id, old_expires_at: new Date(graceEnd).toISOString(), grace_seconds: graceSeconds }, meta: principal.meta,
      }, now);
      return { successor, secret, previous: { ...old, rotated_to: successor.id, expires_at: graceEnd }, plan, ended, manager: opened.manager };
    });
    this.forget([result.previous.hash, ...result.ended]);
    const { manager } = result;
    return { token: this.view(result.successor, result.plan, manager), secret: result.secret, previous: this.view(result.previous, result.plan, manager) };
  }

  /** Ends, now, the grace period of any earlier secret of the lineage still working. Returns their hashes. */
  private async endEarlierGrace(trx: Trx, principal: Principal, rotating: TokensTable, now: number): Promise<string[]> {
    const earlier = await trx.selectFrom('tokens').selectAll()
      .where('account_id', '=', rotating.account_id).where('lineage_id', '=', rotating.lineage_id).where('id', '!=', rotating.id)
      .where('rotated_to', 'is not', null).where('revoked_at', 'is', null).where('deleted_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .execute();
    for (const row of earlier) {
      await trx.updateTable('tokens').set({ expires_at: now }).where('id', '=', row.id).execute();
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
    requireFreshAuth(principal, 'delete a token');
    const { db, audit, management } = this.deps;
    const hashes = await db.transaction().execute(async (trx) => {
      const { token: row, now } = await management.open(trx, principal, id, 'delete');
      await this.assertNotLastDomainToken(trx, row, now);
      const hashes = await revokeSubtree(trx, audit, principal, row, 'deleted', now);
      await trx.updateTable('tokens').set({ deleted_at: now }).where('id', '=', id).execute();
      await audit.append(trx, principal.accountId, {
        action: 'token.deleted', actor: principal.actor, target: { type: 'token', id, name: row.name }, meta: principal.meta,
      }, now);
      return hashes;
    });
    this.forget(hashes);
  }

  private async assertNotLastDomainToken(trx: Trx, row: TokensTable, now: number): Promise<void> {
    if (row.domains === null || row.type === 'message' || tokenStatus(row, now) !== 'active') return;
    const domains = JSON.parse(row.domains) as string[];
    const live = await trx.selectFrom('domains').select(['id', 'name']).where('id', 'in', domains).where('deleted_at', 'is', null).execute();
    if (live.length === 0) return;
    const others = await trx.selectFrom('tokens').selectAll()
      .where('account_id', '=', row.account_id).where('id', '!=', row.id).where('domains', 'is not', null).where('type', '!=', 'message')
      .where('revoked_at', 'is', null).where('deleted_at', 'is', null).where('paused_at', 'is', null)
      .execute();
    for (const domain of live) {
      const covered = others.some((t) => tokenStatus(t, now) === 'active' && (JSON.parse(t.domains!) as string[]).includes(domain.id));
      if (!covered) {
        throw new ApiError('last_domain_token', `this is the last active token of ${domain.name}; create another first, or revoke it instead`, {
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
    const cutoff = now - this.deps.retentionDays * 86_400_000;
    const dead = await db.selectFrom('tokens').selectAll()
      .where((eb) => eb.or([eb('revoked_at', '<=', cutoff), eb('deleted_at', '<=', cutoff), eb('expires_at', '<=', cutoff)]))
      .limit(1000).execute();
    let purged = 0;
    for (const row of dead) {
      await db.transaction().execute(async (trx) => {
        await lockAccount(trx, row.account_id);
        const removed = await trx.deleteFrom('tokens').where('id', '=', row.id).executeTakeFirst();
        if (Number(removed.numDeletedRows) === 0) return;
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
