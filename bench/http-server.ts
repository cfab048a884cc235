/**
 * The HTTP benchmark's server: Latchkey exactly as `npm start` runs it, plus reference routes that
 * do no work at all. `GET /bench/open` is public; `GET /bench/token` goes through the platform
 * API's token auth (scope, domain constraint, IP allowlist, plan, rate limit, last use) and its
 * access log, like any platform route: the difference is what a token costs per request.
 * `POST /bench/open` takes the same JSON body as `/v1/verify` and ignores it, so that comparing the
 * two measures the verification and not the cost of reading a request body. `GET /bench/naive` is
 * the reference point: the open route behind the naive hook a team would write first, a
 * SHA-256 of the Authorization header and a `Map` lookup, with no policy and no access log.
 */
import { hash } from 'node:crypto';
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { serve } from '../src/server.js';

const response = { 200: { type: 'object', properties: { hello: { type: 'string' } }, required: ['hello'] } } as const;
const hello = async () => ({ hello: 'world' });
const naiveTokens = new Map<string, { seen: number }>();

function benchRoutes(app: FastifyInstance): void {
  const open: RouteShorthandOptions = { schema: { response }, config: { auth: { kind: 'public' } } };
  const token: RouteShorthandOptions = { schema: { response }, config: { auth: { kind: 'account', scope: { api: 'domains:read', mcp: 'domains:read' } } } };
  app.get('/bench/open', open, hello);
  app.get('/bench/token', token, hello);
  app.post('/bench/open', open, hello);
  app.get('/bench/naive', {
    ...open,
    onRequest: (request, _reply, done) => {
      const digest = hash('sha256', (request.headers.authorization ?? '').slice('Bearer '.length), 'base64url');
      const known = naiveTokens.get(digest);
      if (known === undefined) naiveTokens.set(digest, { seen: 1 });
      else known.seen += 1;
      done();
    },
  }, hello);
}

serve({ env: process.env, extend: benchRoutes }).catch((error) => {
  process.stderr.write(`bench server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
