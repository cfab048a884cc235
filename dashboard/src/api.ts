/** The dashboard speaks only the public JSON API; everything it does is scriptable too. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
  get field(): string | undefined {
    return typeof this.details.field === 'string' ? this.details.field : undefined;
  }
}

const CSRF_KEY = 'latchkey.csrf';
type ReauthHandler = () => Promise<void>;
let reauthHandler: ReauthHandler | null = null;
let onSignedOut: () => void = () => undefined;

export const setCsrf = (token: string | null) => (token ? sessionStorage.setItem(CSRF_KEY, token) : sessionStorage.removeItem(CSRF_KEY));
export const onReauthRequired = (handler: ReauthHandler) => (reauthHandler = handler);
export const onSessionEnded = (handler: () => void) => (onSignedOut = handler);

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = sessionStorage.getItem(CSRF_KEY) ?? '';
  const response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return undefined as T;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error ?? { code: 'internal_error', message: `HTTP ${response.status}` };
    throw new ApiError(response.status, error.code, error.message, error.details);
  }
  return payload as T;
}

/**
 * Sends a request; when the server asks for a fresh password check, shows "Verify it's you",
 * then completes the original action.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await send<T>(method, path, body);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'reauth_required' && reauthHandler) {
      await reauthHandler();
      return send<T>(method, path, body);
    }
    if (error instanceof ApiError && error.status === 401 && !path.startsWith('/v1/auth/')) onSignedOut();
    throw error;
  }
}

export const reauth = (password: string) => send<{ reauth_until: string }>('POST', '/v1/auth/reauth', { password });

export interface Token {
  id: string;
  name: string;
  description: string;
  type: 'api' | 'mcp' | 'message';
  status: 'active' | 'paused' | 'expired' | 'revoked';
  scopes: string[];
  effective_scopes: string[];
  domains: string[] | null;
  mailbox_id: string | null;
  ip_allowlist: string[] | null;
  visible_prefix: string;
  last4: string;
  created_at: string;
  created_by: { type: string; id: string | null; name: string };
  expires_at: string | null;
  paused_at: string | null;
  first_used_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  rate_limit: { requests: number; per: string } | null;
}

export interface ScopeInfo {
  scope: string;
  type: string;
  resource: string;
  level: string;
  label: string;
  description: string;
  implies: string[];
  requires: string[];
  available: boolean;
  unlocked_by: string | null;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Domain {
  id: string;
  name: string;
  created_at: string;
}

export interface AccessLogEntry {
  id: string;
  at: string;
  token_id: string;
  token_name: string;
  method: string;
  route: string;
  path: string;
  status: number;
  ip: string;
  duration_ms: number;
  error_code: string | null;
}

export const query = (params: Record<string, string | number | undefined | null>) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '') as [string, string][];
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : '';
};
