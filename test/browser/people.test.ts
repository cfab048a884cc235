import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, createAccount, PASSWORD } from '../helpers/actors.js';
import { browserMissing, launchChromium, signIn } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const SCREENSHOTS = join(process.cwd(), 'docs', 'screenshots');
const missing = browserMissing({ dashboard: true });
const CHOSEN = 'a password of my own choosing';

/**
 * The People page as an owner uses it in Chromium: adding someone and handing over their
 * one-time password, changing a role, removing someone behind a confirmation; then the person
 * added, made to choose their own password at the first sign-in; and one's own account page.
 */
describe.skipIf(missing !== null)('people in a real browser', () => {
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  let ownerEmail: string;
  let accountId: string;
  const newcomer = { email: '', password: '' };

  beforeAll(async () => {
    h = await startHarness();
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    ({ ownerEmail, accountId } = await createAccount(h));
    ({ context, close: closeBrowser } = await launchChromium());
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await closeBrowser?.();
    await h?.close();
  });

  it('adds someone and shows their one-time password once', async () => {
    await addUser(h, accountId, 'admin');
    await signIn(page, base, ownerEmail, PASSWORD);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'People' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('row').count()).toBe(3);
    newcomer.email = `newcomer-${Date.now()}@example.com`;
    await page.getByLabel('Email').fill(newcomer.email);
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Add person' }).click();
    await expect.poll(() => page.getByRole('heading', { name: `Give ${newcomer.email} their one-time password` }).isVisible()).toBe(true);
    newcomer.password = await page.getByLabel('One-time password', { exact: true }).inputValue();
    expect(newcomer.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const row = page.getByRole('row').filter({ hasText: newcomer.email });
    await expect.poll(() => row.textContent()).toContain('has not chosen a password yet');
    await page.screenshot({ path: join(SCREENSHOTS, 'people.png'), fullPage: true });
  });

  it('changes a role, and says why the last owner cannot be demoted', async () => {
    const row = page.getByRole('row').filter({ hasText: newcomer.email });
    await row.getByLabel(`Role of ${newcomer.email}`).selectOption('admin');
    // The select shows what the server holds once the list is read again.
    await expect.poll(() => row.getByLabel(`Role of ${newcomer.email}`).inputValue()).toBe('admin');
    expect(await row.textContent()).toContain(newcomer.email);
    await page.getByLabel(`Role of ${ownerEmail}`).selectOption('member');
    await expect.poll(() => page.getByRole('alert').filter({ hasText: /last owner can be neither removed nor demoted/ }).isVisible()).toBe(true);
    expect(await page.getByLabel(`Role of ${ownerEmail}`).inputValue()).toBe('owner');
  });

  it('makes the person added choose their own password before anything else', async () => {
    const { context: theirs, close } = await launchChromium();
    try {
      const tab = theirs.pages()[0] ?? (await theirs.newPage());
      await signIn(tab, base, newcomer.email, newcomer.password);
      await expect.poll(() => tab.getByRole('heading', { name: 'Choose your own password' }).isVisible()).toBe(true);
      expect(await tab.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
      await tab.getByLabel('One-time password', { exact: true }).fill(newcomer.password);
      await tab.getByLabel('New password', { exact: true }).fill(CHOSEN);
      await tab.getByLabel('New password again').fill(`${CHOSEN}!`);
      await tab.getByRole('button', { name: 'Change password' }).click();
      await expect.poll(() => tab.getByText('The two new passwords differ.').isVisible()).toBe(true);
      await tab.getByLabel('New password again').fill(CHOSEN);
      await tab.getByRole('button', { name: 'Change password' }).click();
      await expect.poll(() => tab.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);
    } finally {
      await close();
    }
  });

  it('removes someone behind a confirmation naming them', async () => {
    await page.getByRole('button', { name: `Remove ${newcomer.email}` }).click();
    const dialog = page.getByRole('dialog', { name: `Remove ${newcomer.email}?` });
    expect(await dialog.textContent()).toContain('The tokens they created stay with the account');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: newcomer.email }).count()).toBe(0);
  });

  it('answers a path it does not know with a not-found page, not the tokens list', async () => {
    await page.goto(`${base}/no-such-page`);
    await expect.poll(() => page.getByRole('heading', { name: 'Page not found' }).isVisible()).toBe(true);
    expect(await page.getByRole('heading', { name: 'API tokens' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Go to your tokens' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);
  });

  it('changes one’s own password on the account page, and signs out everywhere', async () => {
    await page.getByRole('link', { name: ownerEmail }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Your account' }).isVisible()).toBe(true);
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill(CHOSEN);
    await page.getByLabel('New password again').fill(CHOSEN);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByText('Password is incorrect.').isVisible()).toBe(true);
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByText('Your password is changed, and your other sessions are signed out.').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await signIn(page, base, ownerEmail, CHOSEN);
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);
  });
});
