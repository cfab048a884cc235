import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, onResponseHookHandler } from 'fastify';
import type { ErrorCode } from '../core/errors.js';
import { TokenGate, type GateResult, type TokenCheck, type TokenGateDeps } from '../services/token-gate.js';
import type { Metrics, RateLimitReason } from './metrics.js';
import type { CounterSeries, HistogramSeries } from './preset-metrics.js';
import { hooksOf } from './route-hooks.js';

/** Every path no route serves shares one value, so that scanning for paths cannot multiply the series. */
export const UNMATCHED_ROUTE = 'unmatched';
const PASSWORD_ROUTES: Record<string, 'login' | 'reauth'> = { '/v1/auth/login': 'login', '/v1/auth/reauth': 'reauth' };
const VERIFY_ROUTE = '/v1/verify';

/** Index into a route's series, in the order of `STATUS_CLASSES`; nothing below 300 ends a request but a 2xx. */
const statusClassIndex = (status: number): number => (status >= 500 ? 3 : status >= 400 ? 2 : status >= 300 ? 1 : 0);

/**
 * Counts every response by its route's pattern and status class, and its error code. Each route's
 * series are looked up once, when it is registered, so the request path only adds to numbers it
 * already holds. Install it before any route (and before plugins that add routes).
 */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  const seriesByRoute = new Map<string, HistogramSeries[]>();
  const seriesOf = (route: string): HistogramSeries[] => {
    let found = seriesByRoute.get(route);
    if (found === undefined) seriesByRoute.set(route, (found = metrics.requestSeriesFor(route)));
    return found;
  };

  const record = (reply: FastifyReply, series: HistogramSeries[], rateLimitReason: RateLimitReason): number => {
    const seconds = reply.elapsedTime / 1000;
    series[statusClassIndex(reply.statusCode)]!.observe(seconds);
    const code = reply.errorCode as ErrorCode | null;
    if (code !== null) {
      // Only the error sender sets a code, always one of the table's; a stray one is not worth a throw here.
      const byCode = metrics.errorsByCode[code] as CounterSeries | undefined;
      if (byCode !== undefined) byCode.count += 1;
      if (code === 'rate_limited') metrics.rateLimited[rateLimitReason].count += 1;
    }
    return seconds;
  };

  app.addHook('onRoute', (route) => {
    const series = seriesOf(route.url);
    const passwordCheck = PASSWORD_ROUTES[route.url];
    const reason: RateLimitReason = passwordCheck === undefined ? 'token_rate_limit' : 'password_throttle';
    let hook: onResponseHookHandler = (_request, reply, done) => {
      record(reply, series, reason);
      done();
    };
    if (route.url === VERIFY_ROUTE) {
      hook = (_request, reply, done) => {
        metrics.verifyRequest.observe(record(reply, series, reason));
        done();
      };
    } else if (passwordCheck !== undefined) {
      const outcomes = metrics.passwordAttempts[passwordCheck];
      hook = (request, reply, done) => {
        record(reply, series, reason);
        const code = reply.errorCode;
        if (reply.statusCode < 300) outcomes.succeeded.count += 1;
        else if (code === 'rate_limited') outcomes.throttled.count += 1;
        // A re-auth refused for want of a session never reached a password.
        else if (code === 'unauthorized' && (passwordCheck === 'login' || request.caller !== null)) outcomes.failed.count += 1;
        done();
      };
    }
    route.onResponse = [hook, ...hooksOf(route.onResponse)];
  });

  // Routes carry their own hook; this one only counts what the not-found handler answered.
  const unmatched = seriesOf(UNMATCHED_ROUTE);
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) record(reply, unmatched, 'token_rate_limit');
    done();
  });
}

/**
 * The token gate with each decision timed. A subclass in the HTTP layer, so that the service stays
 * as it is; a check answered from memory stays synchronous.
 */
export class TimedTokenGate extends TokenGate {
  constructor(deps: TokenGateDeps, private readonly decisions: HistogramSeries) {
    super(deps);
  }

  override check(secret: string, check: TokenCheck): GateResult | Promise<GateResult> {
    const started = performance.now();
    const result = super.check(secret, check);
    if (!(result instanceof Promise)) {
      this.decisions.observe((performance.now() - started) / 1000);
      return result;
    }
    return result.then((settled) => {
      this.decisions.observe((performance.now() - started) / 1000);
      return settled;
    });
  }
}
