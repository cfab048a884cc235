/**
 * The closed table of error codes. Every failure the API reports is one of these; the
 * HTTP layer maps a code to its status in one place and nowhere else picks a status.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  token_revoked: 401,
  token_expired: 401,
  token_paused: 401,
  ip_not_allowed: 403,
  insufficient_scope: 403,
  plan_restricted: 403,
  reauth_required: 403,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  last_domain_token: 409,
  rate_limited: 429,
  /** Not in the spec's table on purpose: a 500 is a bug, and this is how a bug is reported. */
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type ErrorDetails = Record<string, unknown>;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const invalidRequest = (field: string, message: string, extra?: ErrorDetails): ApiError =>
  new ApiError('invalid_request', message, { field, ...extra });

export const notFound = (what: string): ApiError => new ApiError('not_found', `${what} not found`);

export const forbidden = (message: string, details?: ErrorDetails): ApiError =>
  new ApiError('forbidden', message, details);
