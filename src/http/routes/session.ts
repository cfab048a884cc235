import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { iso } from '../../core/clock.js';
import { requestMeta, sessionOf, SESSION_COOKIE, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { csrfTokenFor } from '../../services/accounts.js';
import { accountSchema, EMAIL, NO_CONTENT, ref, text, userSchema } from '../schemas.js';

const SESSION: AuthRule = { kind: 'session' };
const PASSWORD_GIVEN = text(1024, { minLength: 1 });
/** Who is signed in, and the CSRF token and re-auth window of the session. */
const signedIn = Type.Object({ user: ref(userSchema), account: ref(accountSchema), csrf_token: Type.String(), reauth_until: Type.String() });

/** Dashboard sign-in: an HttpOnly session cookie plus a CSRF token for every mutation. */
export function sessionRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, secure: ctx.config.cookieSecure, path: '/' };

  app.post(
    '/v1/auth/login',
    {
      config: { auth: { kind: 'public' } },
      schema: { summary: 'Sign in: sets the session cookie and returns the CSRF token its changes carry',
        tags: ['session'],
        body: Type.Object({ email: EMAIL, password: PASSWORD_GIVEN }, { additionalProperties: false }),
        response: { 200: signedIn },
      },
    },
    async (request, reply) => {
      const result = await ctx.accounts.login(request.body.email, request.body.password, requestMeta(request));
      reply.setCookie(SESSION_COOKIE, result.sessionSecret, { ...cookieOptions, maxAge: result.expiresInSeconds });
      reply.header('cache-control', 'no-store');
      return {
        user: result.user, account: result.account, csrf_token: result.csrfToken,
        reauth_until: iso(ctx.clock.now() + ctx.config.reauthWindowSeconds * 1000),
      };
    },
  );

  app.post(
    '/v1/auth/reauth',
    {
      config: { auth: SESSION },
      schema: { summary: 'Confirm the password again, opening the “verify it’s you” window',
        tags: ['session'],
        body: Type.Object({ password: PASSWORD_GIVEN }, { additionalProperties: false }),
        response: { 200: Type.Object({ reauth_until: Type.String() }) },
      },
    },
    async (request) => {
      const at = await ctx.accounts.reauth(sessionOf(request), request.body.password, requestMeta(request));
      return { reauth_until: iso(at + ctx.config.reauthWindowSeconds * 1000) };
    },
  );

  app.post('/v1/auth/logout', { config: { auth: SESSION }, schema: { summary: 'Sign out: ends this session', tags: ['session'], response: NO_CONTENT } }, async (request, reply) => {
    await ctx.accounts.logout(sessionOf(request), requestMeta(request));
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return reply.code(204).send(null);
  });

  app.get(
    '/v1/auth/session',
    {
      config: { auth: SESSION },
      schema: {
        tags: ['session'],
        summary: 'The signed-in session, with the CSRF token its changes carry (so a new tab can make them too)',
        response: { 200: signedIn },
      },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      reply.header('cache-control', 'no-store');
      return {
        user: session.user, account: session.account, csrf_token: csrfTokenFor(request.cookies[SESSION_COOKIE]!),
        reauth_until: iso(session.reauthAt + ctx.config.reauthWindowSeconds * 1000),
      };
    },
  );
}
