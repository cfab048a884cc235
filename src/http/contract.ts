import type { FastifyInstance, RouteOptions } from 'fastify';
import type { AuthRule } from './auth.js';

/**
 * What every operation in the OpenAPI document says that its route already declares elsewhere:
 * its security comes from its auth rule, the errors it can answer from that rule, its method and
 * its path, and its operationId from its method and path. Routes declare only what is theirs (a
 * summary, params, bodies, success responses); this fills in the rest when they are registered,
 * so the document cannot disagree with how the route is guarded.
 */
export function installContract(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return;
    const schema = route.schema as Record<string, unknown> & { response?: Record<string, unknown> };
    const method = String(Array.isArray(route.method) ? route.method[0] : route.method);
    schema.operationId ??= operationIdOf(method, route.url);
    const rule = route.config?.auth ?? { kind: 'public' };
    schema.security = SECURITY[rule.kind];
    schema.response = { ...errorsOf(rule, method, route), ...(schema.response ?? {}) };
  });
}

const SECURITY: Record<AuthRule['kind'], Record<string, string[]>[]> = {
  public: [],
  operator: [{ operator: [] }],
  session: [{ session: [], csrf: [] }],
  account: [{ bearer: [] }, { session: [], csrf: [] }],
};

/** `POST /v1/tokens/:id/rotate` → `postTokensByIdRotate`: unique, as method and path are. */
function operationIdOf(method: string, url: string): string {
  const words = url.split('/').filter((part) => part && part !== 'v1').map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part));
  return [method.toLowerCase(), ...words.flatMap((word) => word.split(/[-_.]/))]
    .map((word, i) => (i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

const error = (description: string) => ({ description, $ref: 'Error#' });

/** Routes that check a password: a wrong one is a 401 whatever guards the route. */
const SIGN_IN = new Set(['/v1/auth/login', '/v1/auth/reauth', '/v1/auth/password']);

/** The errors a route can answer, from how it is guarded and what it takes. */
function errorsOf(rule: AuthRule, method: string, route: RouteOptions): Record<string, unknown> {
  const errors: Record<string, unknown> = { 400: error('invalid_request: a parameter, query or body the route does not accept') };
  if (rule.kind !== 'public' || SIGN_IN.has(route.url)) errors[401] = error('unauthorized: no credential, a wrong one, or a token revoked, expired or paused');
  if (rule.kind !== 'public') errors[403] = error('the caller may not do this (a scope, a role, the plan, an address, a fresh password check)');
  if (route.url.includes(':') || rule.kind === 'account') errors[404] = error('not_found: absent, or not visible to the caller');
  if (method !== 'GET' && method !== 'HEAD' && rule.kind !== 'public') errors[409] = error('conflict: the state does not accept this, or a name is taken');
  if (rule.kind === 'account' || SIGN_IN.has(route.url)) errors[429] = error('rate_limited: see Retry-After');
  errors[500] = error('internal: the server failed; the body names no cause, the request id finds it in the log');
  return errors;
}

/**
 * A body the route accepts as absent (an action's optional options) is not required of the caller;
 * the document generator marks every body required, so this says otherwise where the schema does.
 */
export function optionalBodiesOf<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> } }>> }).paths ?? {};
  for (const operation of Object.values(paths).flatMap((item) => Object.values(item))) {
    const body = operation.requestBody;
    if (body?.content && Object.values(body.content).every((media) => media.schema?.nullable === true)) body.required = false;
  }
  return document;
}
