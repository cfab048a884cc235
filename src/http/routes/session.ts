import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { iso } from '../../core/clock.js';
import { requestMeta, sessionOf, SESSION_COOKIE, type AuthRule } from '../auth.js';
import type { AppContext } from '../context.js';
import { csrfTokenFor } from '../../services/accounts.js';
import { accountSchema, EMAIL, NO_CONTENT, PASSWORD, ref, text, userSchema } from '../schemas.js';

const SESSION: AuthRule = { kind: 'session' };
/** What a session signed in with a one-time password may do: see itself, choose a new password, sign out. */
const ANY_PASSWORD: AuthRule = { kind: 'session', oneTimePassword: 'allowed' };
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

  app.post('/v1/auth/logout', { config: { auth: ANY_PASSWORD }, schema: { summary: 'Sign out: ends this session', tags: ['session'], response: NO_CONTENT } }, async (request, reply) => {
    await ctx.accounts.logout(sessionOf(request), requestMeta(request));
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return reply.code(204).send(null);
  });

  app.post(
    '/v1/auth/logout-everywhere',
    { config: { auth: ANY_PASSWORD }, schema: { summary: 'Sign out everywhere: ends every session of the signed-in person, this one included', tags: ['session'], response: NO_CONTENT } },
    async (request, reply) => {
      await ctx.accounts.logoutEverywhere(sessionOf(request), requestMeta(request));
      reply.clearCookie(SESSION_COOKIE, cookieOptions);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/password',
    {
      config: { auth: ANY_PASSWORD },
      schema: { summary: 'Change your own password, the current one given; every other session of yours ends',
        tags: ['session'],
        body: Type.Object({ current_password: PASSWORD_GIVEN, new_password: PASSWORD }, { additionalProperties: false }),
        response: { 200: Type.Object({ reauth_until: Type.String() }) },
      },
    },
    async (request) => {
      const at = await ctx.accounts.changePassword(sessionOf(request), request.body.current_password, request.body.new_password, requestMeta(request));
      return { reauth_until: iso(at + ctx.config.reauthWindowSeconds * 1000) };
    },
  );

  app.get(
    '/v1/auth/session',
    {
      config: { auth: ANY_PASSWORD },
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
