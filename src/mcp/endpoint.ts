import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { createMcpHandler, isLegacyRequest, WebStandardStreamableHTTPServerTransport, type AuthInfo } from '@modelcontextprotocol/server';
import { MCP_SCOPES } from '../core/catalog.js';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../core/errors.js';
import type { Denial, TokenGrant } from '../core/policy.js';
import { TYPE_WORD, type TokenType } from '../core/token-format.js';
import { principalOf } from '../http/auth.js';
import { MCP_PATH, mcpResourceOf, publicBaseOf } from '../http/public-url.js';
import { canonicalHref } from '../core/oauth/resource.js';
import type { AppContext } from '../http/context.js';
import type {} from '../http/access-log-hook.js';
import { argumentNames, McpExchange, recordAccess, summaryOf, type ExchangeDeps } from './exchange.js';
import {
  batchProblem, idOf, jsonRpcError, MAX_BODY_BYTES, messagesOf, methodOf, PARSE_ERROR, SERVER_ERROR, versionProblem,
  type ProtocolProblem,
} from './protocol.js';
import { TOOL_BY_NAME } from './tools.js';

export { MCP_PATH };
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
const MAX_AUTHORIZATION_LENGTH = 512;
const ALLOWED_HEADERS = 'authorization, content-type, accept, mcp-protocol-version, mcp-method, mcp-name, last-event-id';
/** Headers the SDK reads; the credential stays here. */
const FORWARDED_HEADERS = ['accept', 'content-type', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'last-event-id'];

/** What the endpoint learnt about a request's token before its body was read. */
interface Presented {
  grant: TokenGrant;
  denial: Denial | null;
  exchange?: McpExchange;
}

/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP, stateless (a new server for every
 * request), in the same app as the REST API and on the same decision path: the token gate admits
 * the token (status, expiry, plan, address, rate limit), each tool then asks the policy for its
 * scope, and the platform service applies the domain constraint as for a REST route. With the
 * RFC 9728 document that says how to authenticate.
 */
export function mcpRoutes(app: FastifyInstance, ctx: AppContext): void {
  const allowedOrigins = new Set(ctx.config.mcp.allowedOrigins);
  const kind = (type: TokenType) => `${ctx.config.tokenPrefix}_${TYPE_WORD[type]}_`;
  const presented = new WeakMap<FastifyRequest, Presented>();
  const deps: ExchangeDeps = {
    clock: ctx.clock,
    platform: ctx.platform,
    mail: ctx.mail,
    accessLog: ctx.accessLog,
    redact: ctx.redact,
    chargeAgain: (grant) => ctx.gate.chargeAgain(grant),
    tokenPrefix: ctx.config.tokenPrefix,
    onToolFailure: (error, tool) => app.log.error({ err: error, tool }, 'MCP tool failed'),
    audienceOf: (request) => canonicalHref(mcpResourceOf(request, ctx.config)),
  };
  const exchangeOf = (authInfo: AuthInfo | undefined): McpExchange => {
    const exchange = authInfo?.extra?.exchange;
    if (!(exchange instanceof McpExchange)) throw new Error('an MCP request reached the SDK without its exchange');
    return exchange;
  };
  // 2026-07-28 requests (each with its own envelope); 2025-era ones are served below.
  const modern = createMcpHandler(({ authInfo }) => exchangeOf(authInfo).server(), {
    legacy: 'reject',
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (error) => app.log.debug({ err: error }, 'MCP request refused by the SDK'),
  });

  const baseOf = (request: FastifyRequest): string => publicBaseOf(request, ctx.config);
  const resourceMetadataOf = (request: FastifyRequest) => `${baseOf(request)}${RESOURCE_METADATA_PATH}`;

  const send = (reply: FastifyReply, status: number, problem: ProtocolProblem, errorCode: ErrorCode, id: string | number | null = null) => {
    reply.errorCode = errorCode;
    return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(jsonRpcError(problem, id));
  };

  /** A refusal in JSON-RPC's shape, with the HTTP status, challenge and Retry-After the REST API would give it. */
  const refuse = (request: FastifyRequest, reply: FastifyReply, denial: Denial, neededScope?: string) => {
    const presentedToken = /^bearer\s/i.test(String(request.headers.authorization ?? ''));
    const metadata = `resource_metadata="${resourceMetadataOf(request)}"`;
    const status = ERROR_STATUS[denial.code];
    if (status === 401) reply.header('www-authenticate', presentedToken ? `Bearer ${metadata}, error="invalid_token"` : `Bearer ${metadata}`);
    if (denial.code === 'insufficient_scope') reply.header('www-authenticate', `Bearer ${metadata}, error="insufficient_scope"${neededScope ? `, scope="${neededScope}"` : ''}`);
    const retryAfter = denial.details?.retry_after;
    if (denial.code === 'rate_limited' && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    const data = { code: denial.code, ...(denial.details ? { details: denial.details } : {}), request_id: request.id };
    return send(reply, status, { status, code: SERVER_ERROR, message: ctx.redact(denial.message), data }, denial.code, idOf(request.body));
  };

  const checkOrigin: onRequestHookHandler = (request, reply, done) => {
    const origin = request.headers.origin;
    if (origin === undefined) return done();
    if (!allowedOrigins.has(origin)) {
      send(reply, 403, { status: 403, code: SERVER_ERROR, message: 'Forbidden: requests from this Origin are not allowed' }, 'forbidden');
      return;
    }
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-expose-headers', 'www-authenticate, retry-after, x-request-id');
    done();
  };

  /**
   * The token, before the body is read: none or an unknown one is refused here; a recognised one
   * refused by the gate (revoked, paused, another address, its rate limit spent, an api token) is
   * refused once the body is read, so that its access-log entry can name the tool it asked for.
   */
  const authenticate: onRequestHookHandler = (request, reply, done) => {
    const header = request.headers.authorization;
    const space = header?.indexOf(' ') ?? -1;
    if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH || space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') {
      const message = header === undefined
        ? `a token is required: Authorization: Bearer <an AI-agent token (${kind('mcp')}…) or a message token (${kind('message')}…)>`
        : 'use Authorization: Bearer <token>';
      refuse(request, reply, { code: 'unauthorized', message });
      return;
    }
    const admit = (result: { grant: TokenGrant | null; denial: Denial | null }) => {
      if (result.grant === null) {
        refuse(request, reply, { code: 'unauthorized', message: 'a valid token is required; this one is not known here' });
        return;
      }
      request.presentedToken = result.grant;
      presented.set(request, { grant: result.grant, denial: apiTokenRefused(result.grant, result.denial, kind) });
      done();
    };
    try {
      const result = ctx.gate.check(header.slice(space + 1).trim(), { scope: { mcp: null, message: null }, ip: request.ip, audience: deps.audienceOf(request) });
      if (result instanceof Promise) result.then(admit, done);
      else admit(result);
    } catch (error) {
      done(error as Error);
    }
  };

  const admitted: preHandlerHookHandler = (request, reply, done) => {
    const denial = presented.get(request)?.denial ?? null;
    if (denial === null) return done();
    refuse(request, reply, denial);
  };

  /** One access-log entry for what the request's tool calls did not log themselves. */
  const logRequest = (request: FastifyRequest, reply: FastifyReply) => {
    const found = presented.get(request);
    if (found === undefined) return;
    const messages = request.body === undefined ? [] : messagesOf(request.body);
    const exchange = found.exchange;
    if (exchange !== undefined && messages.length > 0 && exchange.loggedCalls >= messages.length) return;
    const single = messages.length === 1 ? messages[0] : undefined;
    const asked = methodOf(single) === 'tools/call' ? TOOL_BY_NAME.get(String((single as { params?: { name?: unknown } }).params?.name)) : undefined;
    const methods = asked ? [] : [...new Set(messages.map(methodOf).filter((m): m is string => m !== null))].slice(0, 10).map((m) => ctx.redact(m).slice(0, 64));
    const args = asked ? argumentNames((single as { params?: { arguments?: unknown } }).params?.arguments, ctx.redact) : [];
    recordAccess(deps, found.grant, request, {
      at: ctx.clock.now(),
      route: asked ? `mcp:${asked.name}` : MCP_PATH,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      error_code: reply.errorCode,
      request_summary: summaryOf(methods, args),
    });
  };

  app.register(async (scope) => {
    scope.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
      const denial = presented.get(request)?.denial ?? null;
      if (denial !== null) return refuse(request, reply, denial);
      if (error instanceof ApiError) return refuse(request, reply, { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) });
      const status = error.statusCode ?? 500;
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 413, { status: 413, code: SERVER_ERROR, message: `Payload Too Large: a request body holds at most ${MAX_BODY_BYTES} bytes` }, 'invalid_request');
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(reply, 415, { status: 415, code: SERVER_ERROR, message: 'Unsupported Media Type: Content-Type must be application/json' }, 'invalid_request');
      if (status >= 400 && status < 500) return send(reply, 400, { status: 400, code: PARSE_ERROR, message: `Parse error: ${ctx.redact(error.message)}` }, 'invalid_request');
      request.log.error({ err: error }, 'unhandled error');
      return send(reply, 500, { status: 500, code: -32603, message: 'Internal error; it has been logged' }, 'internal_error', idOf(request.body));
    });

    // RFC 9728: at the path-inserted URL for /mcp, and at the root for clients that look there.
    scope.get(RESOURCE_METADATA_PATH, { schema: { hide: true } }, resourceMetadata);
    scope.get('/.well-known/oauth-protected-resource', { schema: { hide: true } }, resourceMetadata);
    async function resourceMetadata(request: FastifyRequest, reply: FastifyReply) {
      reply.header('access-control-allow-origin', '*');
      return {
        resource: `${baseOf(request)}${MCP_PATH}`,
        resource_name: 'Latchkey',
        authorization_servers: [baseOf(request)],
        bearer_methods_supported: ['header'],
        scopes_supported: MCP_SCOPES,
      };
    }

    const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.header('allow', 'POST');
      return send(reply, 405, { status: 405, code: SERVER_ERROR, message: 'Method Not Allowed: this server is stateless and offers no event stream; POST each JSON-RPC message' }, 'invalid_request');
    };
    scope.route({ method: ['GET', 'DELETE', 'PUT', 'PATCH'], url: MCP_PATH, schema: { hide: true }, onRequest: checkOrigin, handler: notAllowed });
    scope.options(MCP_PATH, { schema: { hide: true }, onRequest: checkOrigin }, async (request, reply) => {
      if (request.headers.origin !== undefined) {
        reply.header('access-control-allow-methods', 'POST').header('access-control-allow-headers', ALLOWED_HEADERS).header('access-control-max-age', '600');
      }
      return reply.code(204).send();
    });

    scope.post(MCP_PATH, {
      schema: { hide: true },
      bodyLimit: MAX_BODY_BYTES,
      onRequest: [checkOrigin, authenticate],
      preHandler: admitted,
      onResponse: (request, reply, done) => {
        logRequest(request, reply);
        done();
      },
    }, async (request, reply) => {
      const found = presented.get(request)!;
      const header = request.headers['mcp-protocol-version'];
      const id = idOf(request.body);
      const version = versionProblem(header);
      if (version !== null) return send(reply, version.status, version, 'invalid_request', id);
      if (request.body === undefined) return send(reply, 415, { status: 415, code: SERVER_ERROR, message: 'Unsupported Media Type: send a JSON-RPC message as application/json' }, 'invalid_request');
      const batch = batchProblem(request.body, header as string | undefined);
      if (batch !== null) return send(reply, batch.status, batch, 'invalid_request');

      // The caller as a REST route builds it, then the exchange that answers this one request.
      request.caller = { kind: 'token', grant: found.grant };
      const exchange = new McpExchange(found.grant, principalOf(request, ctx.config, ctx.clock), request, deps);
      found.exchange = exchange;
      // Refused as HTTP rather than as a tool error, so that an OAuth client can ask for the scope and retry.
      const challenge = exchange.scopeChallengeOf(request.body);
      if (challenge !== null) return refuse(request, reply, challenge.denial, challenge.scope);
      const authInfo: AuthInfo = { token: found.grant.id, clientId: found.grant.id, scopes: [...found.grant.effective], extra: { exchange } };
      const headers = new Headers();
      for (const name of FORWARDED_HEADERS) {
        const raw = request.headers[name];
        const value = Array.isArray(raw) ? raw.join(', ') : raw;
        // The SDK quotes a header it finds wrong in its answer, so one holding a secret is not passed
        // on (redacting it instead would not do: the redaction mark is not a valid header value).
        if (value !== undefined && ctx.redact(value) === value) headers.set(name, value);
      }
      // The client going away ends what the SDK is still streaming to it (a 2026-07-28 subscription).
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const web = new Request(`${baseOf(request)}${MCP_PATH}`, { method: 'POST', headers, signal: gone.signal });
      const response = await answer(web, request.body, authInfo, exchange);
      if (response.status >= 500) request.log.error({ status: response.status }, 'the MCP SDK answered with a server error');
      reply.code(response.status);
      response.headers.forEach((value, name) => {
        if (name !== 'content-length') reply.header(name, value);
      });
      if (response.status >= 400) reply.errorCode = response.status >= 500 ? 'internal_error' : 'invalid_request';
      if (response.body === null) return reply.send();
      const streamed = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
      return reply.send(streamed ? Readable.fromWeb(response.body as NodeReadableStream) : Buffer.from(await response.arrayBuffer()));
    });

    /** 2026-07-28 through the SDK's handler; the 2025 revisions through a stateless transport of their own, answering JSON. */
    async function answer(web: Request, body: unknown, authInfo: AuthInfo, exchange: McpExchange): Promise<Response> {
      if (!(await isLegacyRequest(web, body))) return modern.fetch(web, { authInfo, parsedBody: body });
      const server = exchange.server();
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true, maxRequestBodySize: MAX_BODY_BYTES });
      await server.connect(transport);
      try {
        return await transport.handleRequest(web, { authInfo, parsedBody: body });
      } finally {
        await transport.close();
        await server.close();
      }
    }

    // Before the server stops: open subscriptions end, so that no stream holds the close open.
    scope.addHook('preClose', async () => modern.close());
  });
}

/** An api token is a real token of the wrong kind: RFC 6750's `insufficient_scope`, said plainly. */
function apiTokenRefused(grant: TokenGrant, denial: Denial | null, kind: (type: TokenType) => string): Denial | null {
  if (denial?.code !== 'forbidden' || grant.type !== 'api') return denial;
  return {
    code: 'insufficient_scope',
    message: `an API token (${kind('api')}) cannot use the MCP endpoint: create an AI-agent token (${kind('mcp')}) or a message token (${kind('message')}) for the agent`,
    details: { token_type: 'api' },
  };
}
