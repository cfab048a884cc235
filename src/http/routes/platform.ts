import type { FastifyInstance } from 'fastify';
import { principalOf, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import type { MessageTokenInput } from '../../services/tokens/derived-tokens.js';
import {
  activitySchema, created, DESCRIPTION, NO_CONTENT, domainSchema, EXPIRES_AT, EXPIRES_IN, idParams, mailboxSchema, page, pageQuery, SCOPE_LIST, text, TOKEN_NAME, tokenRef,
} from '../schemas.js';

/** Which scope each token type needs: api tokens by resource, AI agents by read / write / send. */
const rule = (api: string, mcp: string, message?: string): AuthRule => ({
  kind: 'account',
  scope: message ? { api, mcp, message } : { api, mcp },
});

const listQuery = { type: 'object', additionalProperties: false, properties: pageQuery } as const;
const messageSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, mailbox_id: { type: 'string' }, direction: { type: 'string' }, from: { type: 'string' },
    to: { type: 'string' }, subject: { type: 'string' }, text: { type: 'string' }, created_at: { type: 'string' },
  },
} as const;
const submission = {
  type: 'object',
  properties: { accepted: { type: 'array', items: { type: 'string' } }, delivered_locally: { type: 'array', items: { type: 'string' } } },
} as const;
const emailBody = (withFrom: boolean) =>
  ({
    type: 'object',
    required: withFrom ? ['from', 'to', 'subject', 'text'] : ['to', 'subject', 'text'],
    additionalProperties: false,
    properties: {
      ...(withFrom ? { from: text(254, { minLength: 3 }) } : {}),
      to: {
        anyOf: [
          text(254, { minLength: 3 }),
          { type: 'array', minItems: 1, maxItems: 50, items: text(254, { minLength: 3 }) },
        ],
      },
      subject: text(998),
      text: text(100_000),
    },
  }) as const;

type Paging = { limit: number; cursor?: string };
type Email = { from: string; to: string | string[]; subject: string; text: string };
const recipients = (to: string | string[]) => (Array.isArray(to) ? to : [to]);

export function platformRoutes(app: FastifyInstance, ctx: AppContext): void {
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  app.get<{ Querystring: Paging }>(
    '/v1/domains',
    { config: { auth: rule('domains:read', 'mcp:read') }, schema: { summary: 'List the domains the caller may see', tags: ['platform'], querystring: listQuery, response: { 200: page(domainSchema) } } },
    async (request) => ctx.platform.listDomains(principal(request), request.query.limit, request.query.cursor),
  );

  app.post<{ Body: { name: string } }>(
    '/v1/domains',
    {
      config: { auth: rule('domains:full', 'mcp:write') },
      schema: { summary: 'Add a domain; it comes with its own token, shown once',
        tags: ['platform'],
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: text(253, { minLength: 1 }) } },
        response: { 201: { type: 'object', properties: { domain: domainSchema, token: { anyOf: [tokenRef, { type: 'null' }] }, secret: { type: ['string', 'null'] } } } },
      },
    },
    async (request, reply) =>
      reply.code(201).header('cache-control', 'no-store').send(await ctx.platform.createDomain(principal(request), request.body.name)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/domains/:id',
    { config: { auth: rule('domains:read', 'mcp:read') }, schema: { summary: 'One domain', tags: ['platform'], params: idParams, response: { 200: { type: 'object', properties: { domain: domainSchema } } } } },
    async (request) => ({ domain: await ctx.platform.getDomain(principal(request), request.params.id) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/domains/:id',
    { config: { auth: rule('domains:full', 'mcp:write') }, schema: { summary: 'Delete a domain, revoking the tokens it was the last live domain of', tags: ['platform'], params: idParams, response: NO_CONTENT } },
    async (request, reply) => {
      await ctx.platform.deleteDomain(principal(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: Paging }>(
    '/v1/domains/:id/mailboxes',
    {
      config: { auth: rule('mailboxes:read', 'mcp:read') },
      schema: { summary: 'List a domain’s mailboxes', tags: ['platform'], params: idParams, querystring: listQuery, response: { 200: page(mailboxSchema) } },
    },
    async (request) => ctx.platform.listMailboxes(principal(request), request.params.id, request.query.limit, request.query.cursor),
  );

  app.post<{ Params: { id: string }; Body: { local_part: string } }>(
    '/v1/domains/:id/mailboxes',
    {
      config: { auth: rule('mailboxes:full', 'mcp:write') },
      schema: { summary: 'Add a mailbox to a domain',
        tags: ['platform'], params: idParams,
        body: { type: 'object', required: ['local_part'], additionalProperties: false, properties: { local_part: text(64, { minLength: 1 }) } },
        response: { 201: { type: 'object', properties: { mailbox: mailboxSchema } } },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ mailbox: await ctx.platform.createMailbox(principal(request), request.params.id, request.body.local_part) }),
  );

  app.post<{ Body: Email }>(
    '/v1/email',
    { config: { auth: rule('submission:full', 'mcp:send') }, schema: { summary: 'Submit a message; local mailboxes among the recipients receive it', tags: ['platform'], body: emailBody(true), response: { 202: submission } } },
    async (request, reply) => {
      const { from, to, subject, text } = request.body;
      return reply.code(202).send(await ctx.platform.submit(principal(request), { from, to: recipients(to), subject, text }));
    },
  );

  app.get<{ Querystring: Paging }>(
    '/v1/activity',
    { config: { auth: rule('activity:read', 'mcp:read') }, schema: { summary: 'Mail activity of the domains the caller may see, newest first', tags: ['platform'], querystring: listQuery, response: { 200: page(activitySchema) } } },
    async (request) => ctx.platform.listActivity(principal(request), request.query.limit, request.query.cursor),
  );

  app.get<{ Params: { id: string }; Querystring: Paging }>(
    '/v1/mailboxes/:id/messages',
    {
      config: { auth: rule('messages:read', 'mcp:read', 'messages:read') },
      schema: { summary: 'List a mailbox’s messages', tags: ['platform'], params: idParams, querystring: listQuery, response: { 200: page(messageSchema) } },
    },
    async (request) => ctx.platform.listMessages(principal(request), request.params.id, request.query.limit, request.query.cursor),
  );

  app.post<{ Params: { id: string }; Body: MessageTokenInput }>(
    '/v1/mailboxes/:id/message-tokens',
    {
      config: { auth: { kind: 'account', scope: { api: 'message_tokens:full' }, manage: true } },
      schema: {
        tags: ['tokens'],
        summary: 'Mint a message token bound to this mailbox; the secret is shown once',
        params: idParams,
        body: {
          type: 'object', required: ['name', 'scopes'], additionalProperties: false,
          properties: { name: TOKEN_NAME, description: DESCRIPTION, scopes: SCOPE_LIST, expires_in: EXPIRES_IN, expires_at: EXPIRES_AT },
        },
        response: { 201: created },
      },
    },
    async (request, reply) =>
      reply.code(201).header('cache-control', 'no-store').send(await ctx.platform.mintMessageToken(principal(request), request.params.id, request.body)),
  );

  app.post<{ Params: { id: string }; Body: Omit<Email, 'from'> }>(
    '/v1/mailboxes/:id/messages/send',
    {
      config: { auth: rule('submission:full', 'mcp:send', 'messages:send') },
      schema: { summary: 'Send a message from this mailbox', tags: ['platform'], params: idParams, body: emailBody(false), response: { 202: submission } },
    },
    async (request, reply) => {
      const p = principal(request);
      const mailbox = await ctx.platform.getMailbox(p, request.params.id);
      const { to, subject, text } = request.body;
      return reply.code(202).send(await ctx.platform.submit(p, { from: mailbox.address, to: recipients(to), subject, text }, mailbox.id));
    },
  );
}
