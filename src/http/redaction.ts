import type { FastifyInstance } from 'fastify';
import { ApiError } from '../core/errors.js';
import type { Redactor } from '../core/redaction.js';

/**
 * Fields that carry a credential on purpose: the token `/v1/verify` is asked about, and passwords.
 * They are checked and hashed, never stored or echoed, so they are the only text left as sent.
 */
const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(['token', 'password', 'current_password', 'new_password']);

/** Half of a surrogate pair alone: UTF-8 cannot store it, so what is kept would differ from what was sent (and signed). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function redactInput(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new ApiError('invalid_request', 'text must be valid Unicode: a lone surrogate (\\uD800–\\uDFFF) was sent', { field: '(body)' });
    return redact(value);
  }
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((item) => redactInput(item, redact, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[redact(key)] = CREDENTIAL_FIELDS.has(key) && typeof inner === 'string' ? inner : redactInput(inner, redact, depth + 1);
  }
  return out;
}

/**
 * What a client sends is redacted as it arrives, so that a secret pasted into a name, a
 * description, an email or a user agent is never stored, logged or echoed. JSON bodies keep
 * Fastify's own parser (and its prototype-poisoning refusal); the result is redacted after it.
 */
export function installInputRedaction(app: FastifyInstance, redact: Redactor): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      try {
        done(null, redactInput(value, redact));
      } catch (refused) {
        done(refused as Error, undefined);
      }
    });
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const agent = request.headers['user-agent'];
    if (agent !== undefined) request.headers['user-agent'] = redact(agent);
    done();
  });
}
