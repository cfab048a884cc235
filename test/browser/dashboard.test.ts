import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, createAccount, createToken, login, PASSWORD } from '../helpers/actors.js';
import { browserMissing, launchChromium } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const SCREENSHOTS = join(process.cwd(), 'docs', 'screenshots');
const missing = browserMissing({ dashboard: true });

describe.skipIf(missing !== null)('dashboard in a real browser', () => {
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  let email: string;
  const dialogs: string[] = [];

  beforeAll(async () => {
    h = await startHarness();
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    ({ ownerEmail: email } = await createAccount(h));
    ({ context, close: closeBrowser } = await launchChromium());
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = context.pages()[0] ?? (await context.newPage());
    // Relative dates ("in 30 days") are read against the server's test clock, as they would be against today's.
    await page.clock.setSystemTime(h.clock.now());
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  afterAll(async () => {
    await closeBrowser?.();
    await h?.close();
  });

  const useToken = (secret: string, path = '/v1/domains') =>
    page.evaluate(async ([s, p]) => {
      const response = await fetch(p!, { headers: { authorization: `Bearer ${s}` }, credentials: 'omit' });
      return { status: response.status, body: await response.json() };
    }, [secret, path]);

  it('signs in', async () => {
    await page.goto(base);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No tokens yet').isVisible()).toBe(true);
  });

  it('adds a domain and shows its token once', async () => {
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByLabel('Domain name').fill('shop.example.com');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await expect.poll(() => page.getByText('Copy your token now').isVisible()).toBe(true);
    await page.getByLabel('Domain name').fill('blog.example.com');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'blog.example.com' }).isVisible()).toBe(true);
    const shop = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'shop.example.com' }) });
    await shop.getByRole('button', { name: 'Mailboxes' }).click();
    await shop.getByLabel('Mailbox', { exact: true }).fill('support');
    await shop.getByRole('button', { name: 'Add mailbox' }).click();
    await expect.poll(() => shop.getByText('support@shop.example.com').isVisible()).toBe(true);
  });

  let secret = '';
  it('creates a token with a chosen scope matrix, domain, expiry and a validated IP allowlist; shows it once; copies it', async () => {
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByRole('link', { name: 'Create token' }).click();
    await page.getByLabel('Name').fill('CI deploy');
    // Nothing is granted until chosen: every resource starts at No access, and Create waits.
    await expect.poll(() => page.getByLabel('Domains: No access').isChecked()).toBe(true);
    expect(await page.getByLabel('API tokens: No access', { exact: true }).isChecked()).toBe(true);
    expect(await page.getByRole('button', { name: 'Create token' }).isDisabled()).toBe(true);
    const summary = page.getByRole('region', { name: 'This token will be able to' });
    expect(await summary.textContent()).toContain('Nothing yet');
    await page.getByLabel('Domains: Read only').check();
    await page.getByLabel('Mailboxes: Full access').check();
    // "requires": sending needs reading mail, selected as the user clicks.
    await page.getByLabel('Email submission: Full access').check();
    expect(await page.getByLabel('Email: Read only').isChecked()).toBe(true);
    await page.getByLabel('Only these domains').check();
    await page.getByLabel('shop.example.com').check();
    await page.getByLabel('Expiration').selectOption('30d');
    await page.getByLabel('IP allowlist (optional)').fill('10.0.0.0/33');
    await expect.poll(() => page.getByText('Not an IP address or CIDR range: 10.0.0.0/33').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Create token' }).isDisabled()).toBe(true);
    await page.getByLabel('IP allowlist (optional)').fill('127.0.0.1');
    const granted = await summary.textContent();
    for (const line of ['Domains: read only', 'Mailboxes: full access', 'Email submission: full access', 'Email: read only', 'Only on shop.example.com', 'only from 127.0.0.1', 'for 30 days']) {
      expect(granted).toContain(line);
    }
    expect(granted).not.toContain('API tokens');
    await page.screenshot({ path: join(SCREENSHOTS, 'create-token.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create token' }).click();

    await expect.poll(() => page.getByText('This is the only time it is shown').isVisible()).toBe(true);
    secret = await page.getByTestId('secret').inputValue();
    expect(secret).toMatch(/^lk_live_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download .txt' }).click();
    expect((await download).suggestedFilename()).toBe('CI-deploy.txt');
  });

  it('uses the token with fetch, then sees last use filled in on the detail page and in the list', async () => {
    const used = await useToken(secret);
    expect(used.status).toBe(200);
    expect(used.body.data.map((d: { name: string }) => d.name)).toEqual(['shop.example.com']);
    expect((await useToken(secret, '/v1/activity')).status).toBe(403);
    // The access log is written in batches; the activity table shows what has been flushed.
    await h.ctx.accessLog.flush();
    await page.getByRole('link', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('last-used').textContent()).toContain('from 127.0.0.1');
    expect(await page.getByText('Domains: read only').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('cell', { name: '/v1/domains' }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'token-detail.png'), fullPage: true });
    // Leaving the page forgot the secret: nothing on the detail page shows it.
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('link', { name: 'All tokens' }).click();
    const row = page.getByRole('row', { name: /CI deploy/ });
    await expect.poll(() => row.textContent()).toContain('from 127.0.0.1');
    expect(await row.textContent()).toContain('shop.example.com');
    await page.screenshot({ path: join(SCREENSHOTS, 'tokens-list.png'), fullPage: true });
  });

  it('pauses and resumes', async () => {
    await page.getByRole('link', { name: 'CI deploy' }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.locator('.heading').getByText('Paused', { exact: true }).isVisible()).toBe(true);
    expect((await useToken(secret)).body.error.code).toBe('token_paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.locator('.heading').getByText('Active', { exact: true }).isVisible()).toBe(true);
    expect((await useToken(secret)).status).toBe(200);
  });

  it('rotates, showing the new secret once, and revokes behind a confirmation that names the token', async () => {
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByLabel('Grace period').selectOption('0s');
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => page.getByTestId('secret').isVisible()).toBe(true);
    const rotated = await page.getByTestId('secret').inputValue();
    expect(rotated).not.toBe(secret);
    expect((await useToken(secret)).body.error.code).toBe('token_expired');
    expect((await useToken(rotated)).status).toBe(200);

    await page.getByRole('link', { name: 'Open the new token' }).click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke “CI deploy”?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    // Focus stays in the open dialog, however far one tabs, either way.
    const focusInDialog = () => dialog.evaluate((box) => box.contains(document.activeElement));
    for (const key of ['Tab', 'Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
      await page.keyboard.press(key);
      expect(await focusInDialog(), key).toBe(true);
    }
    await dialog.getByLabel('Reason (optional)').fill('leaked in a CI log');
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await expect.poll(() => page.getByRole('term').filter({ hasText: 'Revoked' }).isVisible()).toBe(true);
    const facts = await page.locator('dl.facts').textContent();
    expect(facts).toContain('leaked in a CI log');
    expect(facts).not.toContain('Expires');
    expect((await useToken(rotated)).body.error.code).toBe('token_revoked');
  });

  it('asks "Verify it’s you" when the password check is stale, then completes the action', async () => {
    h.clock.advance(11 * 60_000);
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByRole('link', { name: 'Create token' }).click();
    await page.getByLabel('Name').fill('after reauth');
    await page.getByRole('button', { name: 'Read only' }).click();
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Verify it’s you' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.getByText('This is the only time it is shown').isVisible()).toBe(true);
    expect(await page.getByTestId('secret').inputValue()).toMatch(/^lk_live_/);
  });

  it('shows a token named like markup as text', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const status = await page.evaluate(async (n) => {
      const response = await fetch('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': sessionStorage.getItem('latchkey.csrf') ?? '' },
        body: JSON.stringify({ name: n, scopes: ['domains:read'] }),
      });
      return response.status;
    }, name);
    expect(status).toBe(201);
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await expect.poll(() => page.getByRole('link', { name }).isVisible()).toBe(true);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('keeps a direction override in a name stored before such names were refused from reordering the page', async () => {
    const status = await page.evaluate(async () => {
      const response = await fetch('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': sessionStorage.getItem('latchkey.csrf') ?? '' },
        body: JSON.stringify({ name: 'old spoof', scopes: ['domains:read'] }),
      });
      return response.status;
    });
    expect(status).toBe(201);
    // As an earlier release would have stored it: an override left open.
    const spoof = 'ci-deploy-\u202edaer-ylno';
    await h.store.db.updateTable('tokens').set({ name: spoof }).where('name', '=', 'old spoof').execute();
    await page.goto(`${base}/tokens`);
    const link = page.locator('a', { has: page.locator('bdi', { hasText: 'daer-ylno' }) });
    await expect.poll(() => link.isVisible()).toBe(true);
    // The name sits in an isolate of its own: the override inside cannot reach the text around it.
    const name = link.locator('bdi');
    expect(await name.textContent()).toBe(spoof);
    expect(await name.evaluate((element) => getComputedStyle(element).unicodeBidi)).toBe('isolate');
    await link.click();
    await expect.poll(() => page.locator('h1 bdi').textContent()).toBe(spoof);
  });

  it('offers presets that say what they grant, and starts an AI agent at reading', async () => {
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByRole('link', { name: 'Create token' }).click();
    const summary = page.getByRole('region', { name: 'This token will be able to' });
    await page.getByRole('button', { name: 'Send email' }).click();
    await expect.poll(() => page.getByLabel('Email submission: Full access').isChecked()).toBe(true);
    expect(await page.getByLabel('Email: Read only').isChecked()).toBe(true);
    expect(await page.getByLabel('Domains: No access').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Domain admin' }).click();
    await expect.poll(() => summary.textContent()).toContain('Domains: full access');
    expect(await page.getByLabel('API tokens: No access', { exact: true }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Read only' }).click();
    await expect.poll(() => page.getByLabel('Domains: Read only').isChecked()).toBe(true);
    expect(await page.getByLabel('Email submission: No access').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Full access' }).click();
    await expect.poll(() => page.getByLabel('API tokens: Full access', { exact: true }).isChecked()).toBe(true);
    await page.getByLabel('AI agent (MCP)').check();
    await expect.poll(() => summary.textContent()).toContain('AI agent: read only');
    expect(await summary.textContent()).not.toMatch(/make changes|send/);
    await page.getByRole('link', { name: 'Cancel' }).click();
  });

  it('shows an AI agent’s last tool call on its token’s page', async () => {
    const agent = await createToken(h, asSession(await login(h, email)), { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    const called = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.secret}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_domains', arguments: {} } }),
    });
    expect(called.status).toBe(200);
    await h.ctx.accessLog.flush();
    await page.goto(`${base}/tokens/${agent.token.id}`);
    await expect.poll(() => page.getByTestId('last-tool').textContent()).toMatch(/^list_domains, /);
  });

  it('lists the audit and access logs with filters', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.getByRole('cell', { name: 'token.revoked' }).count()).toBeGreaterThan(0);
    // A revocation's reason reads in the row, and its target links to the token.
    const revocation = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'token.revoked' }) }).filter({ hasText: 'leaked in a CI log' });
    await expect.poll(() => revocation.count()).toBe(1);
    expect(await revocation.textContent()).toMatch(/reason: leaked in a CI log/);
    expect(await revocation.getByRole('link', { name: 'CI deploy' }).getAttribute('href')).toMatch(/^\/tokens\/tok_/);
    await page.getByLabel('Action').fill('token.revoked');
    await expect.poll(async () => (await page.locator('tbody tr').allTextContents()).every((t) => t.includes('token.revoked'))).toBe(true);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Chain intact/);
    await h.ctx.accessLog.flush();
    await page.getByRole('link', { name: 'Access logs' }).click();
    await expect.poll(() => page.getByRole('cell', { name: 'CI deploy' }).count()).toBeGreaterThan(0);
    await page.getByLabel('Outcome').selectOption('4xx');
    await expect.poll(async () => (await page.locator('tbody tr td:nth-child(4)').allTextContents()).every((t) => /^4\d\d\b/.test(t))).toBe(true);
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0);
    await page.getByLabel('Outcome').selectOption('');
    const picker = page.getByLabel('Token', { exact: true });
    await expect.poll(() => picker.locator('option').count()).toBeGreaterThan(1);
    await picker.selectOption((await picker.locator('option').nth(1).getAttribute('value'))!);
    const picked = (await picker.locator('option:checked').textContent())!.replace(/ \(.*$/, '');
    await expect.poll(async () => (await page.locator('tbody tr td:nth-child(2)').allTextContents()).every((t) => t === picked)).toBe(true);
  });

  it('downloads the audit log as CSV', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('latchkey-audit-log.csv');
  });

  it('edits a token and deletes one behind a confirmation that names it', async () => {
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByRole('link', { name: 'after reauth' }).click();
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit “after reauth”' });
    await edit.getByLabel('Name').fill('renamed in the dashboard');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'renamed in the dashboard' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete “renamed in the dashboard”?' });
    await confirm.getByRole('button', { name: 'Delete token' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('link', { name: 'renamed in the dashboard' }).count()).toBe(0);
  });

  it('shows scopes the plan lacks as disabled, naming the plan that unlocks them', async () => {
    const account = (await page.evaluate(async () => (await (await fetch('/v1/auth/session')).json()).account.id)) as string;
    await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${account}`, headers: { authorization: `Bearer ${h.operatorToken}` }, payload: { plan: 'starter' } });
    await page.getByRole('link', { name: 'Create token' }).click();
    await page.getByRole('button', { name: 'Full access' }).click();
    await expect.poll(() => page.getByLabel('Domains: Read only').isChecked()).toBe(true);
    expect(await page.getByLabel('Domains: Full access').isDisabled()).toBe(true);
    expect(await page.getByLabel('Domains: Read only').isEnabled()).toBe(true);
    const row = page.getByRole('row', { name: /^Domains/ });
    expect(await row.textContent()).toContain('Pro');
    await h.request({ method: 'PATCH', url: `/admin/v1/accounts/${account}`, headers: { authorization: `Bearer ${h.operatorToken}` }, payload: { plan: 'pro' } });
  });

  it('lets a second tab of the same browser make changes, and a reload too', async () => {
    const second = await context.newPage();
    try {
      await second.goto(`${base}/tokens`);
      await expect.poll(() => second.getByRole('link', { name: 'Create token' }).isVisible()).toBe(true);
      await second.getByRole('link', { name: 'Create token' }).click();
      await second.getByLabel('Name').fill('made in a second tab');
      await second.getByRole('button', { name: 'Read only' }).click();
      await second.getByRole('button', { name: 'Create token' }).click();
      await expect.poll(() => second.getByText('This is the only time it is shown').isVisible()).toBe(true);
      // A reload keeps the session, and the tab can still change things.
      await second.goto(`${base}/tokens`);
      await second.reload();
      await second.getByRole('link', { name: 'made in a second tab' }).click();
      await second.getByRole('button', { name: 'Pause' }).click();
      await expect.poll(() => second.locator('.heading').getByText('Paused', { exact: true }).isVisible()).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('stays usable on a narrow window', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Create token' }).isVisible()).toBe(true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('signs out', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await page.evaluate(async () => (await fetch('/v1/tokens')).status)).toBe(401);
  });
});
