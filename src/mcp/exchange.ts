import { printable } from '../core/display-text.js';
import { performance } from 'node:perf_hooks';
import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import { ProtocolError, ProtocolErrorCode, Server, type CallToolResult, type Tool } from '@modelcontextprotocol/server';
import { MCP_SCOPES } from '../core/catalog.js';
import type { Clock } from '../core/clock.js';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../core/errors.js';
import { decide, type Denial, type TokenGrant } from '../core/policy.js';
import type { Redactor } from '../core/redaction.js';
import { TYPE_WORD } from '../core/token-format.js';
import type { AccessLogWriter } from '../services/access-log.js';
import type { Principal } from '../services/context.js';
import type { PlatformService } from '../services/platform.js';
import type { MailService } from '../services/mail.js';
import { scopeFor, TOOL_SCOPES, TOOLS, TOOL_BY_NAME, type ToolDef, type ToolName } from './tools.js';

export interface ExchangeDeps {
  clock: Clock;
  platform: PlatformService;
  mail: MailService;
  accessLog: AccessLogWriter;
  redact: Redactor;
  /** Counts a further tool call of the same request against the token's rate limit. */
  chargeAgain: (grant: TokenGrant) => Promise<Denial | null>;
  /** This deployment's token prefix, to name the kind of token a refusal asks for. */
  tokenPrefix: string;
  onToolFailure: (error: unknown, tool: string) => void;
  /** The endpoint's canonical URL as this request reached it: the audience a token must be for. */
  audienceOf: (request: FastifyRequest) => string;
}

const SERVER_INFO = { name: 'latchkey', title: 'Latchkey', version: '0.1.0' };
const INSTRUCTIONS =
  'Latchkey guards an email platform. Every tool acts with exactly the access of the token you were given: ' +
  'call whoami to learn what that is. Domains and mailboxes outside the token’s reach are reported as not found.';

/** A tool as `tools/list` shows it, its schemas converted once (as the SDK itself converts zod's). */
function listing(def: ToolDef): Tool {
  const json = (schema: z.ZodObject, io: 'input' | 'output') => ({ ...z.toJSONSchema(schema, { target: 'draft-2020-12', io }), type: 'object' }) as Tool['inputSchema'];
  return { name: def.name, title: def.title, description: def.description, inputSchema: json(def.input, 'input'), outputSchema: json(def.output, 'output'), annotations: def.annotations };
}
const LISTINGS: ReadonlyMap<string, Tool> = new Map(TOOLS.map((def) => [def.name, listing(def)]));

/** What a summary may name of the arguments: their names, each cut short, never their values. */
const MAX_NAMES = 20;
const MAX_NAME = 64;
export function argumentNames(args: unknown, redact: Redactor): string[] {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return [];
  return Object.keys(args).slice(0, MAX_NAMES).map((name) => redact(name).slice(0, MAX_NAME));
}

/**
 * One argument problem in words, bounded: zod names every unknown key in full, and an error goes
 * into a model's context, so at most a few names, each cut short, and a message of bounded length.
 */
const MAX_PROBLEM = 300;
const MAX_KEYS_NAMED = 5;
function problemOf(issue: z.core.$ZodIssue): string {
  const where = issue.path.map((part) => String(part).slice(0, MAX_NAME)).join('.') || '(arguments)';
  const names = (keys: readonly string[]) =>
    keys.slice(0, MAX_KEYS_NAMED).map((key) => JSON.stringify(key.slice(0, MAX_NAME))).join(', ') + (keys.length > MAX_KEYS_NAMED ? ` and ${keys.length - MAX_KEYS_NAMED} more` : '');
  const message = issue.code === 'unrecognized_keys' ? `unknown argument${issue.keys.length === 1 ? '' : 's'} ${names(issue.keys)}` : issue.message;
  return `${where}: ${message.slice(0, MAX_PROBLEM)}`;
}

const refusal = (code: ErrorCode, message: string, details?: Record<string, unknown>): Denial => ({ code, message, ...(details ? { details } : {}) });

/**
 * One HTTP request to `/mcp` by one token: the grant the gate admitted, the caller as a REST route
 * would see it, and the MCP server answering it (a new one per request: nothing is kept between
 * requests, so any node answers any request). Each tool call is decided, run and logged here.
 */
export class McpExchange {
  /** Tool calls of this request that have their own access-log entry. */
  loggedCalls = 0;
  /** Tool calls this request has asked for: the gate counted the request as the first. */
  private calls = 0;
  private readonly callable: readonly ToolName[];

  constructor(
    readonly grant: TokenGrant,
    private readonly principal: Principal,
    private readonly request: FastifyRequest,
    private readonly deps: ExchangeDeps,
  ) {
    this.callable = TOOLS.filter((def) => this.refusalOf(def.name) === null).map((def) => def.name);
  }

  /**
   * Whether this token may call the tool, decided as for a REST route (`decide`, on the grant the
   * gate just admitted, with the scope the tool's table row names for this token type).
   */
  private refusalOf(name: ToolName): Denial | null {
    const scope = scopeFor(name, this.grant.type);
    if (scope === undefined) {
      const needed = TOOL_SCOPES[name].mcp;
      const kind = `${this.deps.tokenPrefix}_${TYPE_WORD.mcp}_`;
      return refusal('insufficient_scope', `${name} needs an AI-agent token (${kind}) with the '${needed}' scope; a ${this.grant.type} token cannot call it`, { scope: needed });
    }
    return decide(this.grant, { scope, ip: this.request.ip, now: this.deps.clock.now(), audience: this.deps.audienceOf(this.request) });
  }

  /**
   * A single `tools/call` of a known tool this AI-agent token lacks the scope for: the refusal, and
   * the scopes a token would need (those held and the missing one), so that the request can be
   * answered with an HTTP scope challenge the client may step up from by asking the authorization
   * server for more. Only for a token that server issued, and scopes it grants: a token someone
   * pasted into the agent, a message token, or a tool its token type may never call cannot be
   * helped by asking again, and gets the tool error that says why, which the agent can read out.
   */
  scopeChallengeOf(body: unknown): { denial: Denial; scope: string } | null {
    if (this.grant.type !== 'mcp' || this.grant.audience === null || body === null || typeof body !== 'object' || Array.isArray(body)) return null;
    const { method, params } = body as { method?: unknown; params?: { name?: unknown } };
    if (method !== 'tools/call') return null;
    const def = TOOL_BY_NAME.get(String(params?.name));
    if (def === undefined) return null;
    const denial = this.refusalOf(def.name);
    const needed = scopeFor(def.name, this.grant.type);
    if (denial?.code !== 'insufficient_scope' || needed === undefined) return null;
    const scope = MCP_SCOPES.filter((held) => held === needed || this.grant.granted.has(held)).join(' ');
    return { denial, scope };
  }

  server(): Server {
    const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS });
    server.setRequestHandler('tools/list', () => ({ tools: this.callable.map((name) => LISTINGS.get(name)!) }));
    server.setRequestHandler('tools/call', async (request) => {
      const def = TOOL_BY_NAME.get(request.params.name);
      if (def === undefined) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool '${this.deps.redact(request.params.name).slice(0, MAX_NAME)}'; tools/list names the tools this token may call`);
      }
      return server.projectCallToolResult(await this.call(def, request.params.arguments), LISTINGS.get(def.name)!.outputSchema);
    });
    return server;
  }

  private async call(def: ToolDef, args: Record<string, unknown> | undefined): Promise<CallToolResult> {
    const at = this.deps.clock.now();
    const started = performance.now();
    const outcome = await this.outcomeOf(def, args ?? {});
    const code = 'isError' in outcome ? outcome.code : null;
    this.loggedCalls += 1;
    this.record({
      at,
      route: `mcp:${def.name}`,
      status: code === null ? 200 : ERROR_STATUS[code],
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      error_code: code,
      request_summary: summaryOf([], argumentNames(args, this.deps.redact)),
    });
    if ('isError' in outcome) return { content: [{ type: 'text', text: `${outcome.code}: ${outcome.text}` }], isError: true };
    return { content: [{ type: 'text', text: outcome.text }], structuredContent: outcome.structured };
  }

  private async outcomeOf(def: ToolDef, args: Record<string, unknown>): Promise<{ structured: Record<string, unknown>; text: string } | { isError: true; code: ErrorCode; text: string }> {
    const fail = (code: ErrorCode, text: string) => ({ isError: true as const, code, text: this.deps.redact(text) });
    const denied = this.refusalOf(def.name) ?? (this.calls++ > 0 ? await this.deps.chargeAgain(this.grant) : null);
    if (denied !== null) return fail(denied.code, denied.message);
    const parsed = def.input.safeParse(args);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map(problemOf);
      return fail('invalid_request', `invalid arguments for ${def.name}: ${problems.join('; ')}`);
    }
    const principal: Principal = { ...this.principal, requiredScope: scopeFor(def.name, this.grant.type) ?? null };
    try {
      return await def.run({ grant: this.grant, principal, platform: this.deps.platform, mail: this.deps.mail, callable: this.callable }, parsed.data);
    } catch (error) {
      if (error instanceof ApiError) return fail(error.code, error.message);
      this.deps.onToolFailure(error, def.name);
      return fail('internal_error', 'the tool failed; the server logged why');
    }
  }

  record(entry: RequestEntry): void {
    recordAccess(this.deps, this.grant, this.request, entry);
  }
}


/** What differs between the entries of one request. */
export interface RequestEntry {
  route: string;
  status: number;
  duration_ms: number;
  error_code: string | null;
  request_summary: string;
  at: number;
}

/** An access-log entry for a request to `/mcp`, with the fields the REST hook fills the same way. */
export function recordAccess(deps: ExchangeDeps, grant: TokenGrant, request: FastifyRequest, entry: RequestEntry): void {
  deps.accessLog.record({
    ...entry,
    account_id: grant.accountId,
    token_id: grant.id,
    token_name: grant.name,
    method: request.method,
    path: '/mcp',
    ip: request.ip,
    user_agent: String(request.headers['user-agent'] ?? '').slice(0, 512),
    request_summary: printable(deps.redact(entry.request_summary)),
  });
}

/** What a summary says of a request: the methods it carried and the argument names of a call. */
export function summaryOf(methods: readonly string[], argumentNamesGiven: readonly string[]): string {
  const parts: string[] = [];
  if (methods.length) parts.push(`method: ${methods.join(', ')}`);
  if (argumentNamesGiven.length) parts.push(`arguments: ${argumentNamesGiven.join(', ')}`);
  return parts.join('; ');
}
