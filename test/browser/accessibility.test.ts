import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSession, createAccount, createDomain, createToken, expectStatus, login, PASSWORD, type Session } from '../helpers/actors.js';
import { seriousViolations } from '../helpers/axe.js';
import { browserMissing, launchChromium, signIn } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { oauthAgent, pkce } from '../oauth/client.js';

const missing = browserMissing({ dashboard: true });
const WIDTHS = [1280, 390] as const;

/**
 * axe-core on every page of the dashboard, at a desktop and a phone width, with an account that
 * has something on each page (tokens active, paused, rate-limited and revoked, a domain, a
 * connected agent, people, logs): no serious or critical violation anywhere.
 */
describe.skipIf(missing !== null)('accessibility of every page (axe-core)', () => {
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  let owner: Session;
  let tokenId = '';
  let authorizeQuery = '';

  beforeAll(async () => {
    h = await startHarness();
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { ownerEmail } = await createAccount(h);
    owner = await login(h, ownerEmail);
    const session = asSession(owner);
    const domain = await createDomain(h, session, 'shop.example.com');
    const limited = await createToken(h, session, { name: 'CI deploy', scopes: ['domains:read'], domains: [domain.id], rate_limit: { requests: 100, per: '1m' }, expires_in: '30d' });
    tokenId = limited.token.id;
    await h.request({ method: 'GET', url: '/v1/domains', headers: { authorization: `Bearer ${limited.secret}` } });
    const paused = await createToken(h, session, { name: 'Nightly export', scopes: ['activity:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${paused.token.id}/pause`, headers: session, payload: {} }), 200);
    const revoked = await createToken(h, session, { name: 'Old script', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${revoked.token.id}/revoke`, headers: session, payload: { reason: 'leaked in a log' } }), 200);
    const backup = await createToken(h, session, { name: 'Backup job', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${backup.token.id}/rotate`, headers: session, payload: { grace_period: '1h' } }), 200);
    const blog = await createDomain(h, session, 'blog.example.com');
    const [blogToken] = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?domain_id=${blog.id}`, headers: session }), 200).data;
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${blogToken.id}/revoke`, headers: session, payload: {} }), 200);
    const agent = oauthAgent(h, base);
    await agent.connect(owner);
    authorizeQuery = agent.authorizeQuery(await agent.register(), pkce().challenge);
    await h.ctx.usage.flush();
    await h.ctx.accessLog.flush();
    ({ context, close: closeBrowser } = await launchChromium());
    page = context.pages()[0] ?? (await context.newPage());
    // The page reads its own clock to say "in 30 days": the server's test clock, not today's date.
    await page.clock.setSystemTime(h.clock.now());
  });

  afterAll(async () => {
    await closeBrowser?.();
    await h?.close();
  });

  const audit = async (what: string) => {
    const found: string[] = [];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 860 });
      found.push(...(await seriousViolations(page)).map((line) => `${what} at ${width}px: ${line}`));
    }
    return found;
  };

  it('finds none on the sign-in page', async () => {
    await page.goto(base);
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await audit('sign-in')).toEqual([]);
  });

  it('finds none on any page of the signed-in dashboard', async () => {
    await signIn(page, base, owner.email, PASSWORD);
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);
    const pages: [string, string, string][] = [
      ['tokens list', '/tokens', 'API tokens'],
      ['create token', '/tokens/new', 'Create token'],
      ['token detail', `/tokens/${tokenId}`, 'CI deploy'],
      ['connected agents', '/connected-agents', 'Connected agents'],
      ['domains', '/domains', 'Domains'],
      ['people', '/people', 'People'],
      ['audit log', '/audit-log', 'Audit log'],
      ['access logs', '/access-logs', 'Access logs'],
      ['account', '/account', 'Your account'],
      ['not found', '/nowhere', 'Page not found'],
    ];
    const found: string[] = [];
    for (const [what, path, heading] of pages) {
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.goto(`${base}${path}`);
      await expect.poll(() => page.getByRole('heading', { name: heading, exact: true }).first().isVisible(), { timeout: 5000 }).toBe(true);
      await page.waitForLoadState('networkidle');
      found.push(...(await audit(what)));
    }
    expect(found).toEqual([]);
  });

  it('lists the live tokens by default, the others one filter away, a revoked one with when and why', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${base}/tokens`);
    const row = (name: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await expect.poll(() => row('CI deploy').count()).toBe(1);
    expect(await row('Nightly export').count()).toBe(1);
    expect(await row('Old script').count()).toBe(0);
    await page.getByLabel('Status').selectOption('');
    await expect.poll(() => row('Old script').count()).toBe(1);
    const revoked = await row('Old script').locator('td').last().textContent();
    expect(revoked).toMatch(/^Revoked .*leaked in a log$/);
    expect(await row('CI deploy').locator('td').last().textContent()).toMatch(/^Dec 23, 2026in 30 days$/);
  });

  it('shows a rotated token and the secret it replaced as one lineage, the replaced one under its successor', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${base}/tokens`);
    const rows = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Backup job' }) });
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).getAttribute('class')).toBeNull();
    expect(await rows.nth(1).getAttribute('class')).toBe('nested');
    expect(await rows.nth(1).textContent()).toContain('the secret a rotation replaced');
  });

  it('shows one card per token at 390 px: name, status, prefix and last use, nothing mostly blank', async () => {
    await page.setViewportSize({ width: 390, height: 860 });
    await page.goto(`${base}/tokens`);
    const card = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'CI deploy' }) });
    await expect.poll(() => card.count()).toBe(1);
    const box = (await card.boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(390);
    const visible = await card.locator('td').evaluateAll((cells) => cells.filter((cell) => (cell as HTMLElement).offsetParent !== null).map((cell) => cell.className));
    expect(visible).toEqual(['name', 'status', 'prefix', 'last-used']);
    expect(await card.textContent()).toContain('Last used');
    const search = page.getByLabel('Search');
    expect(await search.evaluate((input) => (input as HTMLInputElement).scrollWidth <= (input as HTMLInputElement).clientWidth + 1)).toBe(true);
  });

  it('shows a token’s activity with a chart that has axes, dates and counts, and a table to the second with the user agent', async () => {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 860 });
      await page.goto(`${base}/tokens/${tokenId}`);
      await expect.poll(() => page.getByRole('region', { name: 'Activity', exact: true }).isVisible()).toBe(true);
      const figures = await page.locator('figure.chart svg text').allTextContents();
      expect(figures).toEqual(expect.arrayContaining(['0', '1', 'Nov 23']));
      expect(await page.locator('figure.chart table caption').textContent()).toBe('Requests per day by status');
      const entry = await page.getByRole('region', { name: 'Activity', exact: true }).locator('tbody tr').first().textContent();
      expect(entry).toMatch(/12:00:00/);
      expect(entry).toContain('lightMyRequest');
      // The status is never cut off: the badge lies inside the window.
      const badge = (await page.locator('.heading .badge').boundingBox())!;
      expect(badge.x + badge.width).toBeLessThanOrEqual(width);
    }
  });

  it('says an error in words next to its field: an empty custom date is “Choose a date.”', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${base}/tokens/new`);
    await page.getByLabel('Name').fill('dated');
    await page.getByLabel('Domains: Read only').check();
    await page.getByLabel('Expiration').selectOption('custom');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Choose a date.' }).isVisible()).toBe(true);
    expect(await page.locator('main').textContent()).not.toMatch(/expires_at|ISO-8601|date-time/);
  });

  it('gives every radio button and check box a target of at least 24 by 24 px', async () => {
    for (const path of ['/tokens/new', `/oauth/authorize?${authorizeQuery}`]) {
      await page.goto(`${base}${path}`);
      await expect.poll(() => page.locator('input[type=radio], input[type=checkbox]').count()).toBeGreaterThan(0);
      const small = await page.locator('input[type=radio], input[type=checkbox]').evaluateAll((inputs) => inputs
        .map((input) => ({ name: input.getAttribute('aria-label') ?? input.closest('label')?.textContent ?? '', box: input.getBoundingClientRect() }))
        .filter(({ box }) => box.width < 24 || box.height < 24)
        .map(({ name, box }) => `${name}: ${box.width}×${box.height}`));
      expect(small, path).toEqual([]);
    }
  });

  it('finds none on the consent page', async () => {
    await page.goto(`${base}/oauth/authorize?${authorizeQuery}`);
    await expect.poll(() => page.getByRole('button', { name: 'Allow' }).isVisible(), { timeout: 5000 }).toBe(true);
    expect(await audit('consent')).toEqual([]);
  });

  it('lists each domain’s tokens, flags one with no working token, and deletes behind a confirmation naming what it revokes', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${base}/domains`);
    const card = (name: string) => page.getByRole('listitem').filter({ has: page.getByRole('heading', { name }) });
    await expect.poll(() => card('shop.example.com').getByRole('list', { name: 'Tokens of shop.example.com' }).isVisible()).toBe(true);
    expect(await card('shop.example.com').getByRole('list', { name: 'Tokens of shop.example.com' }).textContent()).toContain('CI deploy');
    expect(await card('blog.example.com').getByRole('note').textContent()).toMatch(/No working token/);
    expect(await card('shop.example.com').getByRole('note').count()).toBe(0);
    await card('shop.example.com').getByRole('button', { name: 'Delete shop.example.com' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete shop.example.com?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    const said = await dialog.textContent();
    expect(said).toMatch(/revokes 2 tokens limited to shop\.example\.com alone/);
    expect(said).toContain('CI deploy');
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Delete domain' }).click();
    await expect.poll(() => card('shop.example.com').count()).toBe(0);
    const { token } = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${tokenId}`, headers: asSession(owner) }), 200);
    expect(token.status).toBe('revoked');
  });
});
