import type { FastifyInstance } from 'fastify';
import type { AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { text } from '../schemas.js';

const OPERATOR: AuthRule = { kind: 'operator' };

/**
 * For the platform's other services: may this token do this? The same cache and the same policy
 * function as the API's own auth hook; always 200, the answer is in the body.
 */
export function verifyRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: { token: string; scope?: string; domain?: string; ip?: string } }>(
    '/v1/verify',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Ask whether a token may make a request (for the platform’s services)',
        tags: ['verify'],
        body: {
          type: 'object', required: ['token'], additionalProperties: false,
          properties: {
            token: text(512), scope: text(64),
            domain: text(64), ip: text(64),
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['valid'],
            properties: {
              valid: { type: 'boolean' },
              code: { type: 'string' },
              token: {
                type: 'object',
                properties: {
                  id: { type: 'string' }, account_id: { type: 'string' }, name: { type: 'string' }, type: { type: 'string' },
                  scopes: { type: 'array', items: { type: 'string' } }, domains: { type: ['array', 'null'], items: { type: 'string' } },
                  mailbox_id: { type: ['string', 'null'] }, expires_at: { type: ['string', 'null'] },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const { token, scope, domain, ip } = request.body;
      const { grant, denial } = await ctx.gate.check(token, { scope: scope ?? null, ip: ip ?? null, domainId: domain ?? null });
      if (denial !== null || grant === null) return { valid: false, code: denial?.code ?? 'unauthorized' };
      return {
        valid: true,
        token: {
          id: grant.id, account_id: grant.accountId, name: grant.name, type: grant.type, scopes: [...grant.effective],
          domains: grant.domains ? [...grant.domains] : null, mailbox_id: grant.mailboxId,
          expires_at: grant.expiresAt === null ? null : new Date(grant.expiresAt).toISOString(),
        },
      };
    },
  );
}
