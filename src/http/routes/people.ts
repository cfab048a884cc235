import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { DISPLAY_NAME, EMAIL, idParams, NO_CONTENT, oneOf, ref, ROLES, userSchema } from '../schemas.js';

const READ: AuthRule = { kind: 'account', scope: { api: 'users:read' } };
const CHANGE: AuthRule = { kind: 'account', scope: { api: 'users:full' } };
/** A one-time password is a secret: the answer that carries it is never stored along the way. */
const ONE_TIME_PASSWORD = Type.String({ description: 'a one-time password, shown once: the person must choose their own at the first sign-in' });

/** The people of the account: owners change them, owners and admins see them (`core/people.ts`). */
export function peopleRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const principal = (request: FastifyRequest) => principalOf(request, ctx.config, ctx.clock);

  app.get(
    '/v1/users',
    { config: { auth: READ }, schema: { summary: 'The people of the account (owners and admins)', tags: ['people'], response: { 200: Type.Object({ data: Type.Array(ref(userSchema)), next_cursor: Type.Null({ description: 'the people of an account are one page' }) }) } } },
    async (request) => ({ data: await ctx.people.list(principal(request)), next_cursor: null }),
  );

  app.post(
    '/v1/users',
    {
      config: { auth: CHANGE },
      schema: {
        summary: 'Add a person (owners); the answer holds their one-time password, shown once', tags: ['people'],
        body: Type.Object({ email: EMAIL, role: oneOf(ROLES), name: Type.Optional(DISPLAY_NAME(100)) }, { additionalProperties: false }),
        response: { 201: Type.Object({ user: ref(userSchema), password: ONE_TIME_PASSWORD }) },
      },
    },
    async (request, reply) => reply.code(201).header('cache-control', 'no-store').send(await ctx.people.add(principal(request), request.body)),
  );

  app.patch(
    '/v1/users/:id',
    {
      config: { auth: CHANGE },
      schema: {
        summary: 'Change a person’s role (owners); it applies at their next request', tags: ['people'], params: idParams,
        body: Type.Object({ role: oneOf(ROLES) }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: ref(userSchema) }) },
      },
    },
    async (request) => ({ user: await ctx.people.changeRole(principal(request), request.params.id, request.body.role) }),
  );

  app.delete(
    '/v1/users/:id',
    {
      config: { auth: CHANGE },
      schema: { summary: 'Remove a person (owners): their sessions end, the tokens they created stay', tags: ['people'], params: idParams, response: NO_CONTENT },
    },
    async (request, reply) => {
      await ctx.people.remove(principal(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
}
