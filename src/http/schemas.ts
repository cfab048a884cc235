/**
 * The shapes of the API, declared once in TypeBox: each is a JSON schema (validation, serialisation
 * and the OpenAPI document) and a TypeScript type (what a handler receives and must return).
 * Objects require every property they name unless it is marked optional: Latchkey's responses
 * always carry their fields (an absent value is null), so a generated client knows they are there.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox';
import { PLAN_NAMES } from '../core/catalog.js';
import type { TokenStatus } from '../core/policy.js';
import { TOKEN_TYPES } from '../core/token-format.js';
import { ACTOR_TYPES, ROLES } from '../core/roles.js';
import { ACTIVITY_EVENTS, DIRECTIONS, FOLDERS } from '../store/domains.js';
import { STATUS_CLASSES } from '../services/access-log.js';

/**
 * Every text input refuses NUL: PostgreSQL cannot store it (a 500 the fuzzer found), and no name,
 * id or password needs it. A schema with its own pattern must exclude NUL itself.
 */
const NO_NUL = '^[^\\u0000]*$';
export const text = (maxLength: number, extra: Record<string, unknown> = {}) => Type.String({ maxLength, pattern: NO_NUL, ...extra });

/** `T | null`, written as OpenAPI 3.0 reads it (a type list, not an `anyOf` with a null branch). */
export const nullable = <T extends TSchema>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [(schema as { type?: string }).type ?? 'object', 'null'] });

/** One of a closed set of words, as an OpenAPI `enum`. */
export const oneOf = <const T extends string>(values: readonly T[], extra: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...extra });

/**
 * A query whose parameters with a default are not required of the caller (the document says so)
 * but always present for the handler (the validator fills them in before the handler runs).
 */
export function query<T extends TProperties>(properties: T): TObject<T> {
  const schema = Type.Object(properties, { additionalProperties: false });
  const loose = schema as { required?: string[] };
  const required = (loose.required ?? []).filter((name) => !('default' in (properties[name] as object)));
  if (required.length) loose.required = required;
  else delete loose.required;
  return schema;
}

/** Components are named in the document by their `$id`; a reference to one keeps its type. */
const named = <T extends TSchema>(name: string, schema: T): T => Object.assign(schema, { $id: name });
export const ref = <T extends TSchema>(component: T) => Type.Unsafe<Static<T>>({ $ref: `${(component as { $id?: string }).$id}#` });

const STRING = Type.String();
const INSTANT = Type.String({ description: 'an RFC 3339 instant, UTC' });
const STRINGS = Type.Array(STRING);

export const errorSchema = named('Error', Type.Object({
  error: Type.Object({
    code: STRING,
    message: STRING,
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    request_id: Type.Optional(Type.String({ description: 'the X-Request-Id of the response, also in every log line of the request' })),
  }),
}));

export const ID = text(64, { minLength: 1 });
export const idParams = Type.Object({ id: ID });

/**
 * Cursors are ids handed out by an earlier page (a kind, an underscore and a ULID); anything else
 * is refused rather than compared, which would answer an empty or a first page for nonsense.
 */
export const CURSOR = text(64, { pattern: '^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$' });

export const pageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(CURSOR),
};
export const listQuery = query(pageQuery);

/** A page of a named component, itself named (`TokenPage`, …). */
const pageOf = <T extends TSchema>(item: T) =>
  named(`${(item as { $id?: string }).$id}Page`, Type.Object({ data: Type.Array(ref(item)), next_cursor: nullable(text(64)) }));

const actor = Type.Object({ type: oneOf(ACTOR_TYPES), id: nullable(STRING), name: STRING });

export const tokenSchema = named('Token', Type.Object({
  id: STRING,
  name: STRING,
  description: STRING,
  type: oneOf(TOKEN_TYPES),
  status: oneOf<TokenStatus>(['active', 'paused', 'expired', 'revoked']),
  scopes: STRINGS,
  effective_scopes: STRINGS,
  domains: nullable(STRINGS),
  mailbox_id: nullable(STRING),
  ip_allowlist: nullable(STRINGS),
  visible_prefix: STRING,
  last4: STRING,
  created_at: INSTANT,
  created_by: actor,
  expires_at: nullable(INSTANT),
  paused_at: nullable(INSTANT),
  first_used_at: nullable(INSTANT),
  last_used_at: nullable(INSTANT),
  last_used_ip: nullable(STRING),
  revoked_at: nullable(INSTANT),
  revoke_reason: nullable(STRING),
  rotated_from: nullable(STRING),
  rotated_to: nullable(STRING),
  rate_limit: nullable(Type.Object({ requests: Type.Integer(), per: STRING })),
  connected_agent: nullable(Type.Object({ grant_id: STRING, client_name: STRING }, { description: 'the connected agent this token was issued to through OAuth; null for a token someone created' })),
  created_by_removed: Type.Boolean({ description: 'the person who created it was removed from the account; the token stays with the account' }),
}));
export type TokenView = Static<typeof tokenSchema>;

export const tokenRef = ref(tokenSchema);
export const created = Type.Object({ token: tokenRef, secret: STRING });
export const single = Type.Object({ token: tokenRef });

export const accessLogEntrySchema = named('AccessLogEntry', Type.Object({
  id: STRING, at: INSTANT, token_id: STRING, token_name: STRING,
  method: STRING, route: STRING, path: STRING, status: Type.Integer(),
  ip: STRING, user_agent: STRING, duration_ms: Type.Number(), error_code: nullable(STRING),
  request_summary: STRING,
}));

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const accessLogQuery = {
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  status_class: Type.Optional(oneOf(STATUS_CLASSES, { description: 'every status of that hundred: `4xx` is 400 to 499' })),
  method: Type.Optional(oneOf([...METHODS, ...METHODS.map((m) => m.toLowerCase() as Lowercase<typeof m>)])),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  cursor: Type.Optional(CURSOR),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
};

/** A change that answers with nothing. */
export const NO_CONTENT = { 204: Type.Null({ description: 'Done; there is nothing to return' }) };

export const activitySchema = named('Activity', Type.Object({
  id: STRING, domain_id: STRING, event: oneOf(ACTIVITY_EVENTS),
  from: STRING, to: STRING, subject: STRING, at: INSTANT,
}));

export const auditEventSchema = named('AuditEvent', Type.Object({
  id: STRING, seq: Type.Integer(), at: INSTANT, action: STRING,
  actor,
  target: nullable(Type.Object({ type: STRING, id: nullable(STRING), name: nullable(STRING) })),
  ip: nullable(STRING), user_agent: nullable(STRING),
  details: Type.Object({}, { additionalProperties: true }),
  prev_hash: STRING, key_id: nullable(STRING), hash: STRING,
}));

/** What `verify` answers; a token is told `valid` alone. */
export const chainCheckSchema = Type.Object({
  valid: Type.Boolean(),
  checked: Type.Optional(Type.Integer()), unsigned: Type.Optional(Type.Integer()), broken: Type.Optional(Type.Integer()),
  first_broken: Type.Optional(nullable(Type.Object({
    id: nullable(STRING), seq: Type.Integer(),
    reason: oneOf(['hash_mismatch', 'link_mismatch', 'missing', 'unknown_key', 'unsigned', 'unanchored'] as const),
  }))),
  head: Type.Optional(Type.Object({ seq: Type.Integer(), hash: STRING })),
});

export const EXPORT_FORMAT = Type.Optional(oneOf(['json', 'csv'] as const));

/** A page as JSON, or the same rows as CSV when `format=csv`. */
export const jsonOrCsv = <T extends TSchema>(schema: T) => ({
  description: 'A page of rows; with format=csv, the same rows as CSV (the next page’s cursor in X-Next-Cursor)',
  content: { 'application/json': { schema }, 'text/csv': { schema: Type.String() } },
});

export const domainSchema = named('Domain', Type.Object({ id: STRING, name: STRING, created_at: INSTANT }));
export const mailboxSchema = named('Mailbox', Type.Object({ id: STRING, domain_id: STRING, address: STRING, created_at: INSTANT }));
export const messageSchema = named('Message', Type.Object({
  id: STRING, mailbox_id: STRING, direction: oneOf(DIRECTIONS), folder: oneOf(FOLDERS), read: Type.Boolean(), from: STRING,
  to: STRING, subject: STRING, text: STRING, created_at: INSTANT,
}));
export const accountSchema = named('Account', Type.Object({ id: STRING, name: STRING, plan: oneOf(PLAN_NAMES), created_at: INSTANT }));
export { ROLES };
export const userSchema = named('User', Type.Object({
  id: STRING, account_id: STRING, email: STRING, name: STRING, role: oneOf(ROLES), created_at: INSTANT,
  password_change_required: Type.Boolean({ description: 'signed in with a one-time password: a new one must be chosen before anything else' }),
}));

export const tokenPage = pageOf(tokenSchema);
export const accessLogPage = pageOf(accessLogEntrySchema);
export const activityPage = pageOf(activitySchema);
export const auditEventPage = pageOf(auditEventSchema);
export const domainPage = pageOf(domainSchema);
export const mailboxPage = pageOf(mailboxSchema);
export const messagePage = pageOf(messageSchema);

/** Every named component, registered once with the app so that routes can refer to them. */
export const COMPONENTS: readonly TSchema[] = [
  errorSchema, tokenSchema, accessLogEntrySchema, activitySchema, auditEventSchema, domainSchema, mailboxSchema, messageSchema,
  accountSchema, userSchema, tokenPage, accessLogPage, activityPage, auditEventPage, domainPage, mailboxPage, messagePage,
];

/** A name shown to people: it reads as stored, and shows something. */
export const DISPLAY_NAME = (maxLength: number) => text(maxLength, { minLength: 1, 'x-display': 'name' });
export const TOKEN_NAME = DISPLAY_NAME(100);
export const DESCRIPTION = text(1000, { 'x-display': 'text' });
export const REASON = text(500, { 'x-display': 'text' });
export const SCOPE_LIST = Type.Array(text(64), { minItems: 1, maxItems: 100 });
export const DOMAIN_LIST = nullable(Type.Array(ID, { maxItems: 100 }));
export const IP_LIST = nullable(Type.Array(text(64), { maxItems: 100 }));
export const EXPIRES_IN = text(16);
/** RFC 3339, a real day and time: `2030-02-30` or `T24:00:00` is refused, not rolled over. */
export const EXPIRES_AT = nullable(text(40, { format: 'date-time' }));
export const EMAIL = text(254, { format: 'email' });
export const RATE_LIMIT = nullable(Type.Object(
  { requests: Type.Integer({ minimum: 1, maximum: 1_000_000 }), per: text(8) },
  { additionalProperties: false },
));
export const PASSWORD = text(1024, { minLength: 10 });
