import type { Clock } from '../core/clock.js';
import type { MigrationHooks } from '../store/database.js';
import { everyPlace, liveInLineageTree, lockAccount, revokeToken, tokenById, type Trx } from '../store/tokens.js';
import { AuditLog, auditKeys } from './audit.js';
import type { Principal } from './context.js';
import { narrowSubtree } from './tokens/tree.js';

/**
 * What the store's upgrade to this release needs from the application, run inside the migration
 * that reshapes the tokens table (once, and never again): the audit chains from before signing are
 * closed with the key, and every existing tree is brought inside the rule that nothing below a
 * token is wider than it or outlives it, nor is the secret it replaced (an earlier release let
 * owners widen a minted token, set no bound on its rate limit or its expiry, checked no ancestor
 * when a token was used, and purged dead parents from under live children).
 */
export function storeUpgrades(auditSecrets: readonly string[], clock: Clock): MigrationHooks {
  return {
    async afterTokenAuthority(trx) {
      const now = clock.now();
      const audit = new AuditLog(auditKeys(auditSecrets), (text) => text);
      await audit.closeUnsignedChains(trx, now);
      await enforceTrees(trx, audit, now);
    },
    // Again, for a store upgraded by the release whose walk stopped at trees still working.
    async afterTokenTrees(trx) {
      await enforceTrees(trx, new AuditLog(auditKeys(auditSecrets), (text) => text), clock.now());
    },
  };
}

type Row = Awaited<ReturnType<typeof everyPlace>>[number];

/**
 * Every lineage with something below it or a secret it replaced, shallowest first, whatever its
 * current token's state: one still working (expired included: what is below takes its expiry) has
 * its tree narrowed into it, link by link; below one revoked, deleted or purged, whatever still
 * works is revoked. Each current token is read again when its turn comes, as the narrowing of the
 * lineages above may have changed it.
 */
async function enforceTrees(trx: Trx, audit: AuditLog, now: number): Promise<void> {
  const rows = await everyPlace(trx);
  const ids = new Set(rows.map((row) => row.id));
  const lineages = new Map<string, { accountId: string; lineage: string; depth: number; members: Row[] }>();
  const lineageOf = (accountId: string, lineage: string, depth: number) => {
    const key = `${accountId} ${lineage}`;
    let found = lineages.get(key);
    if (!found) lineages.set(key, (found = { accountId, lineage, depth, members: [] }));
    return found;
  };
  for (const row of rows) {
    const { ancestry } = row;
    ancestry.forEach((lineage, depth) => lineageOf(row.account_id, lineage, depth));
    if (row.rotated_to !== null) lineageOf(row.account_id, row.lineage_id, ancestry.length);
  }
  for (const row of rows) lineages.get(`${row.account_id} ${row.lineage_id}`)?.members.push(row);

  const ordered = [...lineages.values()].sort((a, b) => a.depth - b.depth || a.lineage.localeCompare(b.lineage));
  for (const { accountId, lineage, members } of ordered) {
    const principal = upgrade(accountId);
    await lockAccount(trx, accountId);
    const current = members.filter((row) => row.rotated_to === null);
    if (current.length === 0) {
      // Its current token is gone: the old release purged it, dead. (A successor that is here but
      // in a lineage of its own answers for nothing here: left alone.)
      const gone = members.length === 0 ? lineage : members.map((row) => row.rotated_to!).find((id) => !ids.has(id));
      if (gone !== undefined) await revokeLive(trx, audit, principal, accountId, lineage, gone, 'purged', now);
      continue;
    }
    for (const { id } of current) {
      const root = await tokenById(trx, id);
      if (root.revoked_at !== null) await revokeLive(trx, audit, principal, accountId, lineage, root.id, 'revoked', now);
      else if (root.deleted_at !== null) await revokeLive(trx, audit, principal, accountId, lineage, root.id, 'deleted', now);
      else await narrowSubtree(trx, audit, principal, root, now);
    }
  }
}

/**
 * Revokes every token of `lineage` and below it that still works, as revoking its current token
 * (`cause`) would have: the tokens below as their parent's, the secrets it replaced as their
 * successor's. Tokens already expired stay as they are: expired is as final as revoked.
 */
async function revokeLive(trx: Trx, audit: AuditLog, principal: Principal, accountId: string, lineage: string, cause: string, what: string, now: number): Promise<void> {
  const live = await liveInLineageTree(trx, accountId, lineage, now);
  for (const row of live) {
    const reason = `${row.lineage_id === lineage ? 'successor' : 'parent'} ${cause} ${what}`;
    if (!(await revokeToken(trx, row.id, reason, now))) continue;
    await audit.append(trx, accountId, {
      action: 'token.revoked', actor: principal.actor, target: { type: 'token', id: row.id, name: row.name }, details: { cascade_from: cause }, meta: principal.meta,
    }, now);
  }
}

const upgrade = (accountId: string): Principal => ({
  accountId, actor: { type: 'system', id: null, name: 'upgrade' }, visibility: { domains: null, mailboxId: null }, grant: null,
  requiredScope: null, freshAuth: true, managesTokens: true, role: null, meta: { ip: '', userAgent: '' },
});
