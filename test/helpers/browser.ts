import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why browser tests cannot run here, or null. Locally a missing browser skips them with the
 * reason; under CI it is a failure, never a silent skip.
 */
export function browserMissing(needs: { dashboard?: boolean } = {}): string | null {
  const missing = [
    !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install -y chromium)`,
    needs.dashboard && !existsSync(join(process.cwd(), 'dist', 'dashboard', 'index.html')) && 'the dashboard is not built (npm run build:dashboard)',
  ].filter(Boolean).join('; ');
  if (missing && process.env.CI) throw new Error(`browser tests cannot run: ${missing}`);
  if (missing) console.warn(`browser tests skipped: ${missing}`);
  return missing || null;
}

/** Debian's Chromium, headless, in a fresh profile that `close` removes. */
export async function launchChromium(viewport = { width: 1280, height: 860 }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'latchkey-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on the dashboard's own form, as a person does. */
export async function signIn(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
