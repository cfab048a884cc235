/** What `GET /metrics` exports for alerts: series by route, the verify path, sign-ins, 429s and the access-log queue. */
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/core/errors.js';
import { asSession, bearer, createToken, expectError, expectStatus, operator, ownerSession, PASSWORD } from '../helpers/actors.js';
import { withHarness, type Harness } from '../helpers/harness.js';
import { promtoolCheck, promtoolMissing } from '../helpers/promtool.js';

async function scrape(h: Harness): Promise<string> {
  const response = await h.request({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return response.body;
}

/** The value of one series, written as it is exported (`name{label="value",…}`), or undefined when absent. */
function valueOf(body: string, series: string): number | undefined {
  const line = body.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const requests = (route: string, statusClass: string) => `latchkey_http_request_duration_seconds_count{route="${route}",status_class="${statusClass}"}`;
const attempts = (check: string, outcome: string) => `latchkey_password_attempts_total{check="${check}",outcome="${outcome}"}`;

const missingPromtool = promtoolMissing();

describe('metrics for alerts', () => {
  it('exports every series an alert watches at 0 before any request', async () => {
    await withHarness({}, async (h) => {
      const body = await scrape(h);
      const expected = [
        ...['/v1/tokens/:id', '/v1/verify', '/v1/auth/login', 'unmatched'].flatMap((route) => ['2xx', '3xx', '4xx', '5xx'].map((c) => requests(route, c))),
        ...Object.keys(ERROR_STATUS).map((code) => `latchkey_http_errors_total{code="${code}"}`),
        ...['login', 'reauth'].flatMap((check) => ['succeeded', 'failed', 'throttled'].map((outcome) => attempts(check, outcome))),
        'latchkey_rate_limited_total{reason="token_rate_limit"}', 'latchkey_rate_limited_total{reason="password_throttle"}',
        'latchkey_verify_duration_seconds_count{stage="decision"}', 'latchkey_verify_duration_seconds_count{stage="request"}',
        'latchkey_access_log_queue_entries', 'latchkey_access_log_dropped_total',
      ];
      expect(expected.filter((series) => valueOf(body, series) !== 0)).toEqual([]);
    });
  });

  it('labels a request with its route pattern, never its path, and folds every unknown path into one value', async () => {
    await withHarness({}, async (h) => {
      expectError(await h.request({ method: 'GET', url: '/v1/tokens/tok_someone-elses-token' }), 401, 'unauthorized');
      for (const probe of ['/v1/probe-a', '/v1/probe-b', '/admin/probe-c/../x']) await h.request({ method: 'GET', url: probe });
      const body = await scrape(h);
      expect(valueOf(body, requests('/v1/tokens/:id', '4xx'))).toBe(1);
      expect(valueOf(body, requests('unmatched', '4xx'))).toBe(3);
      expect(valueOf(body, 'latchkey_http_errors_total{code="not_found"}')).toBe(3);
      expect(valueOf(body, 'latchkey_http_errors_total{code="unauthorized"}')).toBe(1);
      expect(body).not.toMatch(/probe|someone-elses/);
      // The scrape counts itself once it is answered.
      expect(valueOf(await scrape(h), requests('/metrics', '2xx'))).toBe(1);
    });
  });

  it('times the verify path: the gate’s decision on every presented token, and POST /v1/verify whole', async () => {
    await withHarness({}, async (h) => {
      const owner = await ownerSession(h);
      const { secret } = await createToken(h, asSession(owner), { name: 'timed', scopes: ['domains:read'] });
      expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
      expectStatus(await h.request({ method: 'POST', url: '/v1/verify', headers: operator(h), payload: { token: secret, scope: 'domains:read' } }), 200);
      const body = await scrape(h);
      expect(valueOf(body, 'latchkey_verify_duration_seconds_count{stage="decision"}')).toBe(2);
      expect(valueOf(body, 'latchkey_verify_duration_seconds_count{stage="request"}')).toBe(1);
      expect(valueOf(body, requests('/v1/verify', '2xx'))).toBe(1);
      // Every observation is inside the last finite bucket: a decision here takes well under 100 ms.
      expect(valueOf(body, 'latchkey_verify_duration_seconds_bucket{stage="decision",le="0.1"}')).toBe(2);
      expect(valueOf(body, 'latchkey_verify_duration_seconds_sum{stage="decision"}')).toBeGreaterThan(0);
    });
  });

  it('counts sign-ins and re-auths by outcome, and 429s by reason', async () => {
    await withHarness({ LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' }, async (h) => {
      const owner = await ownerSession(h);
      expectError(await h.request({ method: 'POST', url: '/v1/auth/reauth', headers: asSession(owner), payload: { password: 'wrong password' } }), 401, 'unauthorized');
      // Refused before any password is checked: no failed re-auth.
      expectError(await h.request({ method: 'POST', url: '/v1/auth/reauth', payload: { password: 'wrong password' } }), 401, 'unauthorized');
      const signIn = (password: string) => h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: owner.email, password } });
      expectError(await signIn('wrong password'), 401, 'unauthorized');
      expectError(await signIn(PASSWORD), 429, 'rate_limited');
      const { secret } = await createToken(h, asSession(owner), { name: 'limited', scopes: ['domains:read'], rate_limit: { requests: 1, per: '1m' } });
      expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
      expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 429, 'rate_limited');
      const body = await scrape(h);
      expect({
        login: ['succeeded', 'failed', 'throttled'].map((outcome) => valueOf(body, attempts('login', outcome))),
        reauth: ['succeeded', 'failed', 'throttled'].map((outcome) => valueOf(body, attempts('reauth', outcome))),
        token: valueOf(body, 'latchkey_rate_limited_total{reason="token_rate_limit"}'),
        throttle: valueOf(body, 'latchkey_rate_limited_total{reason="password_throttle"}'),
      }).toEqual({ login: [1, 1, 1], reauth: [0, 1, 0], token: 1, throttle: 1 });
    });
  });

  it('reads the access-log queue and its drops when scraped', async () => {
    await withHarness({ LATCHKEY_ACCESS_LOG_MAX_QUEUE: '100', LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS: '60000' }, async (h) => {
      const owner = await ownerSession(h);
      const { secret } = await createToken(h, asSession(owner), { name: 'logged', scopes: ['domains:read'] });
      for (let i = 0; i < 101; i += 1) await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
      const full = await scrape(h);
      expect([valueOf(full, 'latchkey_access_log_queue_entries'), valueOf(full, 'latchkey_access_log_queue_capacity'), valueOf(full, 'latchkey_access_log_dropped_total')]).toEqual([100, 100, 1]);
      await h.ctx.accessLog.flush();
      expect(valueOf(await scrape(h), 'latchkey_access_log_queue_entries')).toBe(0);
    });
  });

  it.skipIf(missingPromtool !== null && !process.env.CI)('passes `promtool check metrics` with no problem, after traffic of every kind', async () => {
    if (missingPromtool !== null) throw new Error(`promtool check cannot run: ${missingPromtool}`);
    await withHarness({}, async (h) => {
      const owner = await ownerSession(h);
      const { secret } = await createToken(h, asSession(owner), { name: 'linted', scopes: ['domains:read'] });
      await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
      await h.request({ method: 'POST', url: '/v1/verify', headers: operator(h), payload: { token: secret } });
      await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email: owner.email, password: 'wrong password' } });
      await h.request({ method: 'GET', url: '/v1/no-such-route' });
      expect(promtoolCheck(await scrape(h))).toEqual({ status: 0, problems: '' });
    });
  });
});
