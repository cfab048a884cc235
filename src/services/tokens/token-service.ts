import { firstWidening } from '../../core/access.js';
import { ancestryUnder, sees } from '../../core/authority.js';
import { PLANS } from '../../core/catalog.js';
import type { Clock } from '../../core/clock.js';
import { ApiError } from '../../core/errors.js';
import { normaliseScopes } from '../../core/scopes.js';
import type { TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import { transact } from '../../store/transactions.js';
import type { TokenRecord } from '../../store/token-codec.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import type { Verifier } from '../verifier.js';
import { issueToken } from './issue.js';
import type { OpenToken, TokenManagement } from './management.js';
import type { TokenPresenter } from './presenter.js';
import { accessOf, accessOfSpec, placeOf, specOf, type AccessSpec } from './token-access.js';
import {
  defaultExpiry, parseExpiry, resolveAllowlist, resolveDomains, resolveRateLimit, storedRateLimit, type RateLimitInput,
} from './token-input.js';
import { subtreeHashes, tokenPage, updateToken, type StatusFilter, type Trx } from '../../store/tokens.js';
import { liveDomainIds } from '../../store/domains.js';
import type { TokenView } from './token-view.js';
import { narrowSubtree } from './tree.js';
import { editOf } from './token-edit.js';
import { accessFields } from '../../store/token-codec.js';

export interface CreateTokenInput {
  name: string;
  description?: string;
  type?: TokenType;
  scopes: string[];
  domains?: string[] | null;
  ip_allowlist?: string[] | null;
  expires_in?: string;
  expires_at?: string | null;
  rate_limit?: RateLimitInput | null;
}

/** What an edit may change: everything a token is created with but its type, each optional. */
export type UpdateTokenInput = Partial<Omit<CreateTokenInput, 'type'>>;

export interface ListTokensFilter {
  status?: StatusFilter;
  type?: TokenType;
  q?: string;
  /** Only tokens whose domain constraint names this domain. */
  domain_id?: string;
  limit: number;
  cursor?: string;
}

/** What every service that changes tokens is built from. */
export interface TokenChangeDeps {
  db: Db;
  clock: Clock;
  verifier: Verifier;
  audit: AuditLog;
  management: TokenManagement;
  presenter: TokenPresenter;
  tokenPrefix: string;
}

export interface TokenServiceDeps extends TokenChangeDeps {
  allowScopeEdits: boolean;
  maxLifetimeSeconds: number | null;
}

const RENAME_FIELDS: ReadonlySet<string> = new Set(['name', 'description']);

export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  async create(principal: Principal, input: CreateTokenInput): Promise<{ token: TokenView; secret: string }> {
    const type = input.type ?? 'api';
    if (type === 'message') {
      throw new ApiError('invalid_request', 'message tokens are minted for a mailbox: POST /v1/mailboxes/{id}/message-tokens', { field: 'type' });
    }
    const { db, management, audit, presenter, tokenPrefix, maxLifetimeSeconds } = this.deps;
    return transact(db, async (trx) => {
      const acting = await management.beginMint(trx, principal);
      const { plan, now, own } = acting;
      if (!PLANS[plan].apiAccess) throw new ApiError('plan_restricted', `the ${plan} plan has no API access`, { plan });
      const held = acting.manager.kind === 'token' ? acting.manager.access.scopes : undefined;
      const requested = parseExpiry(input, now, maxLifetimeSeconds);
      const spec: AccessSpec = {
        type,
        scopes: normaliseScopes(type, input.scopes, plan, held),
        domains: resolveDomains(input.domains, await liveDomainIds(trx, principal.accountId), own?.domains ? new Set(own.domains) : null),
        ipAllowlist: resolveAllowlist(input.ip_allowlist, own?.ipAllowlist ?? null),
        expiresAt: requested === undefined ? defaultExpiry(own?.expiresAt ?? null, now, maxLifetimeSeconds) : requested,
        rateLimit: resolveRateLimit(input.rate_limit, own?.rateLimit ?? null),
      };
      await management.checkMint(trx, principal, acting, accessOfSpec(spec));
      const { token: row, secret } = await issueToken(trx, audit, principal, {
        ...spec, name: input.name, description: input.description ?? '', mailboxId: null, ancestry: ancestryUnder(acting.manager), audience: acting.row?.audience ?? null,
      }, tokenPrefix, now);
      return { token: await presenter.one(trx, principal.accountId, acting.manager, row, plan), secret };
    });
  }

  async get(principal: Principal, id: string): Promise<TokenView> {
    const { db, management, presenter } = this.deps;
    const { token, plan, manager } = await management.open(db, principal, id, 'read');
    return presenter.one(db, principal.accountId, manager, token, plan);
  }

  async list(principal: Principal, filter: ListTokensFilter): Promise<{ data: TokenView[]; next_cursor: string | null }> {
    const { db, clock, management, presenter } = this.deps;
    const now = clock.now();
    const { manager, plan } = await management.acting(db, principal, now);
    // The query already keeps to what the manager is related to; the rule has the last word on every row.
    const page: TokenRecord[] = [];
    let before = filter.cursor;
    let exhausted = false;
    while (page.length <= filter.limit && !exhausted) {
      const batch = await tokenPage(db, { accountId: principal.accountId, manager, now, type: filter.type, q: filter.q, status: filter.status, domainId: filter.domain_id, before, limit: filter.limit + 1 });
      exhausted = batch.length < filter.limit + 1;
      for (const row of batch) if (sees(manager, { place: placeOf(row), access: accessOf(row) })) page.push(row);
      before = batch[batch.length - 1]?.id;
    }
    const data = page.slice(0, filter.limit);
    return { data: await presenter.present(db, principal.accountId, manager, data, plan), next_cursor: page.length > filter.limit ? data[data.length - 1]!.id : null };
  }

  async update(principal: Principal, id: string, input: UpdateTokenInput): Promise<TokenView> {
    const { db, verifier, management, audit, presenter } = this.deps;
    const action = Object.keys(input).every((field) => RENAME_FIELDS.has(field)) ? 'rename' : 'edit';
    const result = await transact(db, async (trx) => {
      const opened = await management.open(trx, principal, id, action);
      const { token: row, plan, now } = opened;
      const after = action === 'edit' ? await this.editedSpec(trx, principal, opened, input) : null;
      const { fields: next, changes } = editOf(row, { name: input.name, description: input.description, ...(after && accessFields(after)) });
      if (after && Object.keys(changes).some((field) => !RENAME_FIELDS.has(field))) {
        await management.checkOutcome(trx, principal, opened, 'edit', accessOfSpec(after));
      }
      if (Object.keys(changes).length === 0) return { hashes: [] as string[], view: await presenter.one(trx, principal.accountId, opened.manager, row, plan) };
      await updateToken(trx, id, next);
      await audit.append(trx, principal.accountId, {
        action: 'token.updated', actor: principal.actor, target: { type: 'token', id, name: next.name ?? row.name },
        details: { changes }, meta: principal.meta,
      }, now);
      const updated = { ...row, ...next };
      // Narrowed in any dimension: what lies below it is narrowed with it.
      const narrowed = firstWidening(accessOf(row), accessOf(updated)) !== null;
      const below = narrowed ? await narrowSubtree(trx, audit, principal, updated, now) : [];
      // Everything below counts against this token's rate limit: their cached grants hold the old one.
      const counting = 'rate_limit' in changes ? await subtreeHashes(trx, principal.accountId, updated.lineage_id) : [];
      return { hashes: [...new Set([row.hash, ...below, ...counting])], view: await presenter.one(trx, principal.accountId, opened.manager, updated, plan) };
    });
    if (result.hashes.length) verifier.invalidate(...result.hashes);
    return result.view;
  }

  /** The token's access as the edit asks for it; fields not in the request keep their value. */
  private async editedSpec(trx: Trx, principal: Principal, opened: OpenToken, input: UpdateTokenInput): Promise<AccessSpec> {
    const current = specOf(opened.token);
    const { type } = current;
    let { scopes, domains, ipAllowlist, expiresAt, rateLimit } = current;
    if (input.scopes !== undefined) {
      if (!this.deps.allowScopeEdits) {
        throw new ApiError('forbidden', 'scope edits are disabled on this deployment: create a new token instead', { field: 'scopes' });
      }
      if (type === 'message') throw new ApiError('forbidden', 'message token scopes cannot be edited', { field: 'scopes' });
      scopes = normaliseScopes(type, input.scopes, opened.plan, opened.manager.kind === 'token' ? opened.manager.access.scopes : undefined);
    }
    if (input.domains !== undefined) {
      if (type === 'message') throw new ApiError('forbidden', 'a message token is bound to its mailbox', { field: 'domains' });
      domains = resolveDomains(input.domains, await liveDomainIds(trx, principal.accountId), null);
    }
    if (input.ip_allowlist !== undefined) ipAllowlist = resolveAllowlist(input.ip_allowlist, null);
    if (input.rate_limit !== undefined) rateLimit = storedRateLimit(input.rate_limit)!;
    const expiry = parseExpiry(input, opened.now, this.deps.maxLifetimeSeconds);
    if (expiry !== undefined) expiresAt = expiry;
    return { type, scopes, domains, ipAllowlist, expiresAt, rateLimit };
  }
}
