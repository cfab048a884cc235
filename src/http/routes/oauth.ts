import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors.js';
import type { Refusal } from '../../core/oauth/outcome.js';
import { CHALLENGE_METHOD } from '../../core/oauth/pkce.js';
import { MCP_SCOPES } from '../../core/catalog.js';
import { answerUrl, type AuthorizationParams } from '../../services/oauth/authorize.js';
import type { RegistrationInput } from '../../services/oauth/clients.js';
import type { TokenForm } from '../../services/oauth/token-endpoint.js';
import { requestMeta } from '../auth.js';
import type { AppContext } from '../context.js';
import { mcpResourceOf, publicBaseOf } from '../public-url.js';

export const AUTHORIZE_PATH = '/oauth/authorize';
export const TOKEN_PATH = '/oauth/token';
export const REGISTER_PATH = '/oauth/register';
export const REVOKE_PATH = '/oauth/revoke';
export const INTROSPECT_PATH = '/oauth/introspect';
/** The dashboard's consent page, which the authorization endpoint sends a person to. */
export const CONSENT_PATH = '/consent';
const MAX_FORM_BYTES = 16 * 1024;

/** A form or query where every parameter appears once (RFC 6749 section 3.1), as strings. */
export function singleParams(params: URLSearchParams): Record<string, string> | null {
  const seen: Record<string, string> = Object.create(null);
  for (const [name, value] of params) {
    if (name in seen) return null;
    seen[name] = value;
  }
  return seen;
}

const queryOf = (request: FastifyRequest): URLSearchParams => new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '');

/**
 * The authorization server's own endpoints, in OAuth's shapes rather than the API's: its metadata
 * (RFC 8414), dynamic registration (RFC 7591), the authorization endpoint (which checks the request
 * and sends the person to the consent page), the token endpoint and revocation (RFC 7009). Every
 * refusal is `{error, error_description}` with fixed text, and nothing here is cached.
 */
export function oauthRoutes(app: FastifyInstance, ctx: AppContext): void {
  const issuerOf = (request: FastifyRequest) => publicBaseOf(request, ctx.config);
  const mcpUrlOf = (request: FastifyRequest) => mcpResourceOf(request, ctx.config);
  const oauthError = (reply: FastifyReply, refusal: Refusal, status = refusal.error === 'invalid_client' ? 401 : 400) => {
    reply.errorCode = 'invalid_request';
    return reply.code(status).header('cache-control', 'no-store').send({ error: refusal.error, error_description: refusal.description });
  };

  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_request, body, done) => {
      done(null, new URLSearchParams(body as string));
    });
    scope.setErrorHandler((error: { statusCode?: number }, request, reply) => {
      const status = error instanceof ApiError ? error.status : error.statusCode ?? 500;
      // Only introspection asks for a credential: the operator's, as a bearer token (RFC 6750).
      if (status === 401) {
        reply.errorCode = 'unauthorized';
        return reply.code(401).header('www-authenticate', 'Bearer realm="latchkey", error="invalid_token"').header('cache-control', 'no-store')
          .send({ error: 'invalid_token', error_description: 'the operator credential is required, as Authorization: Bearer' });
      }
      if (status >= 500) {
        request.log.error({ err: error }, 'unhandled error');
        reply.errorCode = 'internal_error';
        return reply.code(500).send({ error: 'server_error', error_description: 'the server failed; it has been logged' });
      }
      return oauthError(reply, { ok: false, error: 'invalid_request', description: 'the request could not be read: send a form (application/x-www-form-urlencoded) or, to register, JSON' });
    });

    scope.get('/.well-known/oauth-authorization-server', { schema: { hide: true } }, async (request, reply) => {
      const issuer = issuerOf(request);
      reply.header('access-control-allow-origin', '*');
      return {
        issuer,
        authorization_endpoint: `${issuer}${AUTHORIZE_PATH}`,
        token_endpoint: `${issuer}${TOKEN_PATH}`,
        registration_endpoint: `${issuer}${REGISTER_PATH}`,
        revocation_endpoint: `${issuer}${REVOKE_PATH}`,
        introspection_endpoint: `${issuer}${INTROSPECT_PATH}`,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: [CHALLENGE_METHOD],
        token_endpoint_auth_methods_supported: ['none'],
        revocation_endpoint_auth_methods_supported: ['none'],
        // The operator credential, as a bearer token.
        introspection_endpoint_auth_methods_supported: ['bearer'],
        scopes_supported: MCP_SCOPES,
        client_id_metadata_document_supported: true,
        authorization_response_iss_parameter_supported: true,
      };
    });

    scope.post(REGISTER_PATH, { schema: { hide: true }, bodyLimit: MAX_FORM_BYTES }, async (request, reply) => {
      const body = request.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof URLSearchParams) {
        return oauthError(reply, { ok: false, error: 'invalid_request', description: 'send the client metadata as a JSON object' });
      }
      const outcome = await ctx.oauth.clients.register(body as RegistrationInput, request.ip);
      if (!outcome.ok && 'retryAfterSeconds' in outcome) return oauthError(reply.header('retry-after', String(outcome.retryAfterSeconds)), outcome, 429);
      if (!outcome.ok) return oauthError(reply, outcome, 400);
      return reply.code(201).header('cache-control', 'no-store').send(outcome.registration);
    });

    scope.get(AUTHORIZE_PATH, { schema: { hide: true } }, async (request, reply) => {
      const params = singleParams(queryOf(request));
      if (params === null) return oauthError(reply, { ok: false, error: 'invalid_request', description: 'each parameter may appear only once' });
      const checked = await ctx.oauth.authorization.check(params as AuthorizationParams, mcpUrlOf(request), request.ip);
      if (!checked.ok) {
        const { failure } = checked;
        // A client or redirect URI not to be trusted: the person sees the error, nothing is redirected.
        if (failure.kind === 'unsafe') return oauthError(reply, failure.refusal, 400);
        return reply.redirect(answerUrl(failure.redirectUri, { error: failure.refusal.error, error_description: failure.refusal.description, state: failure.state, iss: issuerOf(request) }), 302);
      }
      return reply.redirect(`${CONSENT_PATH}?${queryOf(request).toString()}`, 302);
    });

    const formOf = (request: FastifyRequest): TokenForm | null => (request.body instanceof URLSearchParams ? singleParams(request.body) : null);

    scope.post(TOKEN_PATH, { schema: { hide: true } }, async (request, reply) => {
      const form = formOf(request);
      if (form === null) return oauthError(reply, { ok: false, error: 'invalid_request', description: 'send a form (application/x-www-form-urlencoded), each parameter once' });
      const answer = await ctx.oauth.tokens.exchange(form, requestMeta(request), mcpUrlOf(request));
      if (!answer.ok) return oauthError(reply, answer);
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(answer.pair);
    });

    scope.post(REVOKE_PATH, { schema: { hide: true } }, async (request, reply) => {
      const form = formOf(request);
      if (form === null) return oauthError(reply, { ok: false, error: 'invalid_request', description: 'send a form (application/x-www-form-urlencoded), each parameter once' });
      await ctx.oauth.tokens.revoke(form, requestMeta(request));
      return reply.code(200).header('cache-control', 'no-store').send({});
    });

    scope.post(INTROSPECT_PATH, { schema: { hide: true }, config: { auth: { kind: 'operator' } } }, async (request, reply) => {
      const form = formOf(request);
      if (form === null || form.token === undefined || form.token === '') {
        return oauthError(reply, { ok: false, error: 'invalid_request', description: 'send a form (application/x-www-form-urlencoded) with the token, each parameter once' });
      }
      return reply.header('cache-control', 'no-store').send(await ctx.oauth.introspection.introspect(form.token, issuerOf(request)));
    });
  });
}
