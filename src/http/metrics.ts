import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_STATUS } from '../core/errors.js';
import { retried } from '../store/transactions.js';

const VERIFY_OUTCOMES = ['hit', 'miss', 'negative_hit', 'unknown', 'malformed'] as const;
export type VerifyOutcome = (typeof VERIFY_OUTCOMES)[number];

/** One registry per app, so that several apps in one process (tests) do not share counters. */
export function createMetrics() {
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
  const accessLogDropped = new Counter({
    name: 'latchkey_access_log_dropped_total',
    help: 'Access-log entries dropped because the write queue was full',
    registers: [registry],
  });
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
    accessLogDropped,
    recordLookup: (outcome: VerifyOutcome) => pendingLookups.set(outcome, (pendingLookups.get(outcome) ?? 0) + 1),
    recordDecision: (result: string) => pendingDecisions.set(result, (pendingDecisions.get(result) ?? 0) + 1),
    cachedTokens,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
