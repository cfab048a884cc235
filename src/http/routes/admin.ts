import type { FastifyInstance } from 'fastify';
import { PLAN_NAMES, type PlanName } from '../../core/catalog.js';
import type { Role } from '../../services/accounts.js';
import { requestMeta as meta, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { accountSchema, DISPLAY_NAME, EMAIL, idParams, PASSWORD, userSchema } from '../schemas.js';

const OPERATOR: AuthRule = { kind: 'operator' };
const plan = { type: 'string', enum: PLAN_NAMES } as const;

/** The operator's API: accounts, their plans and their users. */
export function adminRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: { name: string; plan: PlanName; owner: { email: string; password: string; name?: string } } }>(
    '/admin/v1/accounts',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Create an account and its owner (operator only)',
        tags: ['operator'],
        body: {
          type: 'object', required: ['name', 'plan', 'owner'], additionalProperties: false,
          properties: {
            name: DISPLAY_NAME(100),
            plan,
            owner: {
              type: 'object', required: ['email', 'password'], additionalProperties: false,
              properties: { email: EMAIL, password: PASSWORD, name: DISPLAY_NAME(100) },
            },
          },
        },
        response: { 201: { type: 'object', properties: { account: accountSchema, owner: userSchema } } },
      },
    },
    async (request, reply) => reply.code(201).send(await ctx.accounts.createAccount(request.body, meta(request))),
  );

  app.patch<{ Params: { id: string }; Body: { plan: PlanName } }>(
    '/admin/v1/accounts/:id',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Change an account’s plan (operator only)',
        tags: ['operator'], params: idParams,
        body: { type: 'object', required: ['plan'], additionalProperties: false, properties: { plan } },
        response: { 200: { type: 'object', properties: { account: accountSchema } } },
      },
    },
    async (request) => ({ account: await ctx.accounts.changePlan(request.params.id, request.body.plan, meta(request)) }),
  );

  app.post<{ Params: { id: string }; Body: { email: string; password: string; role: Role; name?: string } }>(
    '/admin/v1/accounts/:id/users',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Add a person to an account (operator only)',
        tags: ['operator'], params: idParams,
        body: {
          type: 'object', required: ['email', 'password', 'role'], additionalProperties: false,
          properties: { email: EMAIL, password: PASSWORD, role: { type: 'string', enum: ['owner', 'admin', 'member'] }, name: DISPLAY_NAME(100) },
        },
        response: { 201: { type: 'object', properties: { user: userSchema } } },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ user: await ctx.accounts.addUser(request.params.id, request.body, meta(request)) }),
  );
}
