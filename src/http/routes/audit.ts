import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { checkExportLimit, CSV_MAX_ROWS, sendCsv } from '../csv.js';
import { toCsv } from '../../services/access-log.js';
import { accountWidePrincipal } from './access-logs.js';
import { auditEventPage, chainCheckSchema, EXPORT_FORMAT, jsonOrCsv, query, ref, text } from '../schemas.js';
import type { AppContext } from '../context.js';
import { MANAGE } from './tokens.js';

const AUDIT_COLUMNS = ['seq', 'at', 'action', 'actor', 'target', 'ip', 'user_agent', 'details', 'key_id', 'hash'] as const;

export function auditRoutes(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/v1/audit-log',
    {
      config: { auth: MANAGE },
      schema: { summary: 'The account’s audit log (for a token, what concerns the tokens it manages); JSON or CSV',
        tags: ['logs'],
        querystring: query({
          action: Type.Optional(text(64)), since: Type.Optional(Type.String({ format: 'date-time' })), until: Type.Optional(Type.String({ format: 'date-time' })),
          cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })), limit: Type.Integer({ minimum: 1, maximum: CSV_MAX_ROWS, default: 50 }),
          format: EXPORT_FORMAT,
        }),
        response: { 200: jsonOrCsv(ref(auditEventPage)) },
      },
    },
    async (request, reply) => {
      const { format, ...filter } = request.query;
      const principal = accountWidePrincipal(request, ctx);
      checkExportLimit(format, filter.limit);
      const page = await ctx.logs.auditLog(principal, filter);
      if (format !== 'csv') return page;
      const csv = toCsv(AUDIT_COLUMNS, page.data, (event, column) => {
        if (column === 'actor') return `${event.actor.type}:${event.actor.name}`;
        if (column === 'target') return event.target ? `${event.target.type}:${event.target.name ?? event.target.id}` : '';
        if (column === 'details') return JSON.stringify(event.details);
        return event[column as 'at'];
      }, ctx.redact);
      return sendCsv(reply, 'latchkey-audit-log.csv', csv, page.next_cursor);
    },
  );

  api.get('/v1/audit-log/verify', { config: { auth: MANAGE }, schema: { summary: 'Re-walk the signed audit chain and report where it breaks', tags: ['logs'], response: { 200: chainCheckSchema } } }, async (request) => {
    const principal = accountWidePrincipal(request, ctx);
    const result = await ctx.logs.verifyAuditChain(principal);
    // A token learns whether the chain holds, not how long it is or where it breaks: that would
    // count and place the events it may not read.
    return principal.grant === null ? result : { valid: result.valid };
  });
}
