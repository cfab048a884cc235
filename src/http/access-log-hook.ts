import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { TokenGrant } from '../core/policy.js';
import type { AccessLogWriter } from '../services/access-log.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token a request presented, once recognised, whether or not it was then allowed. */
    presentedToken: TokenGrant | null;
  }
  interface FastifyReply {
    errorCode: string | null;
  }
}

/** What was asked, never with what: query parameter names and the body's size, no values. */
function summarise(url: string, contentLength: string | undefined): string {
  const q = url.indexOf('?');
  const keys = q < 0 ? [] : [...new URLSearchParams(url.slice(q)).keys()];
  const parts = [];
  if (keys.length) parts.push(`query: ${[...new Set(keys)].join(', ')}`);
  if (contentLength && contentLength !== '0') parts.push(`body: ${Number(contentLength) || 0} bytes`);
  return parts.join('; ');
}

export function installAccessLog(app: FastifyInstance, writer: AccessLogWriter, clock: Clock): void {
  app.decorateRequest('presentedToken', null);
  app.decorateReply('errorCode', null);
  app.addHook('onResponse', (request, reply, done) => {
    const grant = request.presentedToken;
    if (grant !== null) {
      const url = request.url;
      const q = url.indexOf('?');
      writer.record({
        at: clock.now(),
        account_id: grant.accountId,
        token_id: grant.id,
        token_name: grant.name,
        method: request.method,
        route: request.routeOptions.url ?? '(unmatched)',
        path: q < 0 ? url : url.slice(0, q),
        status: reply.statusCode,
        ip: request.ip,
        user_agent: String(request.headers['user-agent'] ?? '').slice(0, 512),
        duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
        error_code: reply.errorCode,
        request_summary: summarise(url, request.headers['content-length']),
      });
    }
    done();
  });
}
