import { iso, type Clock } from '../../core/clock.js';
import { ApiError, invalidRequest } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import type { TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import type { TokensTable } from '../../store/schema.js';
import { appendAudit } from '../audit.js';
import type { Actor, Principal } from '../context.js';
import type { UsageRecorder } from '../usage.js';
import type { Verifier } from '../verifier.js';
import { requireFreshAuth } from './token-rules.js';
import { insertToken, lockAccount, planOf, visibleRow, type Trx } from './token-store.js';
import { tokenStatus, toTokenView, type TokenView } from './token-view.js';

export interface LifecycleDeps {
  db: Db;
  clock: Clock;
  verifier: Verifier;
  usage: UsageRecorder;
  tokenPrefix: string;
  defaultGraceSeconds: number;
  retentionDays: number;
}

const MAX_GRACE_SECONDS = 7 * 86_400;
const SYSTEM: Actor = { type: 'system', id: null, name: 'retention' };

/**
 * What happens to a token after it is created: pause, resume, rotate, revoke, delete, and the
 * purge once it has been dead for the retention period. Every change is one transaction with its
 * audit events, and every token it touches leaves the verify cache after the commit.
 */
export class TokenLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  private view(row: TokensTable, plan: Parameters<typeof toTokenView>[1]): TokenView {
    return this.deps.usage.overlay(row.id, toTokenView(row, plan, this.deps.clock.now()));
  }

  private forget(hashes: string[]): void {
    this.deps.verifier.invalidate(...hashes);
  }

  async pause(principal: Principal, id: string): Promise<TokenView> {
    return this.setPaused(principal, id, true);
  }

  async resume(principal: Principal, id: string): Promise<TokenView> {
    return this.setPaused(principal, id, false);
  }

  private async setPaused(principal: Principal, id: string, paused: boolean): Promise<TokenView> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const { row, plan } = await db.transaction().execute(async (trx) => {
      const row = await visibleRow(trx, principal, id);
      const status = tokenStatus(row, now);
      if (status === 'revoked' || status === 'expired') {
        throw new ApiError('conflict', `a ${status} token cannot be ${paused ? 'paused' : 'resumed'}`, { status });
      }
      const plan = await planOf(trx, principal.accountId);
      if ((row.paused_at !== null) === paused) return { row, plan };
      const change = { paused_at: paused ? iso(now) : null };
      await trx.updateTable('tokens').set(change).where('id', '=', id).execute();
      await appendAudit(trx, principal.accountId, {
        action: paused ? 'token.paused' : 'token.resumed', actor: principal.actor, target: { type: 'token', id, name: row.name }, meta: principal.meta,
      }, now);
      return { row: { ...row, ...change }, plan };
    });
    this.forget([row.hash]);
    return this.view(row, plan);
  }

  /** Revokes a token, every token it minted at any depth, and its predecessors still in a rotation grace period. */
  async revoke(principal: Principal, id: string, reason: string | undefined): Promise<TokenView> {
    requireFreshAuth(principal, 'revoke a token');
    const { db, clock } = this.deps;
    const now = clock.now();
    const result = await db.transaction().execute(async (trx) => {
      const row = await visibleRow(trx, principal, id);
      const plan = await planOf(trx, principal.accountId);
      const hashes = await this.revokeTree(trx, principal, row, reason ?? null, now);
      return { row: { ...row, revoked_at: row.revoked_at ?? iso(now), revoke_reason: row.revoked_at ? row.revoke_reason : reason ?? null }, plan, hashes };
    });
    this.forget(result.hashes);
    return this.view(result.row, result.plan);
  }

  private async revokeTree(trx: Trx, principal: Principal, root: TokensTable, reason: string | null, now: number): Promise<string[]> {
    const hashes: string[] = [];
    let level: TokensTable[] = [root];
    while (level.length > 0) {
      for (const row of level) {
        hashes.push(row.hash);
        if (row.revoked_at !== null) continue;
        const cascade = row.id !== root.id;
        const updated = await trx.updateTable('tokens')
          .set({ revoked_at: iso(now), revoke_reason: cascade ? `parent ${root.id} revoked` : reason })
          .where('id', '=', row.id).where('revoked_at', 'is', null).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) continue;
        await appendAudit(trx, principal.accountId, {
          action: 'token.revoked', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
          details: cascade ? { cascade_from: root.id } : reason ? { reason } : {}, meta: principal.meta,
        }, now);
      }
      // Next: what these tokens minted, and the predecessors still in their rotation grace period.
      const ids = level.map((r) => r.id);
      level = await trx.selectFrom('tokens').selectAll()
        .where((eb) => eb.or([eb('parent_token_id', 'in', ids), eb('rotated_to', 'in', ids)]))
        .where('revoked_at', 'is', null)
        .execute();
    }
    return hashes;
  }

  /** Inside a domain's deletion: revokes the tokens constrained to that domain alone. Returns their hashes. */
  async revokeDomainTokens(trx: Trx, principal: Principal, domainId: string, now: number): Promise<string[]> {
    const only = await trx.selectFrom('tokens').selectAll()
      .where('account_id', '=', principal.accountId).where('domains', '=', JSON.stringify([domainId])).where('revoked_at', 'is', null)
      .execute();
    const hashes: string[] = [];
    for (const row of only) hashes.push(...(await this.revokeTree(trx, principal, row, 'domain deleted', now)));
    return hashes;
  }

  /** After a transaction that revoked tokens commits: they leave the verify cache. */
  forgetAll(hashes: string[]): void {
    this.forget(hashes);
  }

  /**
   * A new secret with the same settings; the old one works until the grace period ends (never past
   * its own expiry). The old row is claimed with a conditional update, so of concurrent rotations
   * exactly one succeeds and the rest get 409; a failure anywhere rolls the whole rotation back.
   */
  async rotate(principal: Principal, id: string, gracePeriod: string | undefined) {
    requireFreshAuth(principal, 'rotate a token');
    const { db, clock, tokenPrefix } = this.deps;
    const graceSeconds = gracePeriod === undefined ? this.deps.defaultGraceSeconds : parseGrace(gracePeriod);
    const now = clock.now();
    const result = await db.transaction().execute(async (trx) => {
      const old = await visibleRow(trx, principal, id);
      const status = tokenStatus(old, now);
      if (status === 'revoked' || status === 'expired') throw new ApiError('conflict', `a ${status} token cannot be rotated`, { status });
      if (old.rotated_to !== null) throw new ApiError('conflict', 'this token has already been rotated', { rotated_to: old.rotated_to });
      const plan = await planOf(trx, principal.accountId);
      const originalExpiry = old.expires_at === null ? null : Date.parse(old.expires_at);
      const graceEnd = Math.min(now + graceSeconds * 1000, originalExpiry ?? Infinity);
      const { row: successor, secret } = await insertToken(trx, principal, {
        type: old.type as TokenType, name: old.name, description: old.description, scopes: JSON.parse(old.scopes) as string[],
        domains: old.domains === null ? null : (JSON.parse(old.domains) as string[]), ipAllowlist: old.ip_allowlist === null ? null : (JSON.parse(old.ip_allowlist) as string[]),
        expiresAt: originalExpiry, mailboxId: old.mailbox_id, rotatedFrom: old.id, parentTokenId: old.parent_token_id, rateLimit: old.rate_limit,
      }, tokenPrefix, now, { rotated_from: old.id });
      const claimed = await trx.updateTable('tokens')
        .set({ rotated_to: successor.id, expires_at: iso(graceEnd) })
        .where('id', '=', old.id).where('rotated_to', 'is', null).where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new ApiError('conflict', 'this token has already been rotated');
      // Tokens minted by the old secret now answer to its successor.
      await trx.updateTable('tokens').set({ parent_token_id: successor.id }).where('parent_token_id', '=', old.id).where('id', '!=', successor.id).execute();
      await appendAudit(trx, principal.accountId, {
        action: 'token.rotated', actor: principal.actor, target: { type: 'token', id: old.id, name: old.name },
        details: { successor: successor.id, old_expires_at: iso(graceEnd), grace_seconds: graceSeconds }, meta: principal.meta,
      }, now);
      return { successor, secret, previous: { ...old, rotated_to: successor.id, expires_at: iso(graceEnd) }, plan };
    });
    this.forget([result.previous.hash]);
    return { token: this.view(result.successor, result.plan), secret: result.secret, previous: this.view(result.previous, result.plan) };
  }

  /** Deletes (and so revokes, with everything it minted); the last active token of a domain stays. */
  async delete(principal: Principal, id: string): Promise<void> {
    requireFreshAuth(principal, 'delete a token');
    const { db, clock } = this.deps;
    const now = clock.now();
    const hashes = await db.transaction().execute(async (trx) => {
      await lockAccount(trx, principal.accountId);
      const row = await visibleRow(trx, principal, id);
      await this.assertNotLastDomainToken(trx, row, now);
      const hashes = await this.revokeTree(trx, principal, row, 'deleted', now);
      await trx.updateTable('tokens').set({ deleted_at: iso(now) }).where('id', '=', id).execute();
      await appendAudit(trx, principal.accountId, {
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
      .where('account_id', '=', row.account_id).where('id', '!=', row.id).where('domains', 'is not', null)
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
    const { db, clock } = this.deps;
    const now = clock.now();
    const cutoff = iso(now - this.deps.retentionDays * 86_400_000);
    const dead = await db.selectFrom('tokens').selectAll()
      .where((eb) => eb.or([eb('revoked_at', '<=', cutoff), eb('deleted_at', '<=', cutoff), eb('expires_at', '<=', cutoff)]))
      .limit(1000).execute();
    let purged = 0;
    for (const row of dead) {
      await db.transaction().execute(async (trx) => {
        const removed = await trx.deleteFrom('tokens').where('id', '=', row.id).executeTakeFirst();
        if (Number(removed.numDeletedRows) === 0) return;
        purged += 1;
        await appendAudit(trx, row.account_id, {
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
