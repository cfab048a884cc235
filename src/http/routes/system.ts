import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { errorBody } from '../errors.js';

export function systemRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    if (await ctx.storeReachable()) return { status: 'ready' };
    // Not ready is a state, not a bug: 503 so that a load balancer takes the node out.
    return reply.code(503).send(errorBody('internal_error', 'the database is not reachable'));
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    ctx.metrics.cachedTokens.set(ctx.verifier.size);
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
