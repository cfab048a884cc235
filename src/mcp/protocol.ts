import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';

/**
 * What the endpoint speaks: every revision the SDK serves over a plain `initialize` handshake
 * (2024-11-05 to 2025-11-25), and 2026-07-28, where each request carries its own envelope and no
 * handshake happens. The SDK does not export its list of the newer ones, so it is named here; a
 * test connects with the SDK's own client in each era.
 */
export const LEGACY_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];
export const PROTOCOL_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];

/** What a request without `MCP-Protocol-Version` is taken to speak (the transport spec says so). */
export const ASSUMED_VERSION = '2025-03-26';

/** JSON-RPC batches were part of 2024-11-05 and 2025-03-26 only; 2025-06-18 removed them. */
const FIRST_VERSION_WITHOUT_BATCHES = '2025-06-18';
/** Messages in one batch, where batches exist: an agent sends one or two; this bounds a flood. */
export const MAX_BATCH = 20;
/** A request body's bound, in bytes: as the REST API's (a message's text is up to 100,000 characters). */
export const MAX_BODY_BYTES = 1_048_576;

/** JSON-RPC's codes, and the one the SDK uses for what the transport refuses. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const SERVER_ERROR = -32000;

export type ProtocolProblem = { status: number; code: number; message: string; data?: Record<string, unknown> };

/** `MCP-Protocol-Version`: absent is the assumed version; one the endpoint does not speak is `400`. */
export function versionProblem(header: string | string[] | undefined): ProtocolProblem | null {
  if (header === undefined) return null;
  if (typeof header === 'string' && PROTOCOL_VERSIONS.includes(header)) return null;
  return {
    status: 400,
    code: SERVER_ERROR,
    message: `Bad Request: unsupported MCP-Protocol-Version; this server speaks ${PROTOCOL_VERSIONS.join(', ')}`,
    data: { supported: [...PROTOCOL_VERSIONS] },
  };
}

/** A batch is refused where the revision has none, and bounded where it has. */
export function batchProblem(body: unknown, header: string | undefined): ProtocolProblem | null {
  if (!Array.isArray(body)) return null;
  const version = header ?? ASSUMED_VERSION;
  if (version >= FIRST_VERSION_WITHOUT_BATCHES) {
    return { status: 400, code: INVALID_REQUEST, message: `Invalid Request: protocol revision ${version} has no JSON-RPC batches; send one message per request` };
  }
  if (body.length === 0) return { status: 400, code: INVALID_REQUEST, message: 'Invalid Request: an empty batch' };
  if (body.length > MAX_BATCH) {
    return { status: 400, code: INVALID_REQUEST, message: `Invalid Request: a batch holds at most ${MAX_BATCH} messages` };
  }
  // Answers are matched to requests by id: two requests with one id would run, and one of them
  // (a send, say) would never be answered.
  const ids = body.filter((message) => methodOf(message) !== null).map(idOf).filter((id) => id !== null).map((id) => JSON.stringify(id));
  if (new Set(ids).size !== ids.length) return { status: 400, code: INVALID_REQUEST, message: 'Invalid Request: two requests of the batch share an id' };
  return null;
}

/** The JSON-RPC messages of a body: one, or a batch's. */
export const messagesOf = (body: unknown): unknown[] => (Array.isArray(body) ? body : [body]);

/** The method of a message, when it is one (a request or a notification). */
export function methodOf(message: unknown): string | null {
  if (message === null || typeof message !== 'object') return null;
  const method = (message as { method?: unknown }).method;
  return typeof method === 'string' ? method : null;
}

/** The id to echo in an error about a whole body: a single request's, else null (as JSON-RPC says). */
export function idOf(body: unknown): string | number | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

export const jsonRpcError = (problem: ProtocolProblem, id: string | number | null = null) => ({
  jsonrpc: '2.0' as const,
  error: { code: problem.code, message: problem.message, ...(problem.data ? { data: problem.data } : {}) },
  id,
});
