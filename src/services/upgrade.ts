import type { Clock } from '../core/clock.js';
import type { MigrationHooks } from '../store/database.js';
import { subtreeRoots } from '../store/tokens.js';
import { AuditLog, auditKeys } from './audit.js';
import type { Principal } from './context.js';
import { narrowSubtree } from './tokens/tree.js';

/**
 * What the store's upgrade to this release needs from the application, run inside the migration
 * that reshapes the tokens table (once, and never again): the audit chains from before signing are
 * closed with the key, and every existing tree is brought inside the rule that nothing below a
 * token is wider than it (an earlier release let owners widen a minted token, and set no bound on
 * its rate limit).
 */
export function storeUpgrades(auditSecrets: readonly string[], clock: Clock): MigrationHooks {
  return {
    async afterTokenAuthority(trx) {
      const now = clock.now();
      const audit = new AuditLog(auditKeys(auditSecrets), (text) => text);
      await audit.closeUnsignedChains(trx, now);
      for (const root of await subtreeRoots(trx, now)) await narrowSubtree(trx, audit, upgrade(root.account_id), root, now);
    },
  };
}

const upgrade = (accountId: string): Principal => ({
  accountId, actor: { type: 'system', id: null, name: 'upgrade' }, visibility: { domains: null, mailboxId: null }, grant: null,
  requiredScope: null, freshAuth: true, managesTokens: true, meta: { ip: '', userAgent: '' },
});
