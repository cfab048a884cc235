import type { FastifyInstance } from 'fastify';
import type { CreateTokenInput, ListTokensFilter, UpdateTokenInput } from '../../services/tokens/token-service.js';
import { principalOf, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import {
  created, single, DESCRIPTION, RATE_LIMIT, DOMAIN_LIST, EXPIRES_AT, EXPIRES_IN, idParams, IP_LIST, page, pageQuery, SCOPE_LIST, text, TOKEN_NAME, tokenRef,
} from '../schemas.js';

export const MANAGE: AuthRule = { kind: 'account', scope: { api: 'tokens:full' }, manage: true };
const TYPE = { type: 'string', enum: ['api', 'mcp', 'message'] } as const;


export function tokenRoutes(app: FastifyInstance, ctx: AppContext): void {
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  app.post<{ Body: CreateTokenInput }>(
    '/v1/tokens',
    {
      config: { auth: MANAGE },
      schema: {
        tags: ['tokens'],
        summary: 'Create a token; the secret is in this response and nowhere else, ever',
        body: {
          type: 'object', required: ['name', 'scopes'], additionalProperties: false,
          properties: {
            name: TOKEN_NAME, description: DESCRIPTION, type: TYPE, scopes: SCOPE_LIST, domains: DOMAIN_LIST,
            ip_allowlist: IP_LIST, expires_in: EXPIRES_IN, expires_at: EXPIRES_AT, rate_limit: RATE_LIMIT,
          },
        },
        response: { 201: created },
      },
    },
    async (request, reply) => {
      const result = await ctx.tokens.create(principal(request), request.body);
      return reply.code(201).header('cache-control', 'no-store').send(result);
    },
  );

  app.get<{ Querystring: ListTokensFilter }>(
    '/v1/tokens',
    {
      config: { auth: MANAGE },
      schema: { summary: 'List the tokens the caller may see, newest first, by status, type or text',
        tags: ['tokens'],
        querystring: {
          type: 'object', additionalProperties: false,
          properties: { status: { type: 'string', enum: ['active', 'paused', 'expired', 'revoked'] }, type: TYPE, q: text(100), ...pageQuery },
        },
        response: { 200: page(tokenRef) },
      },
    },
    async (request) => ctx.tokens.list(principal(request), request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    { config: { auth: MANAGE }, schema: { summary: 'One token (never its secret)', tags: ['tokens'], params: idParams, response: { 200: single } } },
    async (request) => ({ token: await ctx.tokens.get(principal(request), request.params.id) }),
  );

  app.patch<{ Params: { id: string }; Body: UpdateTokenInput }>(
    '/v1/tokens/:id',
    {
      config: { auth: MANAGE },
      schema: { summary: 'Rename a token or change its access (inside the caller’s own, and above nothing it holds)',
        tags: ['tokens'], params: idParams,
        body: {
          type: 'object', additionalProperties: false,
          properties: {
            name: TOKEN_NAME, description: DESCRIPTION, scopes: SCOPE_LIST, domains: DOMAIN_LIST, ip_allowlist: IP_LIST,
            expires_in: EXPIRES_IN, expires_at: EXPIRES_AT, rate_limit: RATE_LIMIT,
          },
        },
        response: { 200: single },
      },
    },
    async (request) => ({ token: await ctx.tokens.update(principal(request), request.params.id, request.body) }),
  );
}
