import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PLAN_NAMES } from '../../core/catalog.js';
import { requestMeta as meta, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { accountSchema, DISPLAY_NAME, EMAIL, ID, idParams, oneOf, PASSWORD, ref, ROLES, userSchema } from '../schemas.js';

const OPERATOR: AuthRule = { kind: 'operator' };
const plan = oneOf(PLAN_NAMES);
const PERSON_NAME = Type.Optional(DISPLAY_NAME(100));

/** The operator's API: accounts, their plans and their users. */
export function adminRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/admin/v1/accounts',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Create an account and its owner (operator only)',
        tags: ['operator'],
        body: Type.Object({
          name: DISPLAY_NAME(100),
          plan,
          owner: Type.Object({ email: EMAIL, password: PASSWORD, name: PERSON_NAME }, { additionalProperties: false }),
        }, { additionalProperties: false }),
        response: { 201: Type.Object({ account: ref(accountSchema), owner: ref(userSchema) }) },
      },
    },
    async (request, reply) => reply.code(201).send(await ctx.accounts.createAccount(request.body, meta(request))),
  );

  app.patch(
    '/admin/v1/accounts/:id',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Change an account’s plan (operator only)',
        tags: ['operator'], params: idParams,
        body: Type.Object({ plan }, { additionalProperties: false }),
        response: { 200: Type.Object({ account: ref(accountSchema) }) },
      },
    },
    async (request) => ({ account: await ctx.accounts.changePlan(request.params.id, request.body.plan, meta(request)) }),
  );

  app.post(
    '/admin/v1/accounts/:id/users',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Add a person to an account (operator only)',
        tags: ['operator'], params: idParams,
        body: Type.Object({ email: EMAIL, password: PASSWORD, role: oneOf(ROLES), name: PERSON_NAME }, { additionalProperties: false }),
        response: { 201: Type.Object({ user: ref(userSchema) }) },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ user: await ctx.accounts.addUser(request.params.id, request.body, meta(request)) }),
  );

  app.post(
    '/admin/v1/accounts/:id/users/:user_id/reset-password',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Reset a person’s password (operator only): a one-time password, shown once; their sessions end',
        tags: ['operator'], params: Type.Object({ id: ID, user_id: ID }),
        response: { 200: Type.Object({ user: ref(userSchema), password: Type.String({ description: 'a one-time password, shown once' }) }) },
      },
    },
    async (request, reply) =>
      reply.header('cache-control', 'no-store').send(await ctx.people.resetPassword(request.params.id, request.params.user_id, meta(request))),
  );
}
