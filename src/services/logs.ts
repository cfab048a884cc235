import type { Db } from '../store/database.js';
import { queryAccessLogs, type AccessLogFilter } from './access-log.js';
import { listAudit, type AuditFilter, type AuditLog } from './audit.js';
import type { Principal } from './context.js';
import type { TokenManagement } from './tokens/management.js';
import type { TokenService } from './tokens/token-service.js';

/**
 * Reading the account's logs. Each read first asks who the caller is as the store has them now
 * (`accountWideReader`): a person reads the account; a token reads what concerns the tokens it
 * is related to, and only if no domain or mailbox bounds it.
 */
export class LogReader {
  constructor(private readonly deps: { db: Db; management: TokenManagement; audit: AuditLog; tokens: TokenService }) {}

  async accessLog(principal: Principal, filter: AccessLogFilter) {
    const { db, management } = this.deps;
    return queryAccessLogs(db, principal.accountId, filter, await management.accountWideReader(db, principal));
  }

  /** One token's entries, for whoever may read that token. */
  async tokenActivity(principal: Principal, tokenId: string, filter: Omit<AccessLogFilter, 'token_id'>) {
    const token = await this.deps.tokens.get(principal, tokenId);
    return queryAccessLogs(this.deps.db, principal.accountId, { ...filter, token_id: token.id });
  }

  async auditLog(principal: Principal, filter: AuditFilter) {
    const { db, management } = this.deps;
    return listAudit(db, principal.accountId, filter, await management.accountWideReader(db, principal));
  }

  verifyAuditChain(principal: Principal) {
    return this.deps.audit.verify(this.deps.db, principal.accountId);
  }
}
