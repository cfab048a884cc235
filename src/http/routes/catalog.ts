import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PLAN_NAMES } from '../../core/catalog.js';
import { planAllows, scopesOfType, unlockedBy } from '../../core/scopes.js';
import { TOKEN_TYPES } from '../../core/token-format.js';
import type { AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { nullable, oneOf, query } from '../schemas.js';

const ANY_CALLER: AuthRule = { kind: 'account', scope: { api: null, mcp: null, message: null } };

/** The scope catalog, each scope marked available or not on the caller's plan: what the dashboard draws its matrix from. */
export function catalogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/scopes',
    {
      config: { auth: ANY_CALLER },
      schema: { summary: 'The scope catalog: every scope, what it allows, and the plans that offer it',
        tags: ['tokens'],
        querystring: query({ type: Type.Optional(oneOf(TOKEN_TYPES)) }),
        response: {
          200: Type.Object({
            plan: oneOf(PLAN_NAMES),
            data: Type.Array(Type.Object({
              scope: Type.String(), type: oneOf(TOKEN_TYPES), resource: Type.String(), level: Type.String(),
              label: Type.String(), description: Type.String(),
              implies: Type.Array(Type.String()), requires: Type.Array(Type.String()),
              available: Type.Boolean(), unlocked_by: nullable(Type.String()),
            })),
          }),
        },
      },
    },
    async (request) => {
      const caller = request.caller!;
      const accountId = caller.kind === 'token' ? caller.grant.accountId : caller.kind === 'session' ? caller.session.account.id : '';
      const { plan } = await ctx.accounts.getAccount(accountId);
      const types = request.query.type ? [request.query.type] : TOKEN_TYPES;
      const data = types.flatMap((type) =>
        scopesOfType(type).map((info) => ({ ...info, implies: [...info.implies], requires: [...info.requires], available: planAllows(plan, info), unlocked_by: unlockedBy(info) })),
      );
      return { plan, data };
    },
  );
}
