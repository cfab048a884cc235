import type { TokenRecord } from '../../store/token-codec.js';
import { accessFields, specOf, type AccessSpec } from '../../store/token-codec.js';
import { liveRestOfTree, revokeToken, unrevokedRestOfTree, updateToken, type Trx } from '../../store/tokens.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import { isEmpty, narrowedInto } from './token-access.js';
import { editOf } from './token-edit.js';

// What a change to one token does to the rest of its tree. Both run inside the caller's
// transaction, audit each token they touch, and return the hashes to drop from the verify cache
// once it commits.

/**
 * Revokes `root`, and unless it is a rotated-out predecessor (whose successor still answers for
 * the subtree), every token of its lineage and below it not yet revoked.
 */
export async function revokeSubtree(trx: Trx, audit: AuditLog, principal: Principal, root: TokenRecord, reason: string | null, now: number): Promise<string[]> {
  const revoke = async (row: TokenRecord, revokeReason: string | null, details: Record<string, unknown>) => {
    if (!(await revokeToken(trx, row.id, revokeReason, now))) return;
    await audit.append(trx, principal.accountId, {
      action: 'token.revoked', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name }, details, meta: principal.meta,
    }, now);
  };
  await revoke(root, reason, reason ? { reason } : {});
  if (root.rotated_to !== null) return [root.hash];
  const rest = await unrevokedRestOfTree(trx, root);
  for (const row of rest) {
    const predecessor = row.lineage_id === root.lineage_id;
    await revoke(row, predecessor ? `successor ${root.id} revoked` : `parent ${root.id} revoked`, { cascade_from: root.id });
  }
  return [root.hash, ...rest.map((row) => row.hash)];
}

/**
 * Nothing below a token is ever wider than it, nor is the secret it replaced. When a token is
 * narrowed, in any dimension, every live token below it and its own predecessors still in their
 * grace are cut down, in the same transaction: each to lie inside the token just above it as that
 * one now is (a rotated-out secret, inside its successor), parents first, so that containment
 * holds link by link whatever rounding a meet needs. One with nothing left is revoked, with what
 * is below it. Returns the hashes of all of them: a token below counts against the limits above
 * it, which may just have changed.
 */
export async function narrowSubtree(trx: Trx, audit: AuditLog, principal: Principal, root: TokenRecord, now: number): Promise<string[]> {
  const depthOf = (row: TokenRecord) => row.ancestry.length;
  // Parents before children, and a lineage's current token before the secrets it replaced.
  const rest = (await liveRestOfTree(trx, root, now))
    .sort((a, b) => depthOf(a) - depthOf(b) || Number(a.rotated_to !== null) - Number(b.rotated_to !== null) || a.id.localeCompare(b.id));
  // What the current token of each lineage holds once narrowed: what the tokens below must lie inside.
  const narrowed = new Map<string, AccessSpec>([[root.lineage_id, specOf(root)]]);
  const gone = new Set<string>();
  for (const row of rest) {
    const ancestry = row.ancestry;
    if (gone.has(row.lineage_id) || ancestry.some((lineage) => gone.has(lineage))) continue;
    const above = row.rotated_to !== null && narrowed.has(row.lineage_id) ? row.lineage_id : nearestIn(narrowed, ancestry) ?? root.lineage_id;
    const next = narrowedInto(specOf(row), narrowed.get(above)!);
    if (isEmpty(next)) {
      await revokeSubtree(trx, audit, principal, row, `nothing left inside ${root.id}`, now);
      // A rotated-out secret goes alone; the current token of a lineage takes the lineage and its subtree along.
      if (row.rotated_to === null) gone.add(row.lineage_id);
      continue;
    }
    if (row.rotated_to === null) narrowed.set(row.lineage_id, next);
    const { fields, changes } = editOf(row, accessFields(next));
    if (Object.keys(changes).length === 0) continue;
    await updateToken(trx, row.id, fields);
    await audit.append(trx, principal.accountId, {
      action: 'token.updated', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
      details: { changes, narrowed_by: root.id }, meta: principal.meta,
    }, now);
  }
  return rest.map((row) => row.hash);
}

/** The nearest of `ancestry` (outermost first) already narrowed. */
const nearestIn = (narrowed: ReadonlyMap<string, AccessSpec>, ancestry: readonly string[]): string | undefined =>
  [...ancestry].reverse().find((lineage) => narrowed.has(lineage));
