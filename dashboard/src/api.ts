import type { components, operations } from './api-schema';
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

/** The server's own types, generated from its OpenAPI document (`npm run api:types`), never restated. */
type Json<Operation extends keyof operations> =
  operations[Operation]['responses'] extends { 200: { content: { 'application/json': infer Body } } } ? Body : never;

export type Token = components['schemas']['Token'];
export type ScopeInfo = Json<'getScopes'>['data'][number];
export type Page<T> = { data: T[]; next_cursor: string | null };
export type Domain = Json<'getDomains'>['data'][number];
export type AccessLogEntry = Json<'getAccessLogs'>['data'][number];

export const query = (params: Record<string, string | number | undefined | null>) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '') as [string, string][];
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : '';
};
