import { sql, type ExpressionBuilder } from 'kysely';
import { PLANS, type PlanName } from '../../core/catalog.js';
import { iso, type Clock } from '../../core/clock.js';
import { ApiError } from '../../core/errors.js';
import { normaliseScopes } from '../../core/scopes.js';
import type { TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import type { Database, TokensTable } from '../../store/schema.js';
import { appendAudit } from '../audit.js';
import type { Principal } from '../context.js';
import type { UsageRecorder } from '../usage.js';
import type { Verifier } from '../verifier.js';
import {
  checkScopeCeiling, parseExpiry, requireFreshAuth, resolveAllowlist, resolveDomains, resolveExpiry, storedRateLimit, widensAccess, withinCeiling,
  type RateLimitInput,
} from './token-rules.js';
import { insertToken, liveDomainIds, planOf, visibleRow } from './token-store.js';
import { toTokenView, type TokenView } from './token-view.js';

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

export interface UpdateTokenInput {
  name?: string;
  description?: string;
  scopes?: string[];
  domains?: string[] | null;
  ip_allowlist?: string[] | null;
  expires_in?: string;
  expires_at?: string | null;
  rate_limit?: RateLimitInput | null;
}

export type StatusFilter = 'active' | 'paused' | 'expired' | 'revoked';

export interface ListTokensFilter {
  status?: StatusFilter;
  type?: TokenType;
  q?: string;
  limit: number;
  cursor?: string;
}

export interface TokenServiceDeps {
  db: Db;
  clock: Clock;
  verifier: Verifier;
  usage: UsageRecorder;
  tokenPrefix: string;
  allowScopeEdits: boolean;
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  view(row: TokensTable, plan: PlanName): TokenView {
    return this.deps.usage.overlay(row.id, toTokenView(row, plan, this.deps.clock.now()));
  }

  async create(principal: Principal, input: CreateTokenInput): Promise<{ token: TokenView; secret: string }> {
    requireFreshAuth(principal, 'create a token');
    const { db, clock } = this.deps;
    const type = input.type ?? 'api';
    const ceiling = principal.grant;
    if (type === 'message') {
      throw new ApiError('invalid_request', 'message tokens are minted for a mailbox: POST /v1/mailboxes/{id}/message-tokens', { field: 'type' });
    }
    if (ceiling && type !== ceiling.type) {
      throw new ApiError('forbidden', `an ${ceiling.type} token cannot create ${type} tokens`, { field: 'type' });
    }
    const plan = await planOf(db, principal.accountId);
    if (!PLANS[plan].apiAccess) {
      throw new ApiError('plan_restricted', `the ${plan} plan has no API access`, { plan });
    }
    const now = clock.now();
    const scopes = normaliseScopes(type, input.scopes, plan, ceiling?.effective);
    checkScopeCeiling(type, scopes, ceiling);
    const domains = resolveDomains(input.domains, await liveDomainIds(db, principal.accountId), ceiling);
    const ipAllowlist = resolveAllowlist(input.ip_allowlist, ceiling);
    const expiresAt = resolveExpiry(parseExpiry(input, now), ceiling);
    const rateLimit = storedRateLimit(input.rate_limit) ?? null;
    const spec = { type, name: input.name, description: input.description ?? '', scopes, domains, ipAllowlist, expiresAt, mailboxId: null, rateLimit };
    const { row, secret } = await db.transaction().execute((trx) => insertToken(trx, principal, spec, this.deps.tokenPrefix, now));
    return { token: this.view(row, plan), secret };
  }

  async get(principal: Principal, id: string): Promise<TokenView> {
    const row = await visibleRow(this.deps.db, principal, id);
    return this.view(row, await planOf(this.deps.db, principal.accountId));
  }

  async list(principal: Principal, filter: ListTokensFilter): Promise<{ data: TokenView[]; next_cursor: string | null }> {
    const { db, clock } = this.deps;
    const now = iso(clock.now());
    const plan = await planOf(db, principal.accountId);
    let query = db.selectFrom('tokens').selectAll().where('account_id', '=', principal.accountId).where('deleted_at', 'is', null);
    if (filter.type) query = query.where('type', '=', filter.type);
    if (filter.q) {
      const pattern = `%${escapeLike(filter.q.toLowerCase())}%`;
      query = query.where((eb) => eb.or([
        eb(eb.fn('lower', ['name']), 'like', sql<string>`${pattern} escape '\\'`),
        eb(eb.fn('lower', ['description']), 'like', sql<string>`${pattern} escape '\\'`),
        eb('visible_prefix', '=', filter.q!),
        eb('id', '=', filter.q!),
      ]));
    }
    const live = (eb: ExpressionBuilder<Database, 'tokens'>) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);
    switch (filter.status) {
      case 'revoked': query = query.where('revoked_at', 'is not', null); break;
      case 'expired': query = query.where('revoked_at', 'is', null).where('expires_at', '<=', now); break;
      case 'paused': query = query.where('revoked_at', 'is', null).where(live).where('paused_at', 'is not', null); break;
      case 'active': query = query.where('revoked_at', 'is', null).where(live).where('paused_at', 'is', null); break;
    }
    // A minting token sees only tokens within its own ceiling; read on until the page is full.
    const page: TokensTable[] = [];
    let cursor = filter.cursor;
    let exhausted = false;
    while (page.length <= filter.limit && !exhausted) {
      const batchSize = filter.limit + 1;
      const batch = await (cursor ? query.where('id', '<', cursor) : query).orderBy('id', 'desc').limit(batchSize).execute();
      exhausted = batch.length < batchSize;
      for (const row of batch) if (!principal.grant || withinCeiling(row, principal.grant)) page.push(row);
      cursor = batch[batch.length - 1]?.id;
    }
    const data = page.slice(0, filter.limit);
    return { data: data.map((row) => this.view(row, plan)), next_cursor: page.length > filter.limit ? data[data.length - 1]!.id : null };
  }

  async update(principal: Principal, id: string, input: UpdateTokenInput): Promise<TokenView> {
    const { db, clock, verifier } = this.deps;
    const now = clock.now();
    const ceiling = principal.grant;
    const result = await db.transaction().execute(async (trx) => {
      const row = await visibleRow(trx, principal, id);
      if (row.revoked_at !== null) throw new ApiError('conflict', 'a revoked token cannot be changed');
      const plan = await planOf(trx, principal.accountId);
      const type = row.type as TokenType;
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const next: Partial<TokensTable> = {};
      const note = (field: keyof TokensTable, label: string, from: unknown, to: unknown, stored: string | null) => {
        if (JSON.stringify(from) === JSON.stringify(to)) return;
        changes[label] = { from, to };
        (next as Record<string, unknown>)[field] = stored;
      };
      if (input.name !== undefined) note('name', 'name', row.name, input.name, input.name);
      if (input.description !== undefined) note('description', 'description', row.description, input.description, input.description);

      let scopes = JSON.parse(row.scopes) as string[];
      if (input.scopes !== undefined) {
        if (!this.deps.allowScopeEdits) {
          throw new ApiError('forbidden', 'scope edits are disabled on this deployment: create a new token instead', { field: 'scopes' });
        }
        if (type === 'message') throw new ApiError('forbidden', 'message token scopes cannot be edited', { field: 'scopes' });
        scopes = normaliseScopes(type, input.scopes, plan, ceiling?.effective);
        checkScopeCeiling(type, scopes, ceiling);
        note('scopes', 'scopes', JSON.parse(row.scopes), scopes, JSON.stringify(scopes));
      }
      const oldDomains = row.domains === null ? null : (JSON.parse(row.domains) as string[]);
      let domains = oldDomains;
      if (input.domains !== undefined) {
        if (type === 'message') throw new ApiError('forbidden', 'a message token is bound to its mailbox', { field: 'domains' });
        domains = resolveDomains(input.domains, await liveDomainIds(trx, principal.accountId), ceiling);
        note('domains', 'domains', oldDomains, domains, domains === null ? null : JSON.stringify(domains));
      }
      const oldAllowlist = row.ip_allowlist === null ? null : (JSON.parse(row.ip_allowlist) as string[]);
      let ipAllowlist = oldAllowlist;
      if (input.ip_allowlist !== undefined) {
        ipAllowlist = resolveAllowlist(input.ip_allowlist, ceiling);
        note('ip_allowlist', 'ip_allowlist', oldAllowlist, ipAllowlist, ipAllowlist === null ? null : JSON.stringify(ipAllowlist));
      }
      const rateLimit = storedRateLimit(input.rate_limit);
      if (rateLimit !== undefined) {
        const parse = (text: string | null) => (text === null ? null : (JSON.parse(text) as unknown));
        note('rate_limit', 'rate_limit', parse(row.rate_limit), parse(rateLimit), rateLimit);
      }
      const expiry = parseExpiry(input, now);
      if (expiry !== undefined) {
        const expiresAt = resolveExpiry(expiry, ceiling);
        const stored = expiresAt === null ? null : iso(expiresAt);
        note('expires_at', 'expires_at', row.expires_at, stored, stored);
      }
      if (Object.keys(changes).length === 0) return { row, plan, changed: false };
      if (widensAccess(row, { scopes, domains, ipAllowlist })) requireFreshAuth(principal, 'widen a token’s access');
      await trx.updateTable('tokens').set(next).where('id', '=', id).execute();
      await appendAudit(trx, principal.accountId, {
        action: 'token.updated', actor: principal.actor, target: { type: 'token', id, name: next.name ?? row.name },
        details: { changes }, meta: principal.meta,
      }, now);
      return { row: { ...row, ...next }, plan, changed: true };
    });
    if (result.changed) verifier.invalidate(result.row.hash);
    return this.view(result.row, result.plan);
  }
}
