import type { TokensTable } from '../../store/schema.js';
import { decodeAncestry } from '../../store/token-codec.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import { isEmpty, narrowedInto, specOf, type AccessSpec } from './token-access.js';
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

const FIELDS = { scopes: 'scopes', domains: 'domains', ipAllowlist: 'ip_allowlist', expiresAt: 'expires_at', rateLimit: 'rate_limit' } as const;

/** A spec's fields as the tokens table stores them. */
const stored = (spec: AccessSpec): Pick<TokensTable, (typeof FIELDS)[keyof typeof FIELDS]> => ({
  scopes: JSON.stringify(spec.scopes),
  domains: spec.domains === null ? null : JSON.stringify(spec.domains),
  ip_allowlist: spec.ipAllowlist === null ? null : JSON.stringify(spec.ipAllowlist),
  expires_at: spec.expiresAt,
  rate_limit: spec.rateLimit,
});

const shown = (column: string, value: unknown): unknown =>
  value === null ? null : column === 'expires_at' ? new Date(value as number).toISOString() : JSON.parse(value as string);

/**
 * Nothing below a token is ever wider than it. When a token is narrowed, in any dimension, every
 * live token below it is cut down to lie inside it (its scopes, domains, addresses, expiry and
 * rate limit), in the same transaction; one with nothing left is revoked, with what is below it.
 */
export async function narrowSubtree(trx: Trx, audit: AuditLog, principal: Principal, root: TokensTable, now: number): Promise<string[]> {
  const outer = specOf(root);
  const below = (await trx.selectFrom('tokens').selectAll()
    .where('account_id', '=', root.account_id).where('revoked_at', 'is', null).where('deleted_at', 'is', null)
    .where((eb) => eb.and([under(eb, root.lineage_id), eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])]))
    .execute())
    // Parents before children, so that a token revoked for having nothing left takes its subtree along first.
    .sort((a, b) => a.ancestry.length - b.ancestry.length || a.id.localeCompare(b.id));
  const hashes: string[] = [];
  const revoked = new Set<string>();
  for (const row of below) {
    if (decodeAncestry(row.ancestry).some((lineage) => revoked.has(lineage))) continue;
    const before = stored(specOf(row));
    const next = narrowedInto(specOf(row), outer);
    if (isEmpty(next)) {
      hashes.push(...(await revokeSubtree(trx, audit, principal, row, `nothing left inside ${root.id}`, now)));
      revoked.add(row.lineage_id);
      continue;
    }
    const after = stored(next);
    const changes = Object.fromEntries(
      Object.values(FIELDS).filter((column) => before[column] !== after[column]).map((column) => [column, { from: shown(column, before[column]), to: shown(column, after[column]) }]),
    );
    if (Object.keys(changes).length === 0) continue;
    await trx.updateTable('tokens').set(after).where('id', '=', row.id).execute();
    await audit.append(trx, principal.accountId, {
      action: 'token.updated', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name },
      details: { changes, narrowed_by: root.id }, meta: principal.meta,
    }, now);
    hashes.push(row.hash);
  }
  return hashes;
}
