import type { FastifyInstance } from 'fastify';
import type { PlanName } from '../../core/catalog.js';
import { planAllows, scopesOfType, unlockedBy } from '../../core/scopes.js';
import { TOKEN_TYPES, type TokenType } from '../../core/token-format.js';
import type { AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';

const ANY_CALLER: AuthRule = { kind: 'account', scope: { api: null, mcp: null, message: null } };

/** The scope catalog, each scope marked available or not on the caller's plan: what the dashboard draws its matrix from. */
export function catalogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: { type?: TokenType } }>(
    '/v1/scopes',
    {
      config: { auth: ANY_CALLER },
      schema: { summary: 'The scope catalog: every scope, what it allows, and the plans that offer it',
        tags: ['tokens'],
        querystring: { type: 'object', additionalProperties: false, properties: { type: { type: 'string', enum: TOKEN_TYPES } } },
        response: {
          200: {
            type: 'object',
            properties: {
              plan: { type: 'string' },
              data: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    scope: { type: 'string' }, type: { type: 'string' }, resource: { type: 'string' }, level: { type: 'string' },
                    label: { type: 'string' }, description: { type: 'string' },
                    implies: { type: 'array', items: { type: 'string' } }, requires: { type: 'array', items: { type: 'string' } },
                    available: { type: 'boolean' }, unlocked_by: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const caller = request.caller!;
      const accountId = caller.kind === 'token' ? caller.grant.accountId : caller.kind === 'session' ? caller.session.account.id : '';
      const plan = (await ctx.accounts.getAccount(accountId)).plan as PlanName;
      const types = request.query.type ? [request.query.type] : TOKEN_TYPES;
      const data = types.flatMap((type) =>
        scopesOfType(type).map((info) => ({ ...info, available: planAllows(plan, info), unlocked_by: unlockedBy(info) })),
      );
      return { plan, data };
    },
  );
}
