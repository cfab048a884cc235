import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../core/errors.js';
import type { TokenGrant } from '../core/policy.js';
import { hashSecret, recognise } from '../core/token-format.js';
import type { TokenType } from '../core/token-format.js';
import { AccountService, type SessionCaller } from '../services/accounts.js';
import type { Principal, RequestMeta } from '../services/context.js';
import { SEES_EVERYTHING } from '../services/context.js';
import type { TokenGate } from '../services/token-gate.js';
import type { Clock } from '../core/clock.js';
import type {} from '@fastify/cookie';

/** The scope a route needs from each token type; a type that is absent may not use the route. */
export type ScopeByType = Partial<Record<TokenType, string | null>>;

/**
 * Every route states who may call it. `account`: a token with the scope for its type, or a
 * signed-in user (for `manage`, one whose role may manage tokens).
 */
export type AuthRule =
  | { kind: 'public' }
  | { kind: 'operator' }
  | { kind: 'session' }
  | { kind: 'account'; scope: ScopeByType; manage?: boolean };

export type Caller =
  | { kind: 'token'; grant: TokenGrant }
  | { kind: 'session'; session: SessionCaller }
  | { kind: 'operator' };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRule;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export const SESSION_COOKIE = 'latchkey_session';
export const CSRF_HEADER = 'x-csrf-token';
const MAX_AUTHORIZATION_LENGTH = 512;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const QUERY_CREDENTIAL_NAMES = /(^|[?&])(token|access_token|api_key|apikey|key|secret)=/i;

export interface AuthDeps {
  config: Config;
  gate: TokenGate;
  accounts: AccountService;
  operatorTokenHash: string;
}

const unauthorized = (message = 'a valid token or session is required') => new ApiError('unauthorized', message);

function bearerOf(header: string): string {
  if (header.length > MAX_AUTHORIZATION_LENGTH) throw unauthorized('the Authorization header is too long');
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') {
    throw unauthorized('use Authorization: Bearer <token>');
  }
  return header.slice(space + 1).trim();
}

/** Credentials in URLs end up in proxy logs and browser history; refuse them outright. */
function rejectCredentialInQuery(request: FastifyRequest, prefix: string): void {
  const q = request.url.indexOf('?');
  if (q < 0) return;
  const query = request.url.slice(q);
  const values = new URLSearchParams(query).values();
  let carriesToken = QUERY_CREDENTIAL_NAMES.test(query);
  for (const value of values) if (!carriesToken && recognise(prefix, value) !== null) carriesToken = true;
  if (carriesToken) {
    throw new ApiError('invalid_request', 'credentials are not accepted in the query string; use the Authorization header', {
      field: 'query',
    });
  }
}

export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  const { config, gate, accounts } = deps;
  const operatorHash = Buffer.from(deps.operatorTokenHash);
  app.decorateRequest('caller', null);

  app.addHook('onRoute', (route) => {
    const needsRule = /^\/(v1|admin)\//.test(route.url) && !route.url.startsWith('/v1/auth/login');
    if (needsRule && !route.config?.auth) throw new Error(`route ${route.method} ${route.url} declares no auth rule`);
  });

  app.addHook('onRequest', async (request) => {
    rejectCredentialInQuery(request, config.tokenPrefix);
    const rule = request.routeOptions.config.auth ?? { kind: 'public' };
    if (rule.kind === 'public') return;
    const header = request.headers.authorization;

    if (rule.kind === 'operator') {
      const presented = Buffer.from(hashSecret(header === undefined ? '' : bearerOf(header)));
      if (header === undefined || presented.length !== operatorHash.length || !timingSafeEqual(presented, operatorHash)) {
        throw unauthorized('the operator token is required');
      }
      request.caller = { kind: 'operator' };
      return;
    }

    if (header !== undefined) {
      if (rule.kind === 'session') throw unauthorized('this endpoint needs a signed-in session');
      const { grant, denial } = await gate.check(bearerOf(header), { scope: rule.scope, ip: request.ip });
      request.presentedToken = grant;
      if (denial !== null) throw new ApiError(denial.code, denial.message, denial.details);
      request.caller = { kind: 'token', grant: grant! };
      return;
    }

    const cookie = request.cookies[SESSION_COOKIE];
    const session = cookie ? await accounts.resolveSession(cookie) : null;
    if (session === null) throw unauthorized();
    if (!SAFE_METHODS.has(request.method)) {
      const csrf = request.headers[CSRF_HEADER];
      if (!AccountService.csrfMatches(session, typeof csrf === 'string' ? csrf : undefined)) {
        throw new ApiError('forbidden', 'missing or invalid X-CSRF-Token header', { header: 'X-CSRF-Token' });
      }
    }
    if (rule.kind === 'account' && rule.manage && !config.tokenManagers.includes(session.user.role as 'owner' | 'admin')) {
      throw new ApiError('forbidden', `only ${config.tokenManagers.join(' and ')} users may manage tokens`, { role: session.user.role });
    }
    request.caller = { kind: 'session', session };
  });
}

export const requestMeta = (request: FastifyRequest): RequestMeta => ({
  ip: request.ip,
  userAgent: String(request.headers['user-agent'] ?? '').slice(0, 512),
});

/** What services need to know about the caller. */
export function principalOf(request: FastifyRequest, config: Config, clock: Clock): Principal {
  const caller = request.caller;
  const meta = requestMeta(request);
  if (caller?.kind === 'token') {
    const { grant } = caller;
    return {
      accountId: grant.accountId,
      actor: { type: 'token', id: grant.id, name: grant.name },
      visibility: { domains: grant.domains, mailboxId: grant.mailboxId },
      grant,
      freshAuth: true,
      meta,
    };
  }
  if (caller?.kind === 'session') {
    const { session } = caller;
    return {
      accountId: session.account.id,
      actor: { type: 'user', id: session.user.id, name: session.user.email },
      visibility: SEES_EVERYTHING,
      grant: null,
      freshAuth: clock.now() - session.reauthAt <= config.reauthWindowSeconds * 1000,
      meta,
    };
  }
  throw new ApiError('unauthorized', 'a valid token or session is required');
}

export function sessionOf(request: FastifyRequest): SessionCaller {
  if (request.caller?.kind !== 'session') throw new ApiError('unauthorized', 'this endpoint needs a signed-in session');
  return request.caller.session;
}
