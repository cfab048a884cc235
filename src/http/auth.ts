import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../core/errors.js';
import type { TokenGrant } from '../core/policy.js';
import { hashSecret, recognise } from '../core/token-format.js';
import type { TokenType } from '../core/token-format.js';
import { AccountService, type SessionCaller } from '../services/accounts.js';
import { hooksOf } from './route-hooks.js';
import type { Principal, RequestMeta } from '../services/context.js';
import { SEES_EVERYTHING } from '../services/context.js';
import type { GateResult, TokenGate } from '../services/token-gate.js';
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
  | { kind: 'session'; oneTimePassword?: 'allowed' }
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
  let carriesToken = QUERY_CREDENTIAL_NAMES.test(query);
  // A name as well as a value: `?lk_live_…` is a parameter named by the secret, with no value.
  for (const [name, value] of new URLSearchParams(query)) {
    if (carriesToken) break;
    carriesToken = recognise(prefix, name) !== null || recognise(prefix, value) !== null;
  }
  if (carriesToken) {
    throw new ApiError('invalid_request', 'credentials are not accepted in the query string; use the Authorization header', {
      field: 'query',
    });
  }
}

/** How a route establishes its caller: synchronously when it can, a promise when it must wait. */
type Authenticate = (request: FastifyRequest) => void | Promise<void>;

/**
 * Runs an authenticator as a callback-style hook, so that a request answered from memory (a
 * cached token, the operator) goes on to its handler in the same turn.
 */
function asHook(authenticate: Authenticate): onRequestHookHandler {
  return (request, _reply, done) => {
    let pending: void | Promise<void>;
    try {
      pending = authenticate(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending === undefined) done();
    else pending.then(() => done(), done);
  };
}

function admitToken(request: FastifyRequest, { grant, denial }: GateResult): void {
  request.presentedToken = grant;
  if (denial !== null) throw new ApiError(denial.code, denial.message, denial.details);
  request.caller = { kind: 'token', grant: grant! };
}

export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  const { config, gate, accounts } = deps;
  const operatorHash = Buffer.from(deps.operatorTokenHash);
  app.decorateRequest('caller', null);

  const operator: Authenticate = (request) => {
    const header = request.headers.authorization;
    const presented = Buffer.from(hashSecret(header === undefined ? '' : bearerOf(header)));
    if (header === undefined || presented.length !== operatorHash.length || !timingSafeEqual(presented, operatorHash)) {
      throw unauthorized('the operator token is required');
    }
    request.caller = { kind: 'operator' };
  };

  const session = async (request: FastifyRequest, rule: AuthRule): Promise<void> => {
    const cookie = request.cookies[SESSION_COOKIE];
    const found = cookie ? await accounts.resolveSession(cookie) : null;
    if (found === null) throw unauthorized();
    if (!SAFE_METHODS.has(request.method)) {
      const csrf = request.headers[CSRF_HEADER];
      if (!AccountService.csrfMatches(found, typeof csrf === 'string' ? csrf : undefined)) {
        throw new ApiError('forbidden', 'missing or invalid X-CSRF-Token header', { header: 'X-CSRF-Token' });
      }
    }
    if (found.user.password_change_required && !(rule.kind === 'session' && rule.oneTimePassword === 'allowed')) {
      throw new ApiError('forbidden', 'this session signed in with a one-time password: choose your own first (POST /v1/auth/password)', {
        reason: 'password_change_required',
      });
    }
    if (rule.kind === 'account' && rule.manage && !config.tokenManagers.includes(found.user.role as 'owner' | 'admin')) {
      throw new ApiError('forbidden', `only ${config.tokenManagers.join(' and ')} users may manage tokens`, { role: found.user.role });
    }
    request.caller = { kind: 'session', session: found };
  };

  const authenticatorFor = (rule: AuthRule): Authenticate | null => {
    switch (rule.kind) {
      case 'public':
        return null;
      case 'operator':
        return operator;
      case 'session':
        return (request) => {
          if (request.headers.authorization !== undefined) throw unauthorized('this endpoint needs a signed-in session');
          return session(request, rule);
        };
      case 'account':
        return (request) => {
          const header = request.headers.authorization;
          if (header === undefined) return session(request, rule);
          const result = gate.check(bearerOf(header), { scope: rule.scope, ip: request.ip, audience: null });
          return result instanceof Promise ? result.then((settled) => admitToken(request, settled)) : admitToken(request, result);
        };
    }
  };

  // Each route gets the hook its rule needs when it is registered, so that no request looks its
  // rule up and public routes run no authentication at all.
  app.addHook('onRoute', (route) => {
    const needsRule = /^\/(v1|admin)\//.test(route.url) && !route.url.startsWith('/v1/auth/login');
    if (needsRule && !route.config?.auth) throw new Error(`route ${route.method} ${route.url} declares no auth rule`);
    const authenticate = authenticatorFor(route.config?.auth ?? { kind: 'public' });
    if (authenticate !== null) route.onRequest = [asHook(authenticate), ...hooksOf(route.onRequest)];
  });

  // Every request, routed or not: its id is answered, and a credential in the URL is refused before anything else.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    try {
      rejectCredentialInQuery(request, config.tokenPrefix);
      done();
    } catch (error) {
      done(error as Error);
    }
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
    const rule = request.routeOptions.config.auth;
    return {
      accountId: grant.accountId,
      actor: { type: 'token', id: grant.id, name: grant.name },
      visibility: { domains: grant.domains, mailboxId: grant.mailboxId },
      grant,
      requiredScope: rule?.kind === 'account' ? rule.scope[grant.type] ?? null : null,
      freshAuth: true,
      managesTokens: true,
      role: null,
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
      requiredScope: null,
      freshAuth: clock.now() - session.reauthAt <= config.reauthWindowSeconds * 1000,
      managesTokens: config.tokenManagers.includes(session.user.role as 'owner' | 'admin'),
      role: session.user.role,
      meta,
    };
  }
  throw new ApiError('unauthorized', 'a valid token or session is required');
}

export function sessionOf(request: FastifyRequest): SessionCaller {
  if (request.caller?.kind !== 'session') throw new ApiError('unauthorized', 'this endpoint needs a signed-in session');
  return request.caller.session;
}
