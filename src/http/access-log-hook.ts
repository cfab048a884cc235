import { printable } from '../core/display-text.js';
import type { FastifyInstance, onResponseHookHandler } from 'fastify';
import { hooksOf } from './route-hooks.js';
import type { Clock } from '../core/clock.js';
import type { TokenGrant } from '../core/policy.js';
import type { Redactor } from '../core/redaction.js';
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
function summarise(url: string, query: number, contentLength: string | undefined): string {
  if (query < 0 && (contentLength === undefined || contentLength === '0')) return '';
  const keys = query < 0 ? [] : [...new URLSearchParams(url.slice(query)).keys()];
  const parts = [];
  if (keys.length) parts.push(`query: ${printable([...new Set(keys)].join(', '))}`);
  if (contentLength && contentLength !== '0') parts.push(`body: ${Number(contentLength) || 0} bytes`);
  return parts.join('; ');
}

/**
 * Routes a token may call get an `onResponse` hook that records the request, with the route's
 * path captured when it is registered; other routes carry no hook at all. A secret pasted into the
 * path (`/v1/tokens/lk_live_…`) or the query's names is redacted before it is recorded.
 */
export function installAccessLog(app: FastifyInstance, writer: AccessLogWriter, clock: Clock, redact: Redactor): void {
  app.decorateRequest('presentedToken', null);
  app.decorateReply('errorCode', null);
  app.addHook('onRoute', (route) => {
    if (route.config?.auth?.kind !== 'account') return;
    const routePath = route.url;
    const record: onResponseHookHandler = (request, reply, done) => {
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
          route: routePath,
          path: redact(q < 0 ? url : url.slice(0, q)),
          status: reply.statusCode,
          ip: request.ip,
          user_agent: String(request.headers['user-agent'] ?? '').slice(0, 512),
          duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
          error_code: reply.errorCode,
          request_summary: redact(summarise(url, q, request.headers['content-length'])),
        });
      }
      done();
    };
    route.onResponse = [...hooksOf(route.onResponse), record];
  });
}
