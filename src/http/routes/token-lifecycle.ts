import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TProperties } from 'typebox';
import { principalOf } from '../auth.js';
import type { AppContext } from '../context.js';
import { accessLogPage, accessLogQuery, idParams, NO_CONTENT, nullable, query, REASON, ref, single, text, tokenRef } from '../schemas.js';
import { MANAGE } from './tokens.js';

/** An action's optional body: its fields, or nothing at all. */
const emptyOr = <T extends TProperties>(properties: T) => Type.Optional(nullable(Type.Object(properties, { additionalProperties: false })));

/** Pause, resume, rotate, revoke, delete, and a token's own activity. */
export function tokenLifecycleRoutes(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  const SUMMARY = {
    pause: 'Pause a token: it, and everything below it, is refused until resumed',
    resume: 'Resume a paused token',
  } as const;
  for (const action of ['pause', 'resume'] as const) {
    api.post(
      `/v1/tokens/:id/${action}`,
      { config: { auth: MANAGE }, schema: { summary: SUMMARY[action], tags: ['tokens'], params: idParams, body: emptyOr({}), response: { 200: single } } },
      async (request) => ({ token: await ctx.lifecycle[action](principal(request), request.params.id) }),
    );
  }

  api.post(
    '/v1/tokens/:id/revoke',
    {
      config: { auth: MANAGE },
      schema: { summary: 'Revoke a token, and everything below it, for good', tags: ['tokens'], params: idParams, body: emptyOr({ reason: Type.Optional(REASON) }), response: { 200: single } },
    },
    async (request) => ({ token: await ctx.lifecycle.revoke(principal(request), request.params.id, request.body?.reason) }),
  );

  api.post(
    '/v1/tokens/:id/rotate',
    {
      config: { auth: MANAGE },
      schema: {
        tags: ['tokens'],
        summary: 'A new secret with the same settings; the old one works for the grace period, then expires',
        params: idParams,
        body: emptyOr({ grace_period: Type.Optional(text(16)) }),
        response: { 200: Type.Object({ token: tokenRef, secret: Type.String(), previous: tokenRef }) },
      },
    },
    async (request, reply) => {
      const result = await ctx.lifecycle.rotate(principal(request), request.params.id, request.body?.grace_period);
      return reply.header('cache-control', 'no-store').send(result);
    },
  );

  api.delete(
    '/v1/tokens/:id',
    { config: { auth: MANAGE }, schema: { summary: 'Delete a token: revoked with everything below it, and hidden; its history stays', tags: ['tokens'], params: idParams, response: NO_CONTENT } },
    async (request, reply) => {
      await ctx.lifecycle.delete(principal(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/v1/tokens/:id/activity',
    {
      config: { auth: MANAGE },
      schema: {
        summary: 'A token’s use: its access-log entries, newest first', tags: ['tokens'], params: idParams,
        querystring: query(accessLogQuery), response: { 200: ref(accessLogPage) },
      },
    },
    async (request) => {
      return ctx.logs.tokenActivity(principal(request), request.params.id, request.query);
    },
  );
}
