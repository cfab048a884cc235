import { MCP_SCOPES, PLANS, type PlanName } from '../../core/catalog.js';
import { iso, type Clock } from '../../core/clock.js';
import { ApiError, forbidden } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { refuse, type Refusal } from '../../core/oauth/outcome.js';
import { checkChallenge } from '../../core/oauth/pkce.js';
import { checkRedirectUri, chooseRedirectUri } from '../../core/oauth/redirect-uri.js';
import { canonicalResource } from '../../core/oauth/resource.js';
import { normaliseScopes, planAllows, scopeInfo } from '../../core/scopes.js';
import { CODE_WORD, mintSecret } from '../../core/token-format.js';
import { parseDuration } from '../../core/duration.js';
import { planOf } from '../../store/accounts.js';
import type { Db, Trx } from '../../store/database.js';
import { liveDomainIds } from '../../store/domains.js';
import { accountKnowsClient, clientEverAllowed, findClient, insertCode, insertGrant, markClientUsed } from '../../store/oauth.js';
import { transact } from '../../store/transactions.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import { resolveDomains } from '../tokens/token-input.js';
import type { ClientDirectory, OAuthClient } from './clients.js';
import { AUTHORIZATION_SERVER } from './grants.js';

/** The query of an authorization request, as the client sent it. */
export interface AuthorizationParams {
  response_type?: string;
  client_id?: string;
  redirect_uri?: string;
  state?: string;
  scope?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  resource?: string;
}

/** A request good enough to put before a person. */
export interface CheckedRequest {
  client: OAuthClient;
  redirectUri: string;
  state: string | undefined;
  scopes: string[];
  challenge: string;
  resource: string;
}

/**
 * How a request failed: `unsafe` when the client or its redirect URI cannot be trusted (shown to
 * the person, never redirected), else an error to send back to the redirect URI.
 */
export type RequestFailure =
  | { kind: 'unsafe'; refusal: Refusal }
  | { kind: 'redirect'; refusal: Refusal; redirectUri: string; state: string | undefined };

/** How long a person may let a connection last, and the choice offered first. */
export const CONNECTION_LIFETIMES = ['1d', '7d', '30d', '90d'] as const;
export type ConnectionLifetime = (typeof CONNECTION_LIFETIMES)[number];
const DEFAULT_LIFETIME: ConnectionLifetime = '30d';
export const CODE_LIFETIME_MS = 60_000;
const MAX_STATE = 1024;

export interface ConsentDecision {
  allow: boolean;
  /** A subset of what was asked; absent: all of it that the plan allows. */
  scopes?: string[];
  /** Domain ids; null or absent: every domain. */
  domains?: string[] | null;
  lifetime?: ConnectionLifetime;
}

export interface AuthorizationDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  clients: ClientDirectory;
  tokenPrefix: string;
  membersMayConnect: boolean;
  /** LATCHKEY_MAX_TOKEN_LIFETIME: no connection (its refresh token) lasts longer than a token may. */
  maxLifetimeSeconds: number | null;
}

/** The scopes of a request the plan allows, in the catalog's order. */
const offeredOn = (plan: PlanName, scopes: readonly string[]): string[] => scopes.filter((scope) => planAllows(plan, scopeInfo('mcp', scope)!));

/** Where the answer goes, as the consent page shows it: the host (an app's scheme when it has none), and whether it stays on this machine. */
function redirectShown(uri: string): { uri: string; host: string; loopback: boolean } {
  const url = new URL(uri);
  const checked = checkRedirectUri(uri);
  return { uri, host: url.host || url.protocol, loopback: checked.ok && checked.kind === 'loopback' };
}

/** A URL with the answer's parameters added to the redirect URI's own query. */
export function answerUrl(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

/**
 * The authorization endpoint's decisions: whether a request may be shown to a person, what the
 * consent page shows, and what Allow or Deny sends back. Allowing creates the grant and a code
 * bound to it; nothing is issued until the code is exchanged.
 */
export class AuthorizationService {
  constructor(private readonly deps: AuthorizationDeps) {}

  async check(params: AuthorizationParams, canonicalMcpUrl: string, ip: string): Promise<{ ok: true; request: CheckedRequest } | { ok: false; failure: RequestFailure }> {
    const unsafe = (refusal: Refusal) => ({ ok: false as const, failure: { kind: 'unsafe' as const, refusal } });
    const resolved = await this.deps.clients.resolve(params.client_id, ip);
    if (!resolved.ok) return unsafe(resolved);
    const { client } = resolved;
    const chosen = chooseRedirectUri(client.redirectUris, params.redirect_uri);
    if (!chosen.ok) return unsafe(chosen);
    if (params.state !== undefined && params.state.length > MAX_STATE) return unsafe(refuse('invalid_request', `state must be at most ${MAX_STATE} characters`));
    // An error goes back to the client only once a person has allowed it somewhere: a client
    // anyone registered or published a minute ago would make this host an open redirect.
    const trusted = await clientEverAllowed(this.deps.db, client.id);
    const back = (refusal: Refusal) => (trusted
      ? { ok: false as const, failure: { kind: 'redirect' as const, refusal, redirectUri: chosen.uri, state: params.state } }
      : unsafe(refusal));
    if (params.response_type !== 'code') return back(refuse('unsupported_response_type', 'response_type must be code'));
    const pkce = checkChallenge(params.code_challenge, params.code_challenge_method);
    if (!pkce.ok) return back(pkce);
    if (params.resource === undefined || params.resource === '') return back(refuse('invalid_target', `resource is required: this server's MCP endpoint, ${canonicalMcpUrl}`));
    const resource = canonicalResource(params.resource, canonicalMcpUrl);
    if (!resource.ok) return back(resource);
    const asked = (params.scope ?? 'mcp:read').split(' ').filter(Boolean);
    if (asked.length === 0 || asked.some((scope) => !MCP_SCOPES.includes(scope))) {
      return back(refuse('invalid_scope', `scope may hold only ${MCP_SCOPES.join(', ')}`));
    }
    const scopes = MCP_SCOPES.filter((scope) => asked.includes(scope));
    return { ok: true, request: { client, redirectUri: chosen.uri, state: params.state, scopes, challenge: pkce.challenge, resource: resource.resource } };
  }

  /** What the consent page shows this person: the request, and what they may allow of it. */
  async describe(principal: Principal, request: CheckedRequest) {
    const plan = await planOf(this.deps.db, principal.accountId);
    return {
      client: { id: request.client.id, name: request.client.name, verified: request.client.verified, host: request.client.host },
      redirect: redirectShown(request.redirectUri),
      resource: request.resource,
      scopes: request.scopes,
      offered_scopes: offeredOn(plan, request.scopes),
      lifetimes: this.lifetimesOffered(),
      default_lifetime: this.lifetimesOffered().includes(DEFAULT_LIFETIME) ? DEFAULT_LIFETIME : this.lifetimesOffered().at(-1)!,
      refusal: this.refusalFor(principal, plan, request),
      reauth_required: !principal.freshAuth,
    };
  }

  /** The lifetimes no longer than LATCHKEY_MAX_TOKEN_LIFETIME (the shortest at least: a longer choice is cut to the maximum). */
  private lifetimesOffered(): ConnectionLifetime[] {
    const max = this.deps.maxLifetimeSeconds;
    const within = CONNECTION_LIFETIMES.filter((lifetime) => max === null || parseDuration(lifetime)! <= max);
    return within.length > 0 ? within : [CONNECTION_LIFETIMES[0]];
  }

  /** Why this person cannot allow this request at all, or null. */
  private refusalFor(principal: Principal, plan: PlanName, request: CheckedRequest): { code: string; message: string } | null {
    if (!principal.managesTokens && !this.deps.membersMayConnect) return { code: 'forbidden', message: 'your role cannot connect AI agents on this account; ask an owner' };
    if (!PLANS[plan].apiAccess) return { code: 'plan_restricted', message: `the ${plan} plan has no API access, so no agent can be connected` };
    if (offeredOn(plan, request.scopes).length === 0) return { code: 'plan_restricted', message: `the ${plan} plan offers none of the access this agent asks for` };
    return null;
  }

  /** Allow or Deny: the URL to send the browser to. Refusals the person must see are thrown as API errors. */
  async decide(principal: Principal, request: CheckedRequest, decision: ConsentDecision, issuer: string): Promise<string> {
    const { db, clock, audit, tokenPrefix } = this.deps;
    const { client } = request;
    const target = { type: 'oauth_client', id: client.id, name: client.name };
    if (!decision.allow) {
      await transact(db, (trx) => audit.append(trx, principal.accountId, {
        action: 'oauth.authorization_denied', actor: principal.actor, target, details: { scopes: request.scopes }, meta: principal.meta,
      }, clock.now()));
      return answerUrl(request.redirectUri, { error: 'access_denied', error_description: 'the person denied the request', state: request.state, iss: issuer });
    }
    if (!principal.freshAuth) throw new ApiError('reauth_required', 'confirm your password to connect an agent', { reauth: true });
    const plan = await planOf(db, principal.accountId);
    const refusal = this.refusalFor(principal, plan, request);
    if (refusal !== null) throw refusal.code === 'plan_restricted' ? new ApiError('plan_restricted', refusal.message, { plan }) : forbidden(refusal.message);
    const chosen = decision.scopes ?? offeredOn(plan, request.scopes);
    const beyond = chosen.find((scope) => !request.scopes.includes(scope));
    if (beyond !== undefined) throw new ApiError('invalid_request', `${beyond} was not asked for: access can only be narrowed here`, { field: 'scopes', scope: beyond });
    const scopes = normaliseScopes('mcp', chosen, plan);
    const lifetime = decision.lifetime ?? DEFAULT_LIFETIME;
    if (!(CONNECTION_LIFETIMES as readonly string[]).includes(lifetime)) throw new ApiError('invalid_request', `lifetime must be one of ${CONNECTION_LIFETIMES.join(', ')}`, { field: 'lifetime' });
    const code = mintSecret(tokenPrefix, CODE_WORD);
    const grantId = newId('grt');
    await transact(db, async (trx) => {
      const now = clock.now();
      const domains = resolveDomains(decision.domains, await liveDomainIds(trx, principal.accountId), null);
      if (!(await accountKnowsClient(trx, principal.accountId, client.id))) await this.recordClient(trx, principal, client, now);
      await insertGrant(trx, {
        id: grantId, account_id: principal.accountId, user_id: principal.actor.id!, user_email: principal.actor.name, client_id: client.id,
        client_name: client.name, client_verified: client.verified, redirect_uri: request.redirectUri, resource: request.resource, scopes, domains,
        created_at: now, expires_at: now + Math.min(parseDuration(lifetime)!, this.deps.maxLifetimeSeconds ?? Infinity) * 1000, revoked_at: null, revoke_reason: null,
      });
      await insertCode(trx, { hash: code.hash, grant_id: grantId, code_challenge: request.challenge, expires_at: now + CODE_LIFETIME_MS });
      if (!client.verified) await markClientUsed(trx, client.id, now);
      await audit.append(trx, principal.accountId, {
        action: 'oauth.authorization_allowed', actor: principal.actor, target,
        details: { grant_id: grantId, verified: client.verified, redirect_uri: request.redirectUri, scopes, domains, lifetime }, meta: principal.meta,
      }, now);
    });
    return answerUrl(request.redirectUri, { code: code.secret, state: request.state, iss: issuer });
  }

  /**
   * A client's first connection in an account puts the client in the account's audit chain: a
   * registration belongs to no account when it is made, so this is where the account learns
   * when and from which address it was registered, or which document vouches for it.
   */
  private async recordClient(trx: Trx, principal: Principal, client: OAuthClient, now: number): Promise<void> {
    const registration = client.verified ? undefined : await findClient(trx, client.id);
    const details = registration === undefined
      ? { metadata_document: client.id, host: client.host }
      : { registered_at: iso(registration.created_at), registered_ip: registration.created_ip, redirect_uris: registration.redirect_uris };
    await this.deps.audit.append(trx, principal.accountId, {
      action: 'oauth.client_registered', actor: AUTHORIZATION_SERVER, target: { type: 'oauth_client', id: client.id, name: client.name }, details, meta: principal.meta,
    }, now);
  }
}
