import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../core/errors.js';
import { accessLogsToCsv } from '../../services/access-log.js';
import { principalOf } from '../auth.js';
import type { AppContext } from '../context.js';
import { checkExportLimit, CSV_MAX_ROWS, sendCsv } from '../csv.js';
import { accessLogPage, accessLogQuery, EXPORT_FORMAT, ID, jsonOrCsv, query, ref } from '../schemas.js';
import { MANAGE } from './tokens.js';


/**
 * Account-wide logs: for owners and admins, and for unconstrained tokens with `tokens:full`, which
 * read only the entries of the tokens they manage.
 */
export function accountWidePrincipal(request: FastifyRequest, ctx: AppContext) {
  const principal = principalOf(request, ctx.config, ctx.clock);
  if (principal.visibility.domains !== null || principal.visibility.mailboxId !== null) {
    throw new ApiError('forbidden', 'a domain-constrained token cannot read account-wide logs');
  }
  return principal;
}

export function accessLogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/access-logs',
    {
      config: { auth: MANAGE },
      schema: { summary: 'Every request made with a token (for a token, with itself and what is below it); JSON or CSV',
        tags: ['logs'],
        querystring: query({
          token_id: Type.Optional(ID), format: EXPORT_FORMAT, ...accessLogQuery, limit: Type.Integer({ minimum: 1, maximum: CSV_MAX_ROWS, default: 50 }),
        }),
        response: { 200: jsonOrCsv(ref(accessLogPage)) },
      },
    },
    async (request, reply) => {
      const { format, ...filter } = request.query;
      const principal = accountWidePrincipal(request, ctx);
      checkExportLimit(format, filter.limit);
      const result = await ctx.logs.accessLog(principal, filter);
      if (format !== 'csv') return result;
      return sendCsv(reply, 'latchkey-access-log.csv', accessLogsToCsv(result.data, ctx.redact), result.next_cursor);
    },
  );
}

