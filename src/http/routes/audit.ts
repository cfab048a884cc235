import type { FastifyInstance } from 'fastify';
import { listAudit, verifyAuditChain } from '../../services/audit.js';
import { accountWidePrincipal } from './access-logs.js';
import type { AppContext } from '../context.js';
import { MANAGE } from './tokens.js';



export function auditRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: { action?: string; since?: string; until?: string; cursor?: string; limit: number } }>(
    '/v1/audit-log',
    {
      config: { auth: MANAGE },
      schema: {
        tags: ['logs'],
        querystring: {
          type: 'object', additionalProperties: false,
          properties: {
            action: { type: 'string', maxLength: 64 }, since: { type: 'string', format: 'date-time' }, until: { type: 'string', format: 'date-time' },
            cursor: { type: 'string', pattern: '^[0-9]{1,12}$' }, limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
          },
        },
      },
    },
    async (request) => listAudit(ctx.db, accountWidePrincipal(request, ctx).accountId, request.query),
  );

  app.get('/v1/audit-log/verify', { config: { auth: MANAGE }, schema: { tags: ['logs'] } }, async (request) =>
    verifyAuditChain(ctx.db, accountWidePrincipal(request, ctx).accountId),
  );
}
