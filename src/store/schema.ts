/**
 * Table types for Kysely. Portable on purpose: timestamps are ISO-8601 UTC text (which sorts as
 * time on both dialects), lists are JSON text, flags are nullable timestamps.
 */
export interface AccountsTable {
  id: string;
  name: string;
  plan: string;
  audit_seq: number;
  audit_head: string;
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
  domains: string | null;
  mailbox_id: string | null;
  ip_allowlist: string | null;
  created_at: string;
  created_by_type: string;
  created_by_id: string | null;
  created_by_name: string;
  parent_token_id: string | null;
  expires_at: string | null;
  paused_at: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
  deleted_at: string | null;
  first_used_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  /** JSON `{"requests": n, "per": "1m"}`, or null for no per-token limit. */
  rate_limit: string | null;
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
}
