import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, PASSWORD } from '../helpers/actors.js';
import { browserMissing, launchChromium } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const missing = browserMissing({ dashboard: true });

/** Presses Tab (or Shift+Tab) until the focused element's accessible name or label matches, as someone without a mouse would. */
async function tabTo(page: Page, name: RegExp, back = false): Promise<void> {
  for (let presses = 0; presses < 80; presses += 1) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element) return '';
      const labelled = element.getAttribute('aria-label') ?? (element as HTMLInputElement).labels?.[0]?.textContent ?? '';
      return `${labelled} ${element.textContent ?? ''}`.trim();
    });
    if (name.test(focused)) return;
  }
  throw new Error(`no element named ${name} is reachable by Tab`);
}

/**
 * The dashboard without a mouse: signing in, creating a token from its scope matrix, and
 * revoking it through the confirmation dialog, each by Tab, Space and Enter only.
 */
describe.skipIf(missing !== null)('the dashboard by keyboard alone', () => {
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  let email: string;

  beforeAll(async () => {
    h = await startHarness();
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    ({ ownerEmail: email } = await createAccount(h));
    ({ context, close: closeBrowser } = await launchChromium());
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await closeBrowser?.();
    await h?.close();
  });

  it('signs in, creates a token and revokes it with the keyboard only', async () => {
    await page.goto(base);
    await tabTo(page, /^Email/);
    await page.keyboard.type(email);
    await tabTo(page, /^Password/);
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('heading', { name: 'API tokens' }).isVisible()).toBe(true);

    await tabTo(page, /^Create token$/);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('heading', { name: 'Create token' }).isVisible()).toBe(true);
    await tabTo(page, /^Name/);
    await page.keyboard.type('typed, not clicked');
    // A row of the scope matrix is one radio group: Tab reaches its choice, the arrow keys change it.
    await tabTo(page, /^Domains: No access$/);
    await page.keyboard.press('ArrowRight');
    expect(await page.getByLabel('Domains: Read only').isChecked()).toBe(true);
    await tabTo(page, /^Create token$/);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('secret').isVisible()).toBe(true);

    await tabTo(page, /^Done$/);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('heading', { name: 'typed, not clicked' }).isVisible()).toBe(true);
    await tabTo(page, /^Revoke$/);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Revoke “typed, not clicked”?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await tabTo(page, /^Reason \(optional\)/);
    await page.keyboard.type('done with it');
    await tabTo(page, /^Revoke token$/);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('term').filter({ hasText: 'Revoked' }).isVisible()).toBe(true);
    expect(await page.locator('dl.facts').textContent()).toContain('done with it');
  });
});
