import type { TokensTable } from '../../store/schema.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import { under, type Trx } from './token-store.js';

/**
 * What a change to one token does to the tokens below it. Both run inside the caller's
 * transaction, audit each token they touch, and return the hashes to drop from the verify cache
 * once it commits.
 */

/**
 * Revokes `root`, and unless it is a rotated-out predecessor (whose successor still answers for
 * the subtree), every live token of its lineage and below it.
 */
export async function revokeSubtree(trx: Trx, audit: AuditLog, principal: Principal, root: TokensTable, reason: string | null, now: number): Promise<string[]> {
  const hashes = [root.hash];
  const revoke = async (row: TokensTable, revokeReason: string | null, details: Record<string, unknown>) => {
    const updated = await trx.updateTable('tokens').set({ revoked_at: now, revoke_reason: revokeReason })
      .where('id', '=', row.id).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return;
    await audit.append(trx, principal.accountId, {
      action: 'token.revoked', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name }, details, meta: principal.meta,
    }, now);
  };
  await revoke(root, reason, reason ? { reason } : {});
  if (root.rotated_to !== null) return hashes;
  const below = await trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', root.account_id).where('id', '!=', root.id).where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('lineage_id', '=', root.lineage_id), under(eb, root.lineage_id)]))
    .orderBy('id')
    .execute();
  for (const row of below) {
    hashes.push(row.hash);
    const predecessor = row.lineage_id === root.lineage_id;
    await revoke(row, predecessor ? `successor ${root.id} revoked` : `parent ${root.id} revoked`, { cascade_from: root.id });
  }
  return hashes;
}

/**
 * No token outlives an ancestor: when a token's expiry moves earlier, every live token below it
 * that would outlive it now expires with it.
 */
export async function clampSubtree(trx: Trx, audit: AuditLog, principal: Principal, root: TokensTable, expiresAt: number, now: number): Promise<string[]> {
  const later = await trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', root.account_id).where('revoked_at', 'is', null).where('deleted_at', 'is', null)
    .where((eb) => under(eb, root.lineage_id))
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', expiresAt)]))
    .orderBy('id')
    .execute();
  for (const row of later) {
    await trx.updateTable('tokens').set({ expires_at: expiresAt }).where('id', '=', row.id).execute();
    await audit.append(trx, principal.accountId, {
      action: 'token.updated', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
      details: {
        changes: { expires_at: { from: row.expires_at === null ? null : new Date(row.expires_at).toISOString(), to: new Date(expiresAt).toISOString() } },
        clamped_by: root.id,
      },
      meta: principal.meta,
    }, now);
  }
  return later.map((row) => row.hash);
}
