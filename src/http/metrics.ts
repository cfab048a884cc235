import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_STATUS, type ErrorCode } from '../core/errors.js';
import { retried } from '../store/transactions.js';
import { PresetCounter, PresetHistogram, type CounterSeries } from './preset-metrics.js';

const VERIFY_OUTCOMES = ['hit', 'miss', 'negative_hit', 'unknown', 'malformed'] as const;
export type VerifyOutcome = (typeof VERIFY_OUTCOMES)[number];

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export const PASSWORD_OUTCOMES = ['succeeded', 'failed', 'throttled'] as const;
export const RATE_LIMIT_REASONS = ['token_rate_limit', 'password_throttle'] as const;
export type RateLimitReason = (typeof RATE_LIMIT_REASONS)[number];

/** A whole request: a cached token answers in well under a millisecond, a password check in tens of them. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** The verify path: microseconds from the cache, milliseconds from the store. */
const VERIFY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** What the metrics read when scraped rather than being told on every change. */
export interface MetricSources {
  accessLog: { readonly pending: number; readonly dropped: number };
  accessLogCapacity: number;
}

/** One series per value of a closed list, all at 0 from the start. */
function seriesByValue<L extends string, V extends string>(counter: PresetCounter<L>, values: readonly V[], labelsOf: (value: V) => Record<L, string>) {
  return Object.fromEntries(values.map((value) => [value, counter.seriesFor(labelsOf(value))])) as Record<V, CounterSeries>;
}

/** One registry per app, so that several apps in one process (tests) do not share counters. */
export function createMetrics(sources: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client also exports these gauges under a counter's `_total` suffix, which Prometheus
  // tooling rejects; the same figures stay under their plain names.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  // The hot path only adds to plain numbers; they reach prom-client's counters when scraped.
  const pendingLookups = new Map<VerifyOutcome, number>();
  const pendingDecisions = new Map<string, number>();
  const drain = <L extends string>(pending: Map<string, number>, counter: Counter<L>, label: L) => {
    for (const [value, count] of pending) counter.inc({ [label]: value } as Record<L, string>, count);
    pending.clear();
  };
  const lookups: Counter<'outcome'> = new Counter({
    name: 'latchkey_token_lookups_total',
    help: 'Token lookups by outcome: cache hit, cache miss read from the store, remembered unknown, unknown, malformed',
    labelNames: ['outcome'],
    registers: [registry],
    collect: () => drain(pendingLookups, lookups, 'outcome'),
  });
  const decisions: Counter<'result'> = new Counter({
    name: 'latchkey_decisions_total',
    help: 'Authorisation decisions for token requests, by result code (ok or the error code)',
    labelNames: ['result'],
    registers: [registry],
    collect: () => drain(pendingDecisions, decisions, 'result'),
  });
  const cachedTokens = new Gauge({ name: 'latchkey_verify_cache_tokens', help: 'Tokens held in the verify cache', registers: [registry] });
  const accessLogDropped: Counter = new Counter({
    name: 'latchkey_access_log_dropped_total',
    help: 'Access-log entries dropped because the write queue was full',
    registers: [registry],
    collect() {
      accessLogDropped.reset();
      accessLogDropped.inc(sources.accessLog.dropped);
    },
  });
  new Gauge({
    name: 'latchkey_access_log_queue_entries',
    help: 'Access-log entries recorded and not yet committed (waiting or being written)',
    registers: [registry],
    collect() {
      this.set(sources.accessLog.pending);
    },
  });
  new Gauge({
    name: 'latchkey_access_log_queue_capacity',
    help: 'Access-log entries the queue holds before it drops (LATCHKEY_ACCESS_LOG_MAX_QUEUE)',
    registers: [registry],
  }).set(sources.accessLogCapacity);
  const requests = new PresetHistogram(registry, 'latchkey_http_request_duration_seconds', ['route', 'status_class'], REQUEST_BUCKETS,
    'HTTP requests by route pattern (unmatched for any path no route serves) and status class, from arrival to response');
  const verifyDuration = new PresetHistogram(registry, 'latchkey_verify_duration_seconds', ['stage'], VERIFY_BUCKETS,
    'The verify path: decision, the token gate deciding on a presented token (API routes and /v1/verify); request, POST /v1/verify from arrival to response');
  const errors = new PresetCounter(registry, 'latchkey_http_errors_total', ['code'], 'HTTP error responses by error code');
  const passwordAttempts = new PresetCounter(registry, 'latchkey_password_attempts_total', ['check', 'outcome'],
    'Password checks (sign-in and re-authentication) by outcome: succeeded, failed (wrong email or password), throttled (refused with 429)');
  const rateLimited = new PresetCounter(registry, 'latchkey_rate_limited_total', ['reason'],
    'Responses refused with 429, by reason: a token over its rate limit, or the password throttle');
  const retries = new Counter({
    name: 'latchkey_transaction_retries_total',
    help: 'Transactions PostgreSQL aborted as a deadlock victim or a serialisation failure, and Latchkey ran again',
    labelNames: ['cause'],
    registers: [registry],
    // Both series from the start, so that an alert on them has something to watch.
    collect() {
      retries.reset();
      for (const cause of ['deadlock', 'serialization'] as const) retries.inc({ cause }, retried[cause]);
    },
  });
  // Every label value from the start, at 0, so that an alert on one has a series to watch.
  for (const outcome of VERIFY_OUTCOMES) lookups.inc({ outcome }, 0);
  for (const result of ['ok', ...Object.keys(ERROR_STATUS)]) decisions.inc({ result }, 0);
  return {
    registry,
    /** The four status-class series of one route, created when the route is registered. */
    requestSeriesFor: (route: string) => STATUS_CLASSES.map((statusClass) => requests.seriesFor({ route, status_class: statusClass })),
    verifyDecision: verifyDuration.seriesFor({ stage: 'decision' }),
    verifyRequest: verifyDuration.seriesFor({ stage: 'request' }),
    errorsByCode: seriesByValue(errors, Object.keys(ERROR_STATUS) as ErrorCode[], (code) => ({ code })),
    passwordAttempts: {
      login: seriesByValue(passwordAttempts, PASSWORD_OUTCOMES, (outcome) => ({ check: 'login', outcome })),
      reauth: seriesByValue(passwordAttempts, PASSWORD_OUTCOMES, (outcome) => ({ check: 'reauth', outcome })),
    },
    rateLimited: seriesByValue(rateLimited, RATE_LIMIT_REASONS, (reason) => ({ reason })),
    recordLookup: (outcome: VerifyOutcome) => pendingLookups.set(outcome, (pendingLookups.get(outcome) ?? 0) + 1),
    recordDecision: (result: string) => pendingDecisions.set(result, (pendingDecisions.get(result) ?? 0) + 1),
    cachedTokens,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
