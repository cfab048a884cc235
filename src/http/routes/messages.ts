import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../auth.js';
import type { AppContext } from '../context.js';
import { FOLDERS } from '../../store/domains.js';
import { MOVABLE_FOLDERS } from '../../services/mail.js';
import { ID, idParams, listQuery, messagePage, messageSchema, oneOf, pageQuery, query, ref, text } from '../schemas.js';
import { rule } from './platform.js';

const submission = Type.Object({ accepted: Type.Array(Type.String()), delivered_locally: Type.Array(Type.String()) });
const ADDRESS = text(254, { minLength: 3 });
const message = {
  to: Type.Union([ADDRESS, Type.Array(ADDRESS, { minItems: 1, maxItems: 50 })]),
  subject: text(998),
  text: text(100_000),
};
const recipients = (to: string | string[]) => (Array.isArray(to) ? to : [to]);
const INSTANT_FILTER = Type.String({ format: 'date-time' });
const one = Type.Object({ message: ref(messageSchema) });

// Reading mail: api tokens with messages:read, AI agents with mcp:read, message tokens with messages:read.
const READ = rule('messages:read', 'mcp:read', 'messages:read');
// Sorting it and drafting: messages:full, mcp:write (a message token only reads and sends).
const SORT = rule('messages:full', 'mcp:write');

export function messageRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  app.get(
    '/v1/messages',
    {
      config: { auth: READ },
      schema: {
        summary: 'Find messages in the mailboxes the caller sees, newest first', tags: ['mail'],
        querystring: query({
          mailbox_id: Type.Optional(ID), folder: Type.Optional(oneOf(FOLDERS)), from: Type.Optional(text(254)), q: Type.Optional(text(200)),
          since: Type.Optional(INSTANT_FILTER), until: Type.Optional(INSTANT_FILTER), ...pageQuery,
        }),
        response: { 200: ref(messagePage) },
      },
    },
    async (request) => ctx.mail.search(principal(request), request.query),
  );

  app.get(
    '/v1/mailboxes/:id/messages',
    { config: { auth: READ }, schema: { summary: 'List a mailbox’s messages', tags: ['mail'], params: idParams, querystring: listQuery, response: { 200: ref(messagePage) } } },
    async (request) => ctx.mail.search(principal(request), { ...request.query, mailbox_id: request.params.id }),
  );

  app.get(
    '/v1/messages/:id',
    { config: { auth: READ }, schema: { summary: 'One message', tags: ['mail'], params: idParams, response: { 200: one } } },
    async (request) => ({ message: await ctx.mail.get(principal(request), request.params.id) }),
  );

  app.patch(
    '/v1/messages/:id',
    {
      config: { auth: SORT },
      schema: {
        summary: 'Mark a message read or unread, or move it between inbox, archive and trash', tags: ['mail'], params: idParams,
        body: Type.Object({ read: Type.Optional(Type.Boolean()), folder: Type.Optional(oneOf(MOVABLE_FOLDERS)) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: one },
      },
    },
    async (request) => ({ message: await ctx.mail.update(principal(request), request.params.id, request.body) }),
  );

  app.post(
    '/v1/mailboxes/:id/drafts',
    {
      config: { auth: SORT },
      schema: { summary: 'Save a draft in this mailbox; nothing is sent', tags: ['mail'], params: idParams, body: Type.Object(message, { additionalProperties: false }), response: { 201: one } },
    },
    async (request, reply) => {
      const { to, subject, text } = request.body;
      return reply.code(201).send({ message: await ctx.mail.createDraft(principal(request), request.params.id, { to: recipients(to), subject, text }) });
    },
  );

  app.post(
    '/v1/messages/:id/send',
    { config: { auth: rule('submission:full', 'mcp:send') }, schema: { summary: 'Send a draft as it stands', tags: ['mail'], params: idParams, response: { 202: submission } } },
    async (request, reply) => reply.code(202).send(await ctx.mail.sendDraft(principal(request), request.params.id)),
  );

  app.post(
    '/v1/email',
    { config: { auth: rule('submission:full', 'mcp:send') }, schema: { summary: 'Submit a message; local mailboxes among the recipients receive it', tags: ['mail'], body: Type.Object({ from: ADDRESS, ...message }, { additionalProperties: false }), response: { 202: submission } } },
    async (request, reply) => {
      const { from, to, subject, text } = request.body;
      return reply.code(202).send(await ctx.mail.submit(principal(request), { from, to: recipients(to), subject, text }));
    },
  );

  app.post(
    '/v1/mailboxes/:id/messages/send',
    {
      config: { auth: rule('submission:full', 'mcp:send', 'messages:send') },
      schema: { summary: 'Send a message from this mailbox', tags: ['mail'], params: idParams, body: Type.Object(message, { additionalProperties: false }), response: { 202: submission } },
    },
    async (request, reply) => {
      const p = principal(request);
      const mailbox = await ctx.platform.getMailbox(p, request.params.id);
      const { to, subject, text } = request.body;
      return reply.code(202).send(await ctx.mail.submit(p, { from: mailbox.address, to: recipients(to), subject, text }, { mailboxId: mailbox.id }));
    },
  );
}
