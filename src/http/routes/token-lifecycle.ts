import type { FastifyInstance } from 'fastify';
import { queryAccessLogs, type AccessLogFilter } from '../../services/access-log.js';
import { principalOf } from '../auth.js';
import type { AppContext } from '../context.js';
import { accessLogEntrySchema, accessLogQuery, idParams, NO_CONTENT, page, REASON, single, text, tokenRef } from '../schemas.js';
import { MANAGE } from './tokens.js';

const emptyOr = (properties: Record<string, unknown>) => ({ type: ['object', 'null'], additionalProperties: false, properties }) as const;

/** Pause, resume, rotate, revoke, delete, and a token's own activity. */
export function tokenLifecycleRoutes(app: FastifyInstance, ctx: AppContext): void {
  const principal = (request: Parameters<typeof principalOf>[0]) => principalOf(request, ctx.config, ctx.clock);

  const SUMMARY = {
    pause: 'Pause a token: it, and everything below it, is refused until resumed',
    resume: 'Resume a paused token',
  } as const;
  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/tokens/:id/${action}`,
      { config: { auth: MANAGE }, schema: { summary: SUMMARY[action], tags: ['tokens'], params: idParams, body: emptyOr({}), response: { 200: single } } },
      async (request) => ({ token: await ctx.lifecycle[action](principal(request), request.params.id) }),
    );
  }

  app.post<{ Params: { id: string }; Body: { reason?: string } | null }>(
    '/v1/tokens/:id/revoke',
    {
      config: { auth: MANAGE },
      schema: { summary: 'Revoke a token, and everything below it, for good', tags: ['tokens'], params: idParams, body: emptyOr({ reason: REASON }), response: { 200: single } },
    },
    async (request) => ({ token: await ctx.lifecycle.revoke(principal(request), request.params.id, request.body?.reason) }),
  );

  app.post<{ Params: { id: string }; Body: { grace_period?: string } | null }>(
    '/v1/tokens/:id/rotate',
    {
      config: { auth: MANAGE },
      schema: {
        tags: ['tokens'],
        summary: 'A new secret with the same settings; the old one works for the grace period, then expires',
        params: idParams,
        body: emptyOr({ grace_period: text(16) }),
        response: { 200: { type: 'object', properties: { token: tokenRef, secret: { type: 'string' }, previous: tokenRef } } },
      },
    },
    async (request, reply) => {
      const result = await ctx.lifecycle.rotate(principal(request), request.params.id, request.body?.grace_period);
      return reply.header('cache-control', 'no-store').send(result);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    { config: { auth: MANAGE }, schema: { summary: 'Delete a token: revoked with everything below it, and hidden; its history stays', tags: ['tokens'], params: idParams, response: NO_CONTENT } },
    async (request, reply) => {
      await ctx.lifecycle.delete(principal(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: Omit<AccessLogFilter, 'token_id'> }>(
    '/v1/tokens/:id/activity',
    {
      config: { auth: MANAGE },
      schema: {
        summary: 'A token’s use: its access-log entries, newest first', tags: ['tokens'], params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: accessLogQuery }, response: { 200: page(accessLogEntrySchema) },
      },
    },
    async (request) => {
      const p = principal(request);
      const token = await ctx.tokens.get(p, request.params.id);
      return queryAccessLogs(ctx.db, p.accountId, { ...request.query, token_id: token.id });
    },
  );
}
