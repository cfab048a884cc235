import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Socket } from 'node:net';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../core/errors.js';
import { redactDeep, type Redactor } from '../core/redaction.js';
import './access-log-hook.js';
import { isDashboardRoute, sendDashboard } from './dashboard.js';

/** The one place where errors become HTTP: every response with an error has the spec's shape. */
export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>, requestId?: string) {
  return { error: { code, message, ...(details ? { details } : {}), ...(requestId ? { request_id: requestId } : {}) } };
}

/**
 * Sends an error in the spec's shape. Messages and details may quote what the client sent (an
 * unknown domain id, a path): a secret pasted into the wrong place is redacted here, once, for all.
 */
export function errorSender(redact: Redactor) {
  return (reply: FastifyReply, error: ApiError): FastifyReply => {
    if (error.code === 'rate_limited' && typeof error.details?.retry_after === 'number') {
      reply.header('retry-after', String(error.details.retry_after));
    }
    reply.errorCode = error.code;
    const challenge = bearerChallenge(reply, error);
    if (challenge !== null) reply.header('www-authenticate', challenge);
    const details = error.details === undefined ? undefined : redactDeep(error.details, redact);
    return reply.code(ERROR_STATUS[error.code]).send(errorBody(error.code, redact(error.message), details, reply.request.id));
  };
}

export type SendError = ReturnType<typeof errorSender>;

/**
 * RFC 6750's challenge, on routes a bearer token may call: a 401 names the scheme (and says
 * `invalid_token` when one was presented: unknown, revoked, expired or paused), a missing scope
 * names the scope. A route only a session may call, or anyone, challenges with nothing.
 */
function bearerChallenge(reply: FastifyReply, error: ApiError): string | null {
  const rule = reply.request.routeOptions?.config?.auth;
  if (rule?.kind !== 'account' && rule?.kind !== 'operator') return null;
  if (ERROR_STATUS[error.code] === 401) {
    const presented = /^bearer\s/i.test(String(reply.request.headers.authorization ?? ''));
    return presented ? 'Bearer realm="latchkey", error="invalid_token"' : 'Bearer realm="latchkey"';
  }
  const scope = error.details?.scope;
  if (error.code === 'insufficient_scope' && typeof scope === 'string' && /^[a-z_]+:[a-z_]+$/.test(scope)) {
    return `Bearer realm="latchkey", error="insufficient_scope", scope="${scope}"`;
  }
  return null;
}

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

/** Names the offending field the way a client wrote it: `scopes`, `owner.email`, `limit`. */
function fieldOf(issue: ValidationIssue): string {
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = issue.params as Record<string, unknown>;
  const child = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  return [path, child].filter(Boolean).join('.') || '(body)';
}

function fromFastifyError(error: FastifyError): ApiError | null {
  if (error.validation && error.validation.length > 0) {
    const issue = error.validation[0]!;
    const field = fieldOf(issue);
    const params = issue.params as Record<string, unknown>;
    const reason = params.additionalProperty ? 'is not a known field' : issue.message ?? 'is invalid';
    return new ApiError('invalid_request', `${field} ${reason}`, { field, location: error.validationContext ?? 'body' });
  }
  const status = error.statusCode ?? 500;
  if (status === 404) return new ApiError('not_found', 'not found');
  if (status === 429) return new ApiError('rate_limited', error.message);
  if (status >= 400 && status < 500) {
    // Malformed JSON, a wrong content type, an oversized body: the client's mistake, said plainly.
    return new ApiError('invalid_request', error.message, { field: '(body)', reason: error.code });
  }
  return null;
}

/**
 * Errors Fastify's router raises before a route runs, which bypass the error handler: a path
 * parameter longer than the router allows, a URL that does not decode.
 */
export const frameworkErrorHandler = (sendError: SendError) => (error: FastifyError, _request: unknown, reply: FastifyReply): FastifyReply => {
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed';
  return sendError(reply, new ApiError('invalid_request', message, { field: '(path)', reason: error.code }));
};

export function installErrorHandling(app: FastifyInstance, dashboard: { served: boolean }, sendError: SendError): void {
  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) return sendError(reply, error);
    const mapped = fromFastifyError(error);
    if (mapped) return sendError(reply, mapped);
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, new ApiError('internal_error', 'an internal error occurred; it has been logged'));
  });
  app.setNotFoundHandler((request, reply) =>
    dashboard.served && isDashboardRoute(request)
      ? sendDashboard(reply)
      : sendError(reply, new ApiError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/** Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, garbage). */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(
    errorBody('invalid_request', error.code === 'HPE_HEADER_OVERFLOW' ? 'request headers are too large' : 'malformed HTTP request'),
  );
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
