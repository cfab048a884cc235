import { sql } from 'kysely';
import { firstWidening } from '../../core/access.js';
import { ancestryUnder, sees, type Manager } from '../../core/authority.js';
import { PLANS, type PlanName } from '../../core/catalog.js';
import { iso, type Clock } from '../../core/clock.js';
import { ApiError } from '../../core/errors.js';
import { normaliseScopes } from '../../core/scopes.js';
import type { TokenType } from '../../core/token-format.js';
import type { Db } from '../../store/database.js';
import type { TokensTable } from '../../store/schema.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import type { UsageRecorder } from '../usage.js';
import type { Verifier } from '../verifier.js';
import type { TokenManagement } from './management.js';
import { accessOf, accessOfSpec, placeOf, specOf, type AccessSpec } from './token-access.js';
import {
  defaultExpiry, parseExpiry, requireFreshAuth, resolveAllowlist, resolveDomains, resolveRateLimit, storedRateLimit, type RateLimitInput,
} from './token-input.js';
import { insertToken, liveDomainIds, subtreeHashes, visibleTo, type Trx } from './token-store.js';
import { toTokenView, type TokenView } from './token-view.js';
import { narrowSubtree } from './tree.js';

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
  audit: AuditLog;
  management: TokenManagement;
  tokenPrefix: string;
  allowScopeEdits: boolean;
  maxLifetimeSeconds: number | null;
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
const RENAME_FIELDS: ReadonlySet<string> = new Set(['name', 'description']);
const json = (value: unknown): string => JSON.stringify(value);
const isoOf = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  view(row: TokensTable, plan: PlanName, viewer?: Manager): TokenView {
    return toTokenView(this.deps.usage.overlay(row), plan, this.deps.clock.now(), viewer);
  }

  async create(principal: Principal, input: CreateTokenInput): Promise<{ token: TokenView; secret: string }> {
    requireFreshAuth(principal, 'create a token');
    const type = input.type ?? 'api';
    if (type === 'message') {
      throw new ApiError('invalid_request', 'message tokens are minted for a mailbox: POST /v1/mailboxes/{id}/message-tokens', { field: 'type' });
    }
    const { db, management, audit, tokenPrefix, maxLifetimeSeconds } = this.deps;
    const { row, secret, plan } = await db.transaction().execute(async (trx) => {
      const acting = await management.beginMint(trx, principal);
      const { plan, now } = acting;
      if (!PLANS[plan].apiAccess) throw new ApiError('plan_restricted', `the ${plan} plan has no API access`, { plan });
      const own = acting.row ? specOf(acting.row) : null;
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
      const ancestry = ancestryUnder(acting.manager);
      await management.checkMint(trx, principal, acting, accessOfSpec(spec), ancestry);
      const minted = await insertToken(trx, audit, principal, {
        ...spec, name: input.name, description: input.description ?? '', mailboxId: null, ancestry,
      }, tokenPrefix, now);
      return { ...minted, plan };
    });
    return { token: this.view(row, plan), secret };
  }

  async get(principal: Principal, id: string): Promise<TokenView> {
    const { token, plan, manager } = await this.deps.management.open(this.deps.db, principal, id, 'read');
    return this.view(token, plan, manager);
  }

  async list(principal: Principal, filter: ListTokensFilter): Promise<{ data: TokenView[]; next_cursor: string | null }> {
    const { db, clock, management } = this.deps;
    const now = clock.now();
    const { manager, plan } = await management.reader(db, principal, now);
    let query = db.selectFrom('tokens').selectAll().where('account_id', '=', principal.accountId).where('deleted_at', 'is', null).where(visibleTo(manager));
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
    switch (filter.status) {
      case 'revoked': query = query.where('revoked_at', 'is not', null); break;
      case 'expired': query = query.where('revoked_at', 'is', null).where('expires_at', '<=', now); break;
      case 'paused': query = query.where('revoked_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).where('paused_at', 'is not', null); break;
      case 'active': query = query.where('revoked_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])).where('paused_at', 'is', null); break;
    }
    // The query already keeps to what the manager sees; the rule has the last word on every row.
    const page: TokensTable[] = [];
    let cursor = filter.cursor;
    let exhausted = false;
    while (page.length <= filter.limit && !exhausted) {
      const batchSize = filter.limit + 1;
      const batch = await (cursor ? query.where('id', '<', cursor) : query).orderBy('id', 'desc').limit(batchSize).execute();
      exhausted = batch.length < batchSize;
      for (const row of batch) if (sees(manager, { place: placeOf(row), access: accessOf(row) })) page.push(row);
      cursor = batch[batch.length - 1]?.id;
    }
    const data = page.slice(0, filter.limit);
    return { data: data.map((row) => this.view(row, plan, manager)), next_cursor: page.length > filter.limit ? data[data.length - 1]!.id : null };
  }

  async update(principal: Principal, id: string, input: UpdateTokenInput): Promise<TokenView> {
    const { db, verifier, management, audit, maxLifetimeSeconds } = this.deps;
    const action = Object.keys(input).every((field) => RENAME_FIELDS.has(field)) ? 'rename' : 'edit';
    const result = await db.transaction().execute(async (trx) => {
      const opened = await management.open(trx, principal, id, action);
      const { token: row, plan, now } = opened;
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const next: Partial<TokensTable> = {};
      const note = <K extends keyof TokensTable>(field: K, from: unknown, to: unknown, stored: TokensTable[K]) => {
        if (json(from) === json(to)) return;
        changes[field] = { from, to };
        next[field] = stored;
      };
      if (input.name !== undefined) note('name', row.name, input.name, input.name);
      if (input.description !== undefined) note('description', row.description, input.description, input.description);
      if (action === 'edit') {
        const before = specOf(row);
        const after = await this.editedSpec(trx, principal, opened, input, now);
        note('scopes', before.scopes, after.scopes, json(after.scopes));
        note('domains', before.domains, after.domains, after.domains === null ? null : json(after.domains));
        note('ip_allowlist', before.ipAllowlist, after.ipAllowlist, after.ipAllowlist === null ? null : json(after.ipAllowlist));
        note('rate_limit', before.rateLimit && JSON.parse(before.rateLimit), after.rateLimit && JSON.parse(after.rateLimit), after.rateLimit);
        note('expires_at', isoOf(before.expiresAt), isoOf(after.expiresAt), after.expiresAt);
        if (Object.keys(changes).some((field) => !RENAME_FIELDS.has(field))) {
          await management.checkOutcome(trx, principal, opened, 'edit', accessOfSpec(after));
        }
      }
      if (Object.keys(changes).length === 0) return { row, plan, manager: opened.manager, hashes: [] as string[] };
      await trx.updateTable('tokens').set(next).where('id', '=', id).execute();
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
      return { row: updated, plan, manager: opened.manager, hashes: [...new Set([row.hash, ...below, ...counting])] };
    });
    if (result.hashes.length) verifier.invalidate(...result.hashes);
    return this.view(result.row, result.plan, result.manager);
  }

  /** The token's access as the edit asks for it; fields not in the request keep their value. */
  private async editedSpec(trx: Trx, principal: Principal, opened: Awaited<ReturnType<TokenManagement['open']>>, input: UpdateTokenInput, now: number): Promise<AccessSpec> {
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
    const expiry = parseExpiry(input, now, this.deps.maxLifetimeSeconds);
    if (expiry !== undefined) expiresAt = expiry;
    return { type, scopes, domains, ipAllowlist, expiresAt, rateLimit };
  }
}
