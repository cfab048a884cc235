/** The API reference (`/docs`) in a real browser, under the Content-Security-Policy it is served with. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, launchChromium } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const missing = browserMissing();

describe.skipIf(missing !== null)('the API reference in a real browser', () => {
  let h: Harness;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    h = await startHarness();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('renders every operation with nothing its policy had to block', async () => {
    const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const page = await browser.context.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });
    await page.exposeFunction('reportViolation', (what: string) => blocked.push(what));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { reportViolation: (what: string) => void }).reportViolation(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    const response = await page.goto(`${base}/docs`);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => page.locator('.swagger-ui .info .title').textContent(), { timeout: 15_000 }).toContain('Latchkey');
    await expect.poll(() => page.locator('.opblock').count()).toBeGreaterThan(20);
    // An inline script smuggled into the page would not run.
    expect(await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.body.append(script);
      return (window as unknown as { injected?: boolean }).injected ?? false;
    })).toBe(false);
    expect(blocked.filter((what) => !/script-src/.test(what) || !/inline/.test(what))).toEqual([]);
    await page.close();
  });
});
