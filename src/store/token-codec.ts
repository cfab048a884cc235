import { ACTOR_TYPES, type ActorType } from '../core/roles.js';
import { TOKEN_TYPES, type TokenType } from '../core/token-format.js';
import { fromJson, jsonText, listOrNull, listOrNullText, oneOf } from './columns.js';
import type { TokensTable } from './schema.js';

/** A per-token rate limit as stored and shown: `requests` per duration (`1m`, `30s`). */
export interface StoredRateLimit {
  readonly requests: number;
  readonly per: string;
}

type DecodedColumns = 'type' | 'scopes' | 'domains' | 'ip_allowlist' | 'created_by_type' | 'ancestry' | 'rate_limit';

/**
 * A token as the store hands it out: its row's columns (see `TokensTable`), those stored encoded
 * decoded: lists as lists, the rate limit as an object, the lineages above it as a list (root
 * first, empty for a token a person made), its type and its creator's kind as unions.
 */
export interface TokenRecord extends Omit<TokensTable, DecodedColumns> {
  type: TokenType;
  scopes: readonly string[];
  domains: readonly string[] | null;
  ip_allowlist: readonly string[] | null;
  created_by_type: ActorType;
  ancestry: readonly string[];
  rate_limit: StoredRateLimit | null;
}

/** What a token may do, as the rules compare and combine it. */
export interface AccessSpec {
  type: TokenType;
  scopes: readonly string[];
  domains: readonly string[] | null;
  ipAllowlist: readonly string[] | null;
  expiresAt: number | null;
  rateLimit: StoredRateLimit | null;
}

const tokenType = oneOf(TOKEN_TYPES, 'tokens.type');
const actorType = oneOf(ACTOR_TYPES, 'tokens.created_by_type');

/**
 * The lineages above a token are stored as `/tok_a/tok_b/`, so that "every token below lineage L"
 * is one `like '%/L/%'`.
 */
export const ancestryText = (lineages: readonly string[]): string => (lineages.length ? `/${lineages.join('/')}/` : '');

export const ancestryOf = (text: string): string[] => (text === '' ? [] : text.slice(1, -1).split('/'));

export const rateLimitOf = (text: string | null): StoredRateLimit | null => (text === null ? null : fromJson<StoredRateLimit>(text));

export const rateLimitText = (limit: StoredRateLimit | null): string | null => (limit === null ? null : jsonText({ requests: limit.requests, per: limit.per }));

export function toTokenRecord(row: TokensTable): TokenRecord {
  return {
    ...row,
    type: tokenType(row.type),
    scopes: fromJson<string[]>(row.scopes),
    domains: listOrNull(row.domains),
    ip_allowlist: listOrNull(row.ip_allowlist),
    created_by_type: actorType(row.created_by_type),
    ancestry: ancestryOf(row.ancestry),
    rate_limit: rateLimitOf(row.rate_limit),
  };
}

/** The columns of the fields given: an update writes exactly these. */
export function tokenColumns(fields: Partial<TokenRecord>): Partial<TokensTable> {
  const { scopes, domains, ip_allowlist, ancestry, rate_limit, ...plain } = fields;
  return {
    ...plain,
    ...(scopes !== undefined ? { scopes: jsonText(scopes) } : {}),
    ...(domains !== undefined ? { domains: listOrNullText(domains) } : {}),
    ...(ip_allowlist !== undefined ? { ip_allowlist: listOrNullText(ip_allowlist) } : {}),
    ...(ancestry !== undefined ? { ancestry: ancestryText(ancestry) } : {}),
    ...(rate_limit !== undefined ? { rate_limit: rateLimitText(rate_limit) } : {}),
  };
}

export const toTokenRow = (record: TokenRecord): TokensTable => tokenColumns(record) as TokensTable;

export const specOf = (token: Pick<TokenRecord, 'type' | 'scopes' | 'domains' | 'ip_allowlist' | 'expires_at' | 'rate_limit'>): AccessSpec => ({
  type: token.type,
  scopes: token.scopes,
  domains: token.domains,
  ipAllowlist: token.ip_allowlist,
  expiresAt: token.expires_at,
  rateLimit: token.rate_limit,
});

export const accessFields = (spec: AccessSpec): Pick<TokenRecord, 'type' | 'scopes' | 'domains' | 'ip_allowlist' | 'expires_at' | 'rate_limit'> => ({
  type: spec.type,
  scopes: spec.scopes,
  domains: spec.domains,
  ip_allowlist: spec.ipAllowlist,
  expires_at: spec.expiresAt,
  rate_limit: spec.rateLimit,
});

/** The `like` pattern matching every ancestry that contains `lineage` (ids hold `_`, a wildcard). */
export const descendantPattern = (lineage: string): string => `%/${likeEscaped(lineage)}/%`;

/** The `like` pattern matching every domain list (JSON text) that names `domainId`. */
export const domainListPattern = (domainId: string): string => `%${likeEscaped(JSON.stringify(domainId))}%`;

export const likeEscaped = (text: string): string => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
