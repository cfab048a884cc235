import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_TYPES_FILE, generateApiTypes } from '../../scripts/api-types.js';
import { ERROR_STATUS } from '../../src/core/errors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

/** The anchors GitHub gives a Markdown file's headings. */
const anchors = (markdown: string): string[] =>
  [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));

let h: Harness;
shareApp({ app: (app) => (h = app) });

describe('documentation', () => {
  it('generates OpenAPI from the route schemas, covering every /v1 and /admin route', async () => {
    const doc = JSON.parse((await h.request({ method: 'GET', url: '/openapi.json' })).body);
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const path of ['/v1/tokens', '/v1/tokens/{id}', '/v1/tokens/{id}/revoke', '/v1/verify', '/v1/scopes', '/v1/domains', '/v1/email', '/admin/v1/accounts', '/v1/auth/login']) {
      expect(paths).toContain(path);
    }
    expect(doc.paths['/v1/tokens'].post.requestBody.content['application/json'].schema.properties.scopes.type).toBe('array');
    expect((await h.request({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });

  it('serves the API reference, its page and its assets, under a strict Content-Security-Policy', async () => {
    for (const url of ['/docs', '/docs/', '/docs/static/', '/docs/static/oauth2-redirect.html', '/docs/static/swagger-initializer.js', '/docs/json', '/docs/static/no-such-file.js']) {
      const response = await h.request({ method: 'GET', url });
      expect(response.statusCode, url).toBe(url.includes('no-such') ? 404 : 200);
      const csp = String(response.headers['content-security-policy']);
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).not.toMatch(/script-src[^;]*unsafe/);
    }
  });

  it('passes Redocly’s recommended rules with no error, and warns only that its licence has no public URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, (await h.request({ method: 'GET', url: '/openapi.json' })).body);
      const lint = spawnSync(process.execPath, [join('node_modules', '@redocly', 'cli', 'bin', 'cli.js'), 'lint', file, '--format=json'], {
        encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, timeout: 120_000,
      });
      const report = JSON.parse(lint.stdout) as { totals: { errors: number }; problems: { ruleId: string; message: string }[] };
      expect(report.problems.map((p) => p.ruleId)).toEqual(['info-license-strict']);
      expect(report.totals.errors).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('declares each operation’s security from its auth rule, its errors, an id and a summary', async () => {
    const doc = JSON.parse((await h.request({ method: 'GET', url: '/openapi.json' })).body);
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(new Set(operations.map(({ op }) => op.operationId)).size).toBe(operations.length);
    for (const { path, method, op } of operations) {
      expect(op.summary, `${method} ${path}`).toEqual(expect.any(String));
      expect(Object.keys(op.responses).some((code) => code.startsWith('2')), `${method} ${path}`).toBe(true);
      expect(op.responses['400'], `${method} ${path}`).toBeDefined();
    }
    const op = (method: string, path: string) => doc.paths[path][method];
    expect(op('post', '/v1/auth/login').security).toEqual([]);
    expect(op('get', '/v1/tokens').security).toEqual([{ bearer: [] }, { session: [], csrf: [] }]);
    expect(op('post', '/admin/v1/accounts').security).toEqual([{ operator: [] }]);
    expect(Object.keys(op('delete', '/v1/tokens/{id}').responses)).toContain('204');
    expect(Object.keys(op('get', '/v1/audit-log').responses['200'].content)).toEqual(['application/json', 'text/csv']);
    expect(doc.components.securitySchemes.csrf).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-CSRF-Token' });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining([
      'Error', 'Token', 'Domain', 'Mailbox', 'Message', 'AuditEvent', 'AccessLogEntry', 'Activity', 'TokenPage', 'AuditEventPage', 'AccessLogEntryPage',
    ]));
    // An action whose options may be left out does not demand a body; one that needs its fields does.
    for (const action of ['pause', 'resume', 'revoke', 'rotate']) expect(op('post', `/v1/tokens/{id}/${action}`).requestBody.required, action).toBe(false);
    expect(op('post', '/v1/tokens').requestBody.required).toBe(true);
    // What a response always carries is required, so that a generated client knows it is there.
    expect(op('post', '/v1/tokens').responses['201'].content['application/json'].schema.required).toEqual(['token', 'secret']);
    expect(doc.components.schemas.Token.required).toEqual(expect.arrayContaining(['id', 'status', 'paused_at', 'revoke_reason', 'rate_limit']));
    // Defaults are the server's to apply: no query parameter with one is required of the caller.
    for (const { op: operation } of operations) for (const p of operation.parameters ?? []) if (p.schema?.default !== undefined) expect(p.required).not.toBe(true);
  });

  it('keeps the dashboard’s generated API types equal to what the document generates now', async () => {
    // On a difference: `npm run api:types`, and commit what it writes.
    expect(await generateApiTypes()).toBe(readFileSync(API_TYPES_FILE, 'utf8'));
  }, 60_000);

  it('keeps the API document’s error table equal to the code registry', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const table = doc.slice(doc.indexOf('<!-- error-codes -->'), doc.indexOf('<!-- /error-codes -->'));
    const documented = Object.fromEntries([...table.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
    expect(documented).toEqual(ERROR_STATUS);
  });

  it('documents every setting, and the docs stand alone: every link resolves inside the repository', () => {
    const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
    const settings = [...read('src/config.ts').matchAll(/^\s{2}((?:LATCHKEY_)?[A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!);
    expect(settings.length).toBeGreaterThan(20);
    const operations = read('docs/operations.md');
    for (const setting of settings) expect(operations, setting).toContain(`\`${setting}\``);
    for (const file of ['README.md', 'SECURITY.md', ...readdirSync(new URL('../../docs', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]) {
      const text = read(file);
      // Nothing a doc names by a relative path may lie outside the repository: a clone has only it.
      const root = new URL('../../', import.meta.url).href;
      for (const [path] of text.matchAll(/(?:\.\.\/)+[\w.-]+/g)) {
        const target = new URL(path, new URL(`../../${file}`, import.meta.url));
        expect(target.href.startsWith(root) && existsSync(target), `${file} names ${path}`).toBe(true);
      }
      // Nor does it lean on text only its authors had.
      expect(text, file).not.toMatch(/\b[Tt]he issue\b|\bSPEC\b|\.\.\/shared/);
      for (const [link, target, anchor] of text.matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
        if (/^https?:/.test(target!)) continue;
        const url = target ? new URL(target, new URL(`../../${file}`, import.meta.url)) : new URL(`../../${file}`, import.meta.url);
        expect(existsSync(url), `${file} links ${link}`).toBe(true);
        // A link into a section names a heading that is there (GitHub's anchors).
        if (anchor && url.pathname.endsWith('.md')) expect(anchors(readFileSync(url, 'utf8')), `${file} links ${link}`).toContain(anchor);
      }
    }
  });

  it('answers /readyz with 503 when the database is gone', async () => {
    const lost = await startHarness();
    await lost.store.db.destroy();
    const response = await lost.request({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: 'internal_error' } });
    await lost.close().catch(() => undefined);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    expect(JSON.parse((await h.request({ method: 'GET', url: '/healthz' })).body)).toEqual({ status: 'ok' });
    expect(JSON.parse((await h.request({ method: 'GET', url: '/readyz' })).body)).toEqual({ status: 'ready' });
    const metrics = await h.request({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('latchkey_verify_cache_tokens');
    expect(metrics.body).toContain('process_cpu_seconds_total');
  });

  it('exports every label value of its counters from the start, and no gauge named like a counter', async () => {
    const fresh = await startHarness();
    try {
      const body = (await fresh.request({ method: 'GET', url: '/metrics' })).body;
      for (const series of ['latchkey_decisions_total{result="token_revoked"} 0', 'latchkey_decisions_total{result="rate_limited"} 0', 'latchkey_token_lookups_total{outcome="miss"} 0', 'latchkey_transaction_retries_total{cause="deadlock"} 0']) {
        expect(body).toContain(series);
      }
      const gauges = [...body.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]!);
      expect(gauges.filter((name) => name.endsWith('_total'))).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});
