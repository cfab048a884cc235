import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type VerifyOutcome = 'hit' | 'miss' | 'negative_hit' | 'unknown' | 'malformed';

/** One registry per app, so that several apps in one process (tests) do not share counters. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const lookups = new Counter({
    name: 'latchkey_token_lookups_total',
    help: 'Token lookups by outcome: cache hit, cache miss read from the store, remembered unknown, unknown, malformed',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const byOutcome = Object.fromEntries(
    (['hit', 'miss', 'negative_hit', 'unknown', 'malformed'] as const).map((o) => [o, lookups.labels(o)]),
  ) as Record<VerifyOutcome, ReturnType<typeof lookups.labels>>;
  const decisions = new Counter({
    name: 'latchkey_decisions_total',
    help: 'Authorisation decisions for token requests, by result code (ok or the error code)',
    labelNames: ['result'],
    registers: [registry],
  });
  const cachedTokens = new Gauge({ name: 'latchkey_verify_cache_tokens', help: 'Tokens held in the verify cache', registers: [registry] });
  const accessLogDropped = new Counter({
    name: 'latchkey_access_log_dropped_total',
    help: 'Access-log entries dropped because the write queue was full',
    registers: [registry],
  });
  // prom-client hashes the label object on every `labels()` call; the hot path asks for a few results.
  const byResult = new Map<string, ReturnType<typeof decisions.labels>>();
  const decisionCounter = (result: string) => {
    let counter = byResult.get(result);
    if (counter === undefined) byResult.set(result, (counter = decisions.labels(result)));
    return counter;
  };
  return {
    registry,
    accessLogDropped,
    recordLookup: (outcome: VerifyOutcome) => byOutcome[outcome].inc(),
    recordDecision: (result: string) => decisionCounter(result).inc(),
    cachedTokens,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
