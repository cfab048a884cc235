import type { TokenType } from '../core/token-format.js';
import type { TokensTable } from './schema.js';

/**
 * How a token's access and its place in the tree are stored, declared once: lists as JSON text,
 * the rate limit as JSON `{requests, per}`, instants as milliseconds, and the lineages above a
 * token as `/tok_a/tok_b/`, so that "every token below lineage L" is one `like '%/L/%'`.
 */
export interface AccessSpec {
  type: TokenType;
  scopes: readonly string[];
  domains: readonly string[] | null;
  ipAllowlist: readonly string[] | null;
  expiresAt: number | null;
  /** Stored JSON `{"requests": n, "per": "1m"}`, or null. */
  rateLimit: string | null;
}

export type AccessColumns = Pick<TokensTable, 'type' | 'scopes' | 'domains' | 'ip_allowlist' | 'expires_at' | 'rate_limit'>;

const list = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));

export const decodeAccess = (row: AccessColumns): AccessSpec => ({
  type: row.type as TokenType,
  scopes: JSON.parse(row.scopes) as string[],
  domains: list(row.domains),
  ipAllowlist: list(row.ip_allowlist),
  expiresAt: row.expires_at,
  rateLimit: row.rate_limit,
});

export const encodeAccess = (spec: AccessSpec): AccessColumns => ({
  type: spec.type,
  scopes: JSON.stringify(spec.scopes),
  domains: spec.domains === null ? null : JSON.stringify(spec.domains),
  ip_allowlist: spec.ipAllowlist === null ? null : JSON.stringify(spec.ipAllowlist),
  expires_at: spec.expiresAt,
  rate_limit: spec.rateLimit,
});

export const encodeAncestry = (lineages: readonly string[]): string => (lineages.length ? `/${lineages.join('/')}/` : '');

export const decodeAncestry = (text: string): string[] => (text === '' ? [] : text.slice(1, -1).split('/'));

/** The `like` pattern matching every ancestry that contains `lineage` (ids hold `_`, a wildcard). */
export const descendantPattern = (lineage: string): string => `%/${likeEscaped(lineage)}/%`;

/** The `like` pattern matching every domain list (JSON text) that names `domainId`. */
export const domainListPattern = (domainId: string): string => `%${likeEscaped(JSON.stringify(domainId))}%`;

const likeEscaped = (text: string): string => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
