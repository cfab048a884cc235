import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TOKEN_TYPES } from '../../core/token-format.js';
import { principalOf, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import {
  created, single, DESCRIPTION, RATE_LIMIT, DOMAIN_LIST, EXPIRES_AT, EXPIRES_IN, idParams, IP_LIST, oneOf, pageQuery, query, SCOPE_LIST, text, TOKEN_NAME, tokenPage, ref,
} from '../schemas.js';

export const MANAGE: AuthRule = { kind: 'account', scope: { api: 'tokens:full' }, manage: true };
const TYPE = oneOf(TOKEN_TYPES);
/** What a token's settings are written as, on creation and on an edit. */
const settings = {
  description: Type.Optional(DESCRIPTION), domains: Type.Optional(DOMAIN_LIST), ip_allowlist: Type.Optional(IP_LIST),
  expires_in: Type.Optional(EXPIRES_IN), expires_at: Type.Optional(EXPIRES_AT), rate_limit: Type.Optional(RATE_LIMIT),
};


export function tokenRoutes(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  api.post(
    '/v1/tokens',
    {
      config: { auth: MANAGE },
      schema: {
        tags: ['tokens'],
        summary: 'Create a token; the secret is in this response and nowhere else, ever',
        body: Type.Object({ name: TOKEN_NAME, type: Type.Optional(TYPE), scopes: SCOPE_LIST, ...settings }, { additionalProperties: false }),
        response: { 201: created },
      },
    },
    async (request, reply) => {
      const result = await ctx.tokens.create(principal(request), request.body);
      return reply.code(201).header('cache-control', 'no-store').send(result);
    },
  );

  api.get(
    '/v1/tokens',
    {
      config: { auth: MANAGE },
      schema: { summary: 'List the tokens the caller may see, newest first, by status, type, domain or text',
        tags: ['tokens'],
        querystring: query({
          status: Type.Optional(oneOf(['live', 'active', 'paused', 'expired', 'revoked'] as const, { description: '`live`: active and paused' })), type: Type.Optional(TYPE), q: Type.Optional(text(100)),
          domain_id: Type.Optional(text(64, { description: 'only tokens limited to domains that include this one' })), ...pageQuery,
        }),
        response: { 200: ref(tokenPage) },
      },
    },
    async (request) => ctx.tokens.list(principal(request), request.query),
  );

  api.get(
    '/v1/tokens/:id',
    { config: { auth: MANAGE }, schema: { summary: 'One token (never its secret)', tags: ['tokens'], params: idParams, response: { 200: single } } },
    async (request) => ({ token: await ctx.tokens.get(principal(request), request.params.id) }),
  );

  api.patch(
    '/v1/tokens/:id',
    {
      config: { auth: MANAGE },
      schema: { summary: 'Rename a token or change its access (inside the caller’s own, and above nothing it holds)',
        tags: ['tokens'], params: idParams,
        body: Type.Object({ name: Type.Optional(TOKEN_NAME), scopes: Type.Optional(SCOPE_LIST), ...settings }, { additionalProperties: false }),
        response: { 200: single },
      },
    },
    async (request) => ({ token: await ctx.tokens.update(principal(request), request.params.id, request.body) }),
  );
}
