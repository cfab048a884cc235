import { ApiError, invalidRequest, notFound } from '../core/errors.js';
import { iso, type Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Db, DbOrTrx } from '../store/database.js';
import { transact } from '../store/transactions.js';
import {
  activityPage, domainPage, insertDomain, insertMailbox, liveDomain, liveDomainNamed, liveMailbox, mailboxAddressTaken, mailboxPage,
  markDomainDeleted, type ActivityRecord, type DomainRecord, type MailboxRecord,
} from '../store/domains.js';
import { PLANS } from '../core/catalog.js';
import type { AuditLog } from './audit.js';
import type { DomainDirectory } from './domain-directory.js';
import { seesDomain, seesMailbox, type Principal } from './context.js';
import { mintDomainToken, mintMessageToken, type DerivedDeps, type MessageTokenInput } from './tokens/derived-tokens.js';
import type { TokenLifecycle } from './tokens/lifecycle.js';
import type { TokenManagement } from './tokens/management.js';
import type { TokenPresenter } from './tokens/presenter.js';
import { requireFreshAuth } from './tokens/token-input.js';
import type { TokenView } from './tokens/token-view.js';
import { holdsTokens } from '../core/authority.js';

/**
 * The platform's own resources, the things tokens guard: small, but real rows in the database.
 * Every read goes through a `Visibility`, so a constrained token sees other domains (and their
 * mailboxes, messages and activity) exactly as it sees domains that do not exist.
 */
export interface DomainView {
  id: string;
  name: string;
  created_at: string;
}

export interface MailboxView {
  id: string;
  domain_id: string;
  address: string;
  created_at: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const DOMAIN_NAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;
const LOCAL_PART = /^[a-z0-9._%+-]{1,64}$/;

const domainView = (row: DomainRecord): DomainView => ({ id: row.id, name: row.name, created_at: iso(row.created_at) });
const mailboxView = (row: MailboxRecord): MailboxView => ({ id: row.id, domain_id: row.domain_id, address: row.address, created_at: iso(row.created_at) });
const activityView = (row: ActivityRecord) => ({
  id: row.id, domain_id: row.domain_id, event: row.event, from: row.from_address, to: row.to_address, subject: row.subject, at: iso(row.created_at),
});

/** One page of views: one more record than asked is read, to know whether another page follows. */
export async function paged<R extends { id: string }, V>(
  read: (page: { before?: string | undefined; limit: number }) => Promise<R[]>, limit: number, cursor: string | undefined, view: (record: R) => V,
): Promise<Page<V>> {
  const rows = await read({ before: cursor, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return { data: page.map(view), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null };
}

export function splitAddress(address: string, field: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at).toLowerCase();
  const domain = address.slice(at + 1).toLowerCase();
  if (at < 1 || !LOCAL_PART.test(local) || !DOMAIN_NAME.test(domain)) {
    throw invalidRequest(field, `'${address}' is not an email address`);
  }
  return { local, domain };
}

export interface PlatformDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  management: TokenManagement;
  /** Told of every domain created or deleted, so that `/v1/verify` never vouches for one that is not there. */
  domains: DomainDirectory;
  presenter: TokenPresenter;
  lifecycle: TokenLifecycle;
  tokenPrefix: string;
  maxLifetimeSeconds: number | null;
}

export class PlatformService {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly audit: AuditLog;
  private readonly derived: DerivedDeps;

  constructor(private readonly deps: PlatformDeps) {
    this.db = deps.db;
    this.clock = deps.clock;
    this.audit = deps.audit;
    this.derived = { audit: deps.audit, management: deps.management, tokenPrefix: deps.tokenPrefix, maxLifetimeSeconds: deps.maxLifetimeSeconds };
  }

  async listDomains(principal: Principal, limit: number, cursor?: string): Promise<Page<DomainView>> {
    return paged((page) => domainPage(this.db, principal.accountId, principal.visibility.domains, page), limit, cursor, domainView);
  }

  async getDomain(principal: Principal, id: string): Promise<DomainView> {
    const row = await liveDomain(this.db, principal.accountId, id);
    if (!row || !seesDomain(principal.visibility, row.id)) throw notFound('domain');
    return domainView(row);
  }

  /**
   * Creates a domain and, in the same transaction, its own domain-admin token (shown once): a new
   * secret, so a person confirms their password first. A person who does not manage tokens (a
   * member) gets the domain without one: holding a token is managing one.
   */
  async createDomain(principal: Principal, name: string): Promise<{ domain: DomainView; token: TokenView | null; secret: string | null }> {
    const domainName = name.trim().toLowerCase();
    if (!DOMAIN_NAME.test(domainName)) throw invalidRequest('name', `'${name}' is not a domain name`);
    const created = await transact(this.db, async (trx) => {
      const acting = await this.deps.management.begin(trx, principal);
      const { now, plan } = acting;
      // As the token is now: another node may have just constrained it.
      if (acting.manager.kind === 'token' && acting.manager.access.domains !== null) {
        throw new ApiError('forbidden', 'a domain-constrained token cannot create domains');
      }
      const withToken = PLANS[plan].apiAccess && holdsTokens(acting.manager);
      if (withToken) requireFreshAuth(principal, 'create a domain (it comes with a new token)');
      if (await liveDomainNamed(trx, principal.accountId, domainName)) throw new ApiError('conflict', `the domain ${domainName} already exists`, { field: 'name' });
      const row: DomainRecord = { id: newId('dom'), account_id: principal.accountId, name: domainName, created_at: now, deleted_at: null };
      await insertDomain(trx, row);
      await this.audit.append(trx, principal.accountId, {
        action: 'domain.created', actor: principal.actor, target: { type: 'domain', id: row.id, name: row.name }, meta: principal.meta,
      }, now);
      const minted = withToken ? await mintDomainToken(trx, this.derived, principal, acting, row) : null;
      const token = minted ? await this.deps.presenter.one(trx, principal.accountId, acting.manager, minted.token, plan) : null;
      return { domain: domainView(row), token, secret: minted?.secret ?? null };
    });
    this.deps.domains.invalidate(created.domain.id);
    return created;
  }

  /**
   * Deletes a domain and revokes the tokens constrained to it alone: they have nothing left to act
   * on. Only someone who could revoke each of them may (a token, only its own tree; a person who
   * manages tokens, after a fresh password check). A re-created domain is a new one.
   */
  async deleteDomain(principal: Principal, id: string): Promise<void> {
    const domain = await this.getDomain(principal, id);
    const hashes = await transact(this.db, async (trx) => {
      const acting = await this.deps.management.begin(trx, principal);
      const { now } = acting;
      if (acting.manager.kind === 'token' && acting.manager.access.domains?.has(id) === false) throw notFound('domain');
      const revoked = await this.deps.lifecycle.revokeDomainTokens(trx, principal, acting.manager, id, now);
      if (!(await markDomainDeleted(trx, id, now))) throw notFound('domain');
      await this.audit.append(trx, principal.accountId, {
        action: 'domain.deleted', actor: principal.actor, target: { type: 'domain', id, name: domain.name }, meta: principal.meta,
      }, now);
      return revoked;
    });
    this.deps.lifecycle.forgetAll(hashes);
    this.deps.domains.invalidate(id);
  }

  async mintMessageToken(principal: Principal, mailboxId: string, input: MessageTokenInput) {
    return transact(this.db, async (trx) => {
      const acting = await this.deps.management.beginMint(trx, principal);
      const mailbox = await this.getMailbox(principal, mailboxId, trx);
      const { token: row, secret } = await mintMessageToken(trx, this.derived, principal, acting, mailbox, input);
      return { token: await this.deps.presenter.one(trx, principal.accountId, acting.manager, row, acting.plan), secret };
    });
  }

  async listMailboxes(principal: Principal, domainId: string, limit: number, cursor?: string): Promise<Page<MailboxView>> {
    await this.getDomain(principal, domainId);
    return paged((page) => mailboxPage(this.db, domainId, principal.visibility.mailboxId, page), limit, cursor, mailboxView);
  }

  async createMailbox(principal: Principal, domainId: string, localPart: string): Promise<MailboxView> {
    const domain = await this.getDomain(principal, domainId);
    const local = localPart.trim().toLowerCase();
    if (!LOCAL_PART.test(local)) throw invalidRequest('local_part', `'${localPart}' is not a valid mailbox name`);
    const address = `${local}@${domain.name}`;
    const now = this.clock.now();
    return transact(this.db, async (trx) => {
      if (await mailboxAddressTaken(trx, domainId, address)) throw new ApiError('conflict', `the mailbox ${address} already exists`, { field: 'local_part' });
      const row: MailboxRecord = { id: newId('mbx'), account_id: principal.accountId, domain_id: domainId, address, created_at: now };
      await insertMailbox(trx, row);
      await this.audit.append(trx, principal.accountId, {
        action: 'mailbox.created', actor: principal.actor, target: { type: 'mailbox', id: row.id, name: address }, meta: principal.meta,
      }, now);
      return mailboxView(row);
    });
  }

  /** A mailbox the principal may see: its domain must be live and visible, and a message token sees only its own. */
  async getMailbox(principal: Principal, id: string, db: DbOrTrx = this.db): Promise<MailboxView> {
    const row = await liveMailbox(db, principal.accountId, id);
    if (!row || !seesMailbox(principal.visibility, row)) throw notFound('mailbox');
    return mailboxView(row);
  }

  async listActivity(principal: Principal, limit: number, cursor?: string) {
    return paged((page) => activityPage(this.db, principal.accountId, principal.visibility.domains, page), limit, cursor, activityView);
  }
}
