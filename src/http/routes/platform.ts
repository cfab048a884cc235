import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import {
  activityPage, created, DESCRIPTION, domainPage, domainSchema, EXPIRES_AT, EXPIRES_IN, idParams, listQuery, mailboxPage, mailboxSchema,
  NO_CONTENT, nullable, ref, SCOPE_LIST, text, TOKEN_NAME, tokenRef,
} from '../schemas.js';

/** Which scope each token type needs: api tokens by resource, AI agents by read / write / send, message tokens by theirs. */
export const rule = (api: string, mcp: string, message?: string): AuthRule => ({
  kind: 'account',
  scope: message ? { api, mcp, message } : { api, mcp },
});

export function platformRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  app.get(
    '/v1/domains',
    { config: { auth: rule('domains:read', 'mcp:read') }, schema: { summary: 'List the domains the caller may see', tags: ['platform'], querystring: listQuery, response: { 200: ref(domainPage) } } },
    async (request) => ctx.platform.listDomains(principal(request), request.query.limit, request.query.cursor),
  );

  app.post(
    '/v1/domains',
    {
      config: { auth: rule('domains:full', 'mcp:write') },
      schema: { summary: 'Add a domain; it comes with its own token, shown once',
        tags: ['platform'],
        body: Type.Object({ name: text(253, { minLength: 1 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ domain: ref(domainSchema), token: Type.Union([tokenRef, Type.Null()]), secret: nullable(Type.String()) }) },
      },
    },
    async (request, reply) =>
      reply.code(201).header('cache-control', 'no-store').send(await ctx.platform.createDomain(principal(request), request.body.name)),
  );

  app.get(
    '/v1/domains/:id',
    { config: { auth: rule('domains:read', 'mcp:read') }, schema: { summary: 'One domain', tags: ['platform'], params: idParams, response: { 200: Type.Object({ domain: ref(domainSchema) }) } } },
    async (request) => ({ domain: await ctx.platform.getDomain(principal(request), request.params.id) }),
  );

  app.delete(
    '/v1/domains/:id',
    { config: { auth: rule('domains:full', 'mcp:write') }, schema: { summary: 'Delete a domain, revoking the tokens it was the last live domain of', tags: ['platform'], params: idParams, response: NO_CONTENT } },
    async (request, reply) => {
      await ctx.platform.deleteDomain(principal(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/domains/:id/mailboxes',
    {
      config: { auth: rule('mailboxes:read', 'mcp:read') },
      schema: { summary: 'List a domain’s mailboxes', tags: ['platform'], params: idParams, querystring: listQuery, response: { 200: ref(mailboxPage) } },
    },
    async (request) => ctx.platform.listMailboxes(principal(request), request.params.id, request.query.limit, request.query.cursor),
  );

  app.post(
    '/v1/domains/:id/mailboxes',
    {
      config: { auth: rule('mailboxes:full', 'mcp:write') },
      schema: { summary: 'Add a mailbox to a domain',
        tags: ['platform'], params: idParams,
        body: Type.Object({ local_part: text(64, { minLength: 1 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ mailbox: ref(mailboxSchema) }) },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ mailbox: await ctx.platform.createMailbox(principal(request), request.params.id, request.body.local_part) }),
  );

  app.get(
    '/v1/activity',
    { config: { auth: rule('activity:read', 'mcp:read') }, schema: { summary: 'Mail activity of the domains the caller may see, newest first', tags: ['platform'], querystring: listQuery, response: { 200: ref(activityPage) } } },
    async (request) => ctx.platform.listActivity(principal(request), request.query.limit, request.query.cursor),
  );

  app.post(
    '/v1/mailboxes/:id/message-tokens',
    {
      config: { auth: { kind: 'account', scope: { api: 'message_tokens:full' }, manage: true } },
      schema: {
        tags: ['tokens'],
        summary: 'Mint a message token bound to this mailbox; the secret is shown once',
        params: idParams,
        body: Type.Object({
          name: TOKEN_NAME, description: Type.Optional(DESCRIPTION), scopes: SCOPE_LIST, expires_in: Type.Optional(EXPIRES_IN), expires_at: Type.Optional(EXPIRES_AT),
        }, { additionalProperties: false }),
        response: { 201: created },
      },
    },
    async (request, reply) =>
      reply.code(201).header('cache-control', 'no-store').send(await ctx.platform.mintMessageToken(principal(request), request.params.id, request.body)),
  );
}
