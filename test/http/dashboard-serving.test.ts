import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
const dir = mkdtempSync(join(tmpdir(), 'latchkey-dashboard-'));
beforeAll(async () => {
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Latchkey</title><div id="root"></div>');
  h = await startHarness({ LATCHKEY_DASHBOARD_DIR: dir });
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serving the dashboard', () => {
  it('serves the app at / and at its own routes, with a strict CSP and security headers', async () => {
    for (const url of ['/', '/tokens', '/tokens/tok_123', '/audit-log', '/connected-agents']) {
      const response = await h.request({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.body).toContain('<div id="root">');
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('serves the consent page, with the authorization request in its query, never to be framed', async () => {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'cli_x', redirect_uri: 'http://127.0.0.1:9/cb', state: 'a b' }).toString();
    const response = await h.request({ method: 'GET', url: `/consent?${query}` });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<div id="root">');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it('keeps API 404s as JSON errors, never the app', async () => {
    const response = await h.request({ method: 'GET', url: '/v1/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'not_found' } });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect((await h.request({ method: 'GET', url: '/missing.js' })).statusCode).toBe(404);
  });
});
