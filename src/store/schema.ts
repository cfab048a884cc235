/**
 * Table types for Kysely. Portable on purpose: lists are JSON text, flags are nullable instants.
 * Token instants are integer milliseconds; the other tables' are ISO-8601 UTC text written by the
 * server itself (fixed width, so that they sort as time on both dialects).
 */
export interface AccountsTable {
  id: string;
  name: string;
  plan: string;
  audit_seq: number;
  audit_head: string;
  /** `<key id>.<HMAC of the head>`: the chain ends here, signed; null before the first signed event. */
  audit_head_mac: string | null;
  created_at: string;
}

export interface UsersTable {
  id: string;
  account_id: string;
  email: string;
  name: string;
  password_hash: string;
  role: string;
  created_at: string;
  /** When a one-time password was issued that has not been changed since; null: the person chose theirs. */
  temporary_password_at: string | null;
}

export interface SessionsTable {
  id: string;
  hash: string;
  csrf_hash: string;
  user_id: string;
  account_id: string;
  created_at: string;
  expires_at: string;
  reauth_at: string;
  ip: string;
  user_agent: string;
}

export interface DomainsTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
  deleted_at: string | null;
}

export interface MailboxesTable {
  id: string;
  account_id: string;
  domain_id: string;
  address: string;
  created_at: string;
}

export interface MessagesTable {
  id: string;
  account_id: string;
  mailbox_id: string;
  direction: string;
  from_address: string;
  to_address: string;
  subject: string;
  body: string;
  /** inbox, archive, trash, sent or drafts. */
  folder: string;
  /** When it was marked read; null: unread. */
  read_at: string | null;
  created_at: string;
}

export interface ActivityTable {
  id: string;
  account_id: string;
  domain_id: string;
  event: string;
  from_address: string;
  to_address: string;
  subject: string;
  created_at: string;
}

/**
 * A token row. Instants are milliseconds since the epoch (compared as numbers, never as text);
 * lists are JSON text.
 */
export interface TokensTable {
  id: string;
  account_id: string;
  name: string;
  description: string;
  type: string;
  hash: string;
  visible_prefix: string;
  last4: string;
  scopes: string;
  /** JSON list of domain ids; a message token holds its mailbox's domain. null: every domain. */
  domains: string | null;
  mailbox_id: string | null;
  ip_allowlist: string | null;
  created_at: number;
  created_by_type: string;
  created_by_id: string | null;
  created_by_name: string;
  /** Shared by a token and its rotation successors. */
  lineage_id: string;
  /** The lineages above this token, root first, as `/tok_a/tok_b/` (each the lineage's first token) ('' for a token a person made). */
  ancestry: string;
  expires_at: number | null;
  paused_at: number | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  deleted_at: number | null;
  first_used_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  /** JSON `{"requests": n, "per": "1m"}`, or null for no per-token limit. */
  rate_limit: string | null;
  /** The one resource an OAuth access token is valid at (its canonical URL); null: the platform API. */
  audience: string | null;
}

export interface AuditEventsTable {
  id: string;
  account_id: string;
  seq: number;
  at: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  ip: string | null;
  user_agent: string | null;
  details: string;
  prev_hash: string;
  /** Which audit key signed this event; null for events written before events were signed. */
  key_id: string | null;
  hash: string;
}

export interface AccessLogsTable {
  id: string;
  at: string;
  account_id: string;
  token_id: string;
  token_name: string;
  method: string;
  route: string;
  path: string;
  status: number;
  ip: string;
  user_agent: string;
  duration_ms: number;
  error_code: string | null;
  request_summary: string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

/** A client that registered itself (RFC 7591). A metadata-document client is fetched, not stored. */
export interface OAuthClientsTable {
  id: string;
  name: string;
  client_uri: string | null;
  /** JSON list of redirect URIs, each in normalised form. */
  redirect_uris: string;
  created_at: number;
  created_ip: string;
  /** When a grant first named it; a registration never used expires. */
  first_used_at: number | null;
}

/** What a person allowed one client: the ceiling of every token issued from it. */
export interface OAuthGrantsTable {
  id: string;
  account_id: string;
  user_id: string;
  user_email: string;
  client_id: string;
  client_name: string;
  /** 1: the client is known by its metadata document's URL; 0: it only said who it is. */
  client_verified: number;
  redirect_uri: string;
  /** The resource (audience) every token of the grant is for. */
  resource: string;
  scopes: string;
  /** JSON list of domain ids; null: every domain. */
  domains: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
}

export interface OAuthCodesTable {
  hash: string;
  grant_id: string;
  code_challenge: string;
  expires_at: number;
  used_at: number | null;
}

export interface OAuthRefreshTokensTable {
  hash: string;
  grant_id: string;
  created_at: number;
  /** When it was exchanged for the next; used again after the grace, it is a replay. */
  used_at: number | null;
  /** The refresh token it replaced; null for a grant's first. */
  parent_hash: string | null;
}

export interface OAuthAccessTokensTable {
  token_id: string;
  grant_id: string;
}

export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  sessions: SessionsTable;
  domains: DomainsTable;
  mailboxes: MailboxesTable;
  messages: MessagesTable;
  activity: ActivityTable;
  tokens: TokensTable;
  audit_events: AuditEventsTable;
  access_logs: AccessLogsTable;
  settings: SettingsTable;
  oauth_clients: OAuthClientsTable;
  oauth_grants: OAuthGrantsTable;
  oauth_codes: OAuthCodesTable;
  oauth_refresh_tokens: OAuthRefreshTokensTable;
  oauth_access_tokens: OAuthAccessTokensTable;
}
