/**
 * JSON schemas shared by routes: they validate input, serialise output (unknown fields never
 * leave the server) and become the OpenAPI document.
 */
/**
 * Every text input refuses NUL: PostgreSQL cannot store it (a 500 the fuzzer found), and no name,
 * id or password needs it. A schema with its own pattern must exclude NUL itself.
 */
const NO_NUL = '^[^\\u0000]*$';
export const text = (maxLength: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength, pattern: NO_NUL, ...extra }) as const;
const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type as string, 'null'] });

/**
 * Latchkey's responses always carry every property their schema names (an absent value is null),
 * so every object schema in a response requires all of them unless it says otherwise (`/v1/verify`'s
 * answer, or the check of the audit chain, which a token is told only part of). Marked in place,
 * once, on a route's response schemas and on the shared components: a client generated from the
 * document then knows a field is there.
 */
export function everyPropertyRequired(schema: unknown): void {
  if (schema === null || typeof schema !== 'object') return;
  if (Array.isArray(schema)) return schema.forEach(everyPropertyRequired);
  const node = schema as Record<string, unknown>;
  if (node.properties && typeof node.properties === 'object') {
    if (node.required === undefined && Object.isExtensible(node)) node.required = Object.keys(node.properties);
    Object.values(node.properties).forEach(everyPropertyRequired);
  }
  for (const key of ['items', 'anyOf', 'oneOf', 'allOf']) everyPropertyRequired(node[key]);
  if (node.content && typeof node.content === 'object') for (const media of Object.values(node.content)) everyPropertyRequired((media as { schema?: unknown }).schema);
}

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
        request_id: { type: 'string', description: 'the X-Request-Id of the response, also in every log line of the request' },
      },
    },
  },
} as const;

export const ID = text(64, { minLength: 1 });
export const idParams = { type: 'object', required: ['id'], properties: { id: ID } } as const;

/**
 * Cursors are ids handed out by an earlier page (a kind, an underscore and a ULID); anything else
 * is refused rather than compared, which would answer an empty or a first page for nonsense.
 */
const CURSOR = text(64, { pattern: '^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$' });

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  cursor: CURSOR,
} as const;

export const page = (item: Record<string, unknown>) =>
  ({ type: 'object', properties: { data: { type: 'array', items: item }, next_cursor: nullable(text(64)) } }) as const;

const actor = {
  type: 'object',
  properties: { type: { type: 'string' }, id: nullable({ type: 'string' }), name: { type: 'string' } },
} as const;

export const tokenSchema = {
  $id: 'Token',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    type: { type: 'string', enum: ['api', 'mcp', 'message'] },
    status: { type: 'string', enum: ['active', 'paused', 'expired', 'revoked'] },
    scopes: { type: 'array', items: { type: 'string' } },
    effective_scopes: { type: 'array', items: { type: 'string' } },
    domains: nullable({ type: 'array', items: { type: 'string' } }),
    mailbox_id: nullable({ type: 'string' }),
    ip_allowlist: nullable({ type: 'array', items: { type: 'string' } }),
    visible_prefix: { type: 'string' },
    last4: { type: 'string' },
    created_at: { type: 'string' },
    created_by: actor,
    expires_at: nullable({ type: 'string' }),
    paused_at: nullable({ type: 'string' }),
    first_used_at: nullable({ type: 'string' }),
    last_used_at: nullable({ type: 'string' }),
    last_used_ip: nullable({ type: 'string' }),
    revoked_at: nullable({ type: 'string' }),
    revoke_reason: nullable({ type: 'string' }),
    rotated_from: nullable({ type: 'string' }),
    rotated_to: nullable({ type: 'string' }),
    rate_limit: nullable({ type: 'object', properties: { requests: { type: 'integer' }, per: { type: 'string' } } }),
  },
} as const;

export const tokenRef = { $ref: 'Token#' } as const;
export const created = { type: 'object', properties: { token: tokenRef, secret: { type: 'string' } } } as const;
export const single = { type: 'object', properties: { token: tokenRef } } as const;

export const accessLogEntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, at: { type: 'string' }, token_id: { type: 'string' }, token_name: { type: 'string' },
    method: { type: 'string' }, route: { type: 'string' }, path: { type: 'string' }, status: { type: 'integer' },
    ip: { type: 'string' }, user_agent: { type: 'string' }, duration_ms: { type: 'number' }, error_code: nullable({ type: 'string' }),
    request_summary: { type: 'string' },
  },
} as const;

export const accessLogQuery = {
  status: { type: 'integer', minimum: 100, maximum: 599 },
  method: { type: 'string', enum: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'get', 'post', 'patch', 'put', 'delete', 'head', 'options'] },
  since: { type: 'string', format: 'date-time' },
  until: { type: 'string', format: 'date-time' },
  cursor: CURSOR,
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
} as const;

/** A change that answers with nothing. */
export const NO_CONTENT = { 204: { description: 'Done; there is nothing to return', type: 'null' } } as const;

export const activitySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, domain_id: { type: 'string' }, event: { type: 'string', enum: ['accepted', 'delivered'] },
    from: { type: 'string' }, to: { type: 'string' }, subject: { type: 'string' }, at: { type: 'string' },
  },
} as const;

export const auditEventSchema = {
  $id: 'AuditEvent',
  type: 'object',
  properties: {
    id: { type: 'string' }, seq: { type: 'integer' }, at: { type: 'string' }, action: { type: 'string' },
    actor: actor,
    target: nullable({ type: 'object', properties: { type: { type: 'string' }, id: nullable({ type: 'string' }), name: nullable({ type: 'string' }) } }),
    ip: nullable({ type: 'string' }), user_agent: nullable({ type: 'string' }),
    details: { type: 'object', additionalProperties: true },
    prev_hash: { type: 'string' }, key_id: nullable({ type: 'string' }), hash: { type: 'string' },
  },
} as const;

/** What `verify` answers; a token is told `valid` alone. */
export const chainCheckSchema = {
  type: 'object',
  required: ['valid'],
  properties: {
    valid: { type: 'boolean' }, checked: { type: 'integer' }, unsigned: { type: 'integer' }, broken: { type: 'integer' },
    first_broken: nullable({
      type: 'object',
      properties: { id: nullable({ type: 'string' }), seq: { type: 'integer' }, reason: { type: 'string', enum: ['hash_mismatch', 'link_mismatch', 'missing', 'unknown_key', 'unsigned', 'unanchored'] } },
    }),
    head: { type: 'object', properties: { seq: { type: 'integer' }, hash: { type: 'string' } } },
  },
} as const;

/** A page as JSON, or the same rows as CSV when `format=csv`. */
export const jsonOrCsv = (schema: Record<string, unknown>) => ({
  description: 'A page of rows; with format=csv, the same rows as CSV (the next page’s cursor in X-Next-Cursor)',
  content: { 'application/json': { schema }, 'text/csv': { schema: { type: 'string' } } },
});

export const domainSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, created_at: { type: 'string' } },
} as const;

export const mailboxSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, domain_id: { type: 'string' }, address: { type: 'string' }, created_at: { type: 'string' } },
} as const;

export const accountSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, plan: { type: 'string' }, created_at: { type: 'string' } },
} as const;

export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, account_id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' },
    role: { type: 'string' }, created_at: { type: 'string' },
  },
} as const;

/** A name shown to people: it reads as stored, and shows something. */
export const DISPLAY_NAME = (maxLength: number) => text(maxLength, { minLength: 1, 'x-display': 'name' });
export const TOKEN_NAME = DISPLAY_NAME(100);
export const DESCRIPTION = text(1000, { 'x-display': 'text' });
export const REASON = text(500, { 'x-display': 'text' });
export const SCOPE_LIST = { type: 'array', minItems: 1, maxItems: 100, items: text(64) } as const;
export const DOMAIN_LIST = nullable({ type: 'array', maxItems: 100, items: ID });
export const IP_LIST = nullable({ type: 'array', maxItems: 100, items: text(64) });
export const EXPIRES_IN = text(16);
/** RFC 3339, a real day and time: `2030-02-30` or `T24:00:00` is refused, not rolled over. */
export const EXPIRES_AT = nullable(text(40, { format: 'date-time' }));
export const EMAIL = text(254, { format: 'email' });
export const RATE_LIMIT = nullable({
  type: 'object',
  required: ['requests', 'per'],
  additionalProperties: false,
  properties: { requests: { type: 'integer', minimum: 1, maximum: 1_000_000 }, per: text(8) },
});
export const PASSWORD = text(1024, { minLength: 10 });
