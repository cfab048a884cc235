import type { Clock } from '../../core/clock.js';
import { iso } from '../../core/clock.js';
import { MCP_SCOPES } from '../../core/catalog.js';
import { notFound } from '../../core/errors.js';
import { REFRESH_WORD, mintSecret } from '../../core/token-format.js';
import type { Db, Trx } from '../../store/database.js';
import { findGrant, grantsOf, insertRefreshToken, lastUsesOfGrants, linkAccessToken, type GrantRecord } from '../../store/oauth.js';
import { transact } from '../../store/transactions.js';
import { lastToolsOf } from '../../store/access-logs.js';
import { countLive, lockAccount, tokenById } from '../../store/tokens.js';
import { refuse, type Refusal } from '../../core/oauth/outcome.js';
import type { AuditLog } from '../audit.js';
import type { Actor, Principal } from '../context.js';
import { issueToken } from '../tokens/issue.js';
import { revokeSubtree } from '../tokens/tree.js';
import { liveGrantsOfConnection, principalFor, revokeGrantWhole } from './grant-revocation.js';
import type { Verifier } from '../verifier.js';

export { AUTHORIZATION_SERVER } from './grant-revocation.js';

/** An access token lives about an hour; the grant's refresh token brings the next. */
export const ACCESS_TOKEN_LIFETIME_MS = 3600_000;

export interface IssuedPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

export interface GrantDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  verifier: Verifier;
  tokenPrefix: string;
  /** LATCHKEY_MAX_TOKENS_PER_ACCOUNT: an access token issued here is a live token of the account like any other. */
  maxLivePerAccount: number;
}

/** A connection as the connected-agents page lists it. */
export interface ConnectedAgentView {
  id: string;
  client: { id: string; name: string; verified: boolean; host: string | null };
  scopes: string[];
  domains: string[] | null;
  connected_at: string;
  connected_by: string;
  expires_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  /** The MCP tool its most recently used token last called. */
  last_tool: string | null;
}

/** Who may see and disconnect a connection: those who may hold tokens, any of the account's; anyone else, their own. */
const mayManage = (principal: Principal, grant: GrantRecord): boolean =>
  grant.account_id === principal.accountId && (principal.managesTokens || grant.user_id === principal.actor.id);

const connectionKey = (grant: GrantRecord): string => `${grant.user_id}\0${grant.client_id}`;

/** Grants by the connection they belong to (one person, one client), each newest first as given. */
function connectionsOf(grants: readonly GrantRecord[]): Map<string, GrantRecord[]> {
  const groups = new Map<string, GrantRecord[]>();
  for (const grant of grants) {
    const key = connectionKey(grant);
    const group = groups.get(key);
    if (group) group.push(grant);
    else groups.set(key, [grant]);
  }
  return groups;
}

/**
 * Grants and everything issued from them: the one place that issues an access token and a refresh
 * token for a grant, and the one place that revokes a grant with every token it issued (a
 * disconnect, a replayed refresh token, a code presented twice).
 */
export class GrantService {
  constructor(private readonly deps: GrantDeps) {}

  /**
   * Inside the caller's transaction, which holds the account's lock, before a code or refresh
   * token is spent: a refusal when the account already holds the most live tokens it may. The
   * bound holds here as for a token made by hand; otherwise refreshing in a loop mints past it,
   * and fills it for everyone else in the account.
   */
  async refusalForLimit(trx: Trx, accountId: string, now: number): Promise<Refusal | null> {
    if ((await countLive(trx, accountId, now)) < this.deps.maxLivePerAccount) return null;
    return refuse('invalid_grant', 'the account holds the most live tokens it may; its owner must revoke some first');
  }

  /**
   * Inside the caller's transaction, which holds the account's lock: a new access token (an
   * ordinary `mcp` token row) and a new refresh token, the successor of `replaces` (null for a code).
   */
  async issuePair(trx: Trx, grant: GrantRecord, meta: Principal['meta'], now: number, replaces: string | null): Promise<IssuedPair> {
    const { audit, tokenPrefix } = this.deps;
    const person: Actor = { type: 'user', id: grant.user_id, name: grant.user_email };
    const expiresAt = Math.min(now + ACCESS_TOKEN_LIFETIME_MS, grant.expires_at);
    const { token, secret } = await issueToken(trx, audit, principalFor(grant, person, meta), {
      type: 'mcp', scopes: grant.scopes, domains: grant.domains, ipAllowlist: null, expiresAt, rateLimit: null,
      name: grant.client_name.slice(0, 100), description: `Connected agent (${grant.id})`, mailboxId: null, ancestry: [], audience: grant.resource,
    }, tokenPrefix, now, { grant_id: grant.id, client_id: grant.client_id });
    await linkAccessToken(trx, token.id, grant.id);
    const refresh = mintSecret(tokenPrefix, REFRESH_WORD);
    await insertRefreshToken(trx, refresh.hash, grant.id, now, replaces);
    return { access_token: secret, token_type: 'Bearer', expires_in: Math.round((expiresAt - now) / 1000), refresh_token: refresh.secret, scope: grant.scopes.join(' ') };
  }

  /** Revokes a grant and every token it issued, inside the caller's transaction (see `revokeGrantWhole`). */
  revokeWhole(trx: Trx, grant: GrantRecord, reason: string, actor: Actor, meta: Principal['meta'], action: string, now: number): Promise<string[]> {
    return revokeGrantWhole(trx, this.deps.audit, grant, reason, actor, meta, action, now);
  }

  forget(hashes: readonly string[]): void {
    if (hashes.length > 0) this.deps.verifier.invalidate(...hashes);
  }

  /** Inside the caller's transaction: one access token of the grant, revoked (RFC 7009 with an access token). */
  async revokeIssued(trx: Trx, grant: GrantRecord, tokenId: string, reason: string, actor: Actor, meta: Principal['meta'], now: number): Promise<string[]> {
    await lockAccount(trx, grant.account_id);
    const row = await tokenById(trx, tokenId);
    if (row.revoked_at !== null) return [];
    return revokeSubtree(trx, this.deps.audit, principalFor(grant, actor, meta), row, reason, now);
  }

  /**
   * The account's live connections this person may see, with their last use. One person's grants
   * to one client are one connection: a step-up (more scopes asked for later) or the same app on a
   * second machine adds a grant, and the person sees, and disconnects, the agent as a whole.
   */
  async connectedAgents(principal: Principal): Promise<ConnectedAgentView[]> {
    const { db, clock } = this.deps;
    const grants = (await grantsOf(db, principal.accountId, clock.now())).filter((grant) => mayManage(principal, grant));
    const uses = await lastUsesOfGrants(db, grants.map((grant) => grant.id));
    const tools = await lastToolsOf(db, [...uses.values()].map((use) => use.tokenId));
    return [...connectionsOf(grants).values()].map((group) => {
      const newest = group[0]!;
      const used = group.map((grant) => uses.get(grant.id)).filter((use) => use !== undefined).sort((a, b) => b.at - a.at)[0];
      const domains = group.some((grant) => grant.domains === null) ? null : [...new Set(group.flatMap((grant) => grant.domains!))];
      return {
        id: newest.id,
        client: { id: newest.client_id, name: newest.client_name, verified: newest.client_verified, host: newest.client_verified ? new URL(newest.client_id).host : null },
        scopes: MCP_SCOPES.filter((scope) => group.some((grant) => grant.scopes.includes(scope))), domains,
        connected_at: iso(Math.min(...group.map((grant) => grant.created_at))), connected_by: newest.user_email,
        expires_at: iso(Math.max(...group.map((grant) => grant.expires_at))),
        last_used_at: used ? iso(used.at) : null, last_used_ip: used?.ip ?? null, last_tool: used ? tools.get(used.tokenId) ?? null : null,
      };
    });
  }

  /** Disconnect: the connection a grant belongs to, each of its grants and their every token, refused from then on, on every node. */
  async disconnect(principal: Principal, grantId: string): Promise<void> {
    const { db, clock } = this.deps;
    const hashes = await transact(db, async (trx) => {
      const grant = await findGrant(trx, grantId);
      if (grant === undefined || !mayManage(principal, grant) || grant.revoked_at !== null) throw notFound('connected agent');
      await lockAccount(trx, grant.account_id);
      const now = clock.now();
      const hashes: string[] = [];
      for (const each of await liveGrantsOfConnection(trx, grant)) hashes.push(...(await this.revokeWhole(trx, each, 'disconnected', principal.actor, principal.meta, 'oauth.grant_disconnected', now)));
      return hashes;
    });
    this.forget(hashes);
  }
}
