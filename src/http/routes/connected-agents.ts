import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../core/errors.js';
import { CONNECTION_LIFETIMES, type AuthorizationParams, type CheckedRequest } from '../../services/oauth/authorize.js';
import { answerUrl } from '../../services/oauth/authorize.js';
import { principalOf, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { mcpResourceOf, publicBaseOf } from '../public-url.js';
import { DOMAIN_LIST, idParams, NO_CONTENT, nullable, oneOf, text } from '../schemas.js';
import { singleParams } from './oauth.js';

const SESSION: AuthRule = { kind: 'session' };
const STRINGS = Type.Array(Type.String());
/** The authorization request as the consent page received it: its query string. */
const REQUEST = text(8192, { description: 'the query string the authorization endpoint sent the person here with' });
const clientSchema = Type.Object({ id: Type.String(), name: Type.String(), verified: Type.Boolean(), host: nullable(Type.String()) });
const consentSchema = Type.Object({
  client: clientSchema,
  redirect: Type.Object({ uri: Type.String(), host: Type.String(), loopback: Type.Boolean() }),
  resource: Type.String(),
  scopes: STRINGS,
  offered_scopes: STRINGS,
  lifetimes: STRINGS,
  default_lifetime: Type.String(),
  refusal: nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  reauth_required: Type.Boolean(),
});
const agentSchema = Type.Object({
  id: Type.String(), client: clientSchema, scopes: STRINGS, domains: nullable(STRINGS), connected_at: Type.String(), connected_by: Type.String(),
  expires_at: Type.String(), last_used_at: nullable(Type.String()), last_used_ip: nullable(Type.String()), last_tool: nullable(Type.String()),
});

/**
 * The API the consent page uses (describe an authorization request, then allow or deny it, as the
 * person signed in), and the account's connected agents with Disconnect.
 */
export function connectedAgentRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const principal = (request: FastifyRequest) => principalOf(request, ctx.config, ctx.clock);
  const issuerOf = (request: FastifyRequest) => publicBaseOf(request, ctx.config);

  /** The request the page was sent with, checked again (it came through the browser); its failures in the API's shape. */
  const checked = async (request: FastifyRequest, query: string): Promise<CheckedRequest> => {
    const params = singleParams(new URLSearchParams(query));
    if (params === null) throw new ApiError('invalid_request', 'each authorization parameter may appear only once', { field: 'request' });
    const result = await ctx.oauth.authorization.check(params as AuthorizationParams, mcpResourceOf(request, ctx.config), request.ip);
    if (result.ok) return result.request;
    const { failure } = result;
    if (failure.kind === 'unsafe') throw new ApiError('invalid_request', failure.refusal.description, { field: 'request', oauth_error: failure.refusal.error });
    const redirectTo = answerUrl(failure.redirectUri, { error: failure.refusal.error, error_description: failure.refusal.description, state: failure.state, iss: issuerOf(request) });
    throw new ApiError('invalid_request', failure.refusal.description, { field: 'request', oauth_error: failure.refusal.error, redirect_to: redirectTo });
  };

  app.get(
    '/v1/oauth/consent',
    {
      config: { auth: SESSION },
      schema: { summary: 'What an AI agent asks to connect with, and what this person may allow', tags: ['oauth'],
        querystring: Type.Object({ request: REQUEST }, { additionalProperties: false }), response: { 200: consentSchema } },
    },
    async (request) => ctx.oauth.authorization.describe(principal(request), await checked(request, request.query.request)),
  );

  app.post(
    '/v1/oauth/consent',
    {
      config: { auth: SESSION },
      schema: { summary: 'Allow (possibly narrowed) or deny an AI agent: where to send the browser next', tags: ['oauth'],
        body: Type.Object({
          request: REQUEST,
          allow: Type.Boolean(),
          scopes: Type.Optional(Type.Array(text(32), { minItems: 1, maxItems: 3 })),
          domains: Type.Optional(DOMAIN_LIST),
          lifetime: Type.Optional(oneOf(CONNECTION_LIFETIMES)),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ redirect_to: Type.String() }) } },
    },
    async (request, reply) => {
      const { request: query, ...decision } = request.body;
      const redirectTo = await ctx.oauth.authorization.decide(principal(request), await checked(request, query), decision, issuerOf(request));
      reply.header('cache-control', 'no-store');
      return { redirect_to: redirectTo };
    },
  );

  app.get(
    '/v1/connected-agents',
    { config: { auth: SESSION }, schema: { summary: 'The AI agents connected through OAuth, with their access and last use', tags: ['oauth'], response: { 200: Type.Object({ data: Type.Array(agentSchema) }) } } },
    async (request) => ({ data: await ctx.oauth.grants.connectedAgents(principal(request)) }),
  );

  app.delete(
    '/v1/connected-agents/:id',
    { config: { auth: SESSION }, schema: { summary: 'Disconnect an agent: every token it holds is refused from now on', tags: ['oauth'], params: idParams, response: NO_CONTENT } },
    async (request, reply) => {
      await ctx.oauth.grants.disconnect(principal(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
}
