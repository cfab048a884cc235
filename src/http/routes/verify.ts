import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { nullable, oneOf, text } from '../schemas.js';
import { TOKEN_TYPES } from '../../core/token-format.js';

const OPERATOR: AuthRule = { kind: 'operator' };

/**
 * For the platform's other services: may this token do this? The same cache and the same policy
 * function as the API's own auth hook; always 200, the answer is in the body.
 */
export function verifyRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/verify',
    {
      config: { auth: OPERATOR },
      schema: { summary: 'Ask whether a token may make a request (for the platform’s services)',
        tags: ['verify'],
        body: Type.Object({
          token: text(512), scope: Type.Optional(text(64)), domain: Type.Optional(text(64)), ip: Type.Optional(text(64)),
          resource: Type.Optional(text(2048, { description: 'The resource the token was presented to, as its canonical URL: a token issued through OAuth is valid only at the resource it was issued for, and never without one' })),
        }, { additionalProperties: false }),
        response: {
          // A refusal carries its code and no token; an acceptance the token and no code.
          200: Type.Object({
            valid: Type.Boolean(),
            code: Type.Optional(Type.String()),
            token: Type.Optional(Type.Object({
              id: Type.String(), account_id: Type.String(), name: Type.String(), type: oneOf(TOKEN_TYPES),
              scopes: Type.Array(Type.String()), domains: nullable(Type.Array(Type.String())),
              mailbox_id: nullable(Type.String()), expires_at: nullable(Type.String()),
            })),
          }),
        },
      },
    },
    async (request) => {
      const { token, scope, domain, ip, resource } = request.body;
      const { grant, denial } = await ctx.gate.check(token, { scope: scope ?? null, ip: ip ?? null, audience: resource ?? null, domainId: domain ?? null });
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
