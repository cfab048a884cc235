import createClient from 'openapi-fetch';
import type { components, operations, paths } from './api-schema';
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

/**
 * The typed client generated from the server's OpenAPI document: paths, parameters, bodies and
 * answers are the document's own, so the dashboard restates no server type.
 */
export const http = createClient<paths>({ credentials: 'same-origin' });
http.use({
  onRequest({ request }) {
    if (request.method !== 'GET') request.headers.set('x-csrf-token', sessionStorage.getItem(CSRF_KEY) ?? '');
    return request;
  },
});

interface Answer { data?: unknown; error?: unknown; response: Response }
type ErrorBody = components['schemas']['Error'];

function failureOf(answer: Answer): ApiError {
  const error = (answer.error as ErrorBody | undefined)?.error ?? { code: 'internal_error', message: `HTTP ${answer.response.status}` };
  return new ApiError(answer.response.status, error.code, error.message, error.details as Record<string, unknown> | undefined);
}

/**
 * Runs a call and gives its answer, or throws the API's error; when the server asks for a fresh
 * password check, shows "Verify it's you", then runs the call again.
 */
export async function api<A extends Answer>(call: () => Promise<A>): Promise<NonNullable<A['data']>> {
  let answer = await call();
  if (!answer.response.ok && failureOf(answer).code === 'reauth_required' && reauthHandler) {
    await reauthHandler();
    answer = await call();
  }
  if (answer.response.ok) return answer.data as NonNullable<A['data']>;
  if (answer.response.status === 401 && !new URL(answer.response.url, location.href).pathname.startsWith('/v1/auth/')) onSignedOut();
  throw failureOf(answer);
}

export async function reauth(password: string): Promise<void> {
  const answer = await http.POST('/v1/auth/reauth', { body: { password } });
  if (!answer.response.ok) throw failureOf(answer);
}

/** The server's own types, generated from its OpenAPI document (`npm run api:types`), never restated. */
type Json<Operation extends keyof operations> =
  operations[Operation]['responses'] extends { 200: { content: { 'application/json': infer Body } } } ? Body : never;

export type Token = components['schemas']['Token'];
export type ScopeInfo = Json<'getScopes'>['data'][number];
export type Page<T> = { data: T[]; next_cursor: string | null };
export type Domain = Json<'getDomains'>['data'][number];
export type AccessLogEntry = Json<'getAccessLogs'>['data'][number];

export type AuditEvent = components['schemas']['AuditEvent'];
export type ConsentRequest = Json<'getOauthConsent'>;
export type ConsentAnswer = NonNullable<operations['postOauthConsent']['requestBody']>['content']['application/json'];
export type ConnectedAgent = Json<'getConnectedAgents'>['data'][number];
export type Mailbox = components['schemas']['Mailbox'];
export type Session = Pick<Json<'getAuthSession'>, 'user' | 'account'>;
export type TokenChanges = NonNullable<operations['patchTokensById']['requestBody']>['content']['application/json'];

/** A form's filters as a query: a filter left empty is not sent. */
export function filters<T extends Record<string, unknown>>(params: T): Partial<T> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')) as Partial<T>;
}

/** The same filters as a link's query string (a CSV download is a link, not a call). */
export const query = (params: Record<string, string | number | undefined | null>) => {
  const entries = Object.entries(filters(params)).map(([k, v]) => [k, String(v)]);
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};
export type Person = Json<'getUsers'>['data'][number];
