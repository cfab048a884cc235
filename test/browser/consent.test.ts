import type { BrowserContext, Page } from 'playwright-core';
import type { DocumentFetcher } from '../../src/net/document-fetcher.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, asSession, createAccount, createDomain, expectStatus, login, PASSWORD, type Session } from '../helpers/actors.js';
import { browserMissing, launchChromium } from '../helpers/browser.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { INITIALIZE, post, withAgent } from '../mcp/agent.js';
import { oauthAgent, pkce, REDIRECT } from '../oauth/client.js';

const missing = browserMissing({ dashboard: true });

/** A client known by its metadata document, which a fetcher standing in for the Internet serves. */
const METADATA_URL = 'https://agent.example/oauth/client.json';
const AGENT_REDIRECT = 'https://agent.example/callback';
const fetcher: DocumentFetcher = {
  async fetch(url) {
    return url === METADATA_URL
      ? { ok: true, url, body: { client_id: METADATA_URL, client_name: 'Agent Example', redirect_uris: [AGENT_REDIRECT] }, freshForMs: 600_000 }
      : { ok: false, reason: 'status', description: 'the document’s server answered 404' };
  },
};

/**
 * An agent's authorization request walked by a person in Chromium: from the authorization
 * endpoint to the consent page, through sign-in and the narrowing controls, to the redirect URI
 * (answered by the page's route, so nothing needs to listen there), then Connected agents.
 */
describe.skipIf(missing !== null)('the consent page in a real browser', () => {
  let h: Harness;
  let base: string;
  let agent: ReturnType<typeof oauthAgent>;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  let email: string;
  let owner: Session;
  let chosen: { id: string; name: string };
  let accessToken = '';

  beforeAll(async () => {
    h = await startHarness({}, { fetcher });
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    agent = oauthAgent(h, base);
    ({ ownerEmail: email } = await createAccount(h));
    owner = await login(h, email);
    chosen = await createDomain(h, asSession(owner), 'shop.example.com');
    await createDomain(h, asSession(owner), 'blog.example.com');
    ({ context, close: closeBrowser } = await launchChromium());
    page = context.pages()[0] ?? (await context.newPage());
    for (const redirect of [REDIRECT, AGENT_REDIRECT]) {
      await page.route(`${new URL(redirect).origin}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'the agent got its answer' }));
    }
  });

  afterAll(async () => {
    await closeBrowser?.();
    await h?.close();
  });

  const cameBack = async (redirect = REDIRECT) => {
    await page.waitForURL((url) => url.href.startsWith(redirect));
    return new URL(page.url());
  };

  it('signs in, shows who asks and where the answer goes, narrows, allows, and the code gives only what was allowed', async () => {
    const clientId = await agent.register();
    const { verifier, challenge } = pkce();
    await page.goto(`${base}/oauth/authorize?${agent.authorizeQuery(clientId, challenge)}`);
    expect(new URL(page.url()).pathname).toBe('/consent');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect.poll(() => page.getByRole('heading', { name: 'Claude wants to connect to your account' }).isVisible()).toBe(true);
    expect(new URL(page.url()).pathname).toBe('/consent');
    const facts = await page.getByLabel('Who is asking').textContent();
    expect(facts).toContain('unverified');
    expect(facts).toContain('127.0.0.1:33418');
    expect(facts).toContain(`signed in as ${email}`);
    expect(await page.getByRole('note').textContent()).toContain('a program on this computer');

    const write = page.getByLabel(/^Write:/);
    expect(await page.getByLabel(/^Read:/).isChecked()).toBe(true);
    expect(await write.isChecked()).toBe(true);
    await write.press('Space');
    expect(await write.isChecked()).toBe(false);
    await page.getByLabel('Only the domains chosen here').check();
    expect(await page.getByRole('button', { name: 'Allow' }).isDisabled()).toBe(true);
    await page.getByLabel('shop.example.com').check();
    await page.getByLabel('Connection lasts').selectOption({ label: '7 days' });
    await page.getByRole('button', { name: 'Allow' }).click();

    const back = await cameBack();
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('code')).toMatch(/^lk_code_/);
    expect(back.searchParams.get('state')).toBe('st-123');
    expect(back.searchParams.get('iss')).toBe(base);

    const exchanged = await agent.tokens({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${base}/mcp` });
    const pair = expectStatus(exchanged, 200);
    expect(pair.scope).toBe('mcp:read');
    accessToken = pair.access_token;
    const [connected] = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;
    expect(connected).toMatchObject({ scopes: ['mcp:read'], domains: [chosen.id], connected_by: email });
    expect(Date.parse(connected.expires_at) - Date.parse(connected.connected_at)).toBe(7 * 86_400_000);
  });

  it('sends Deny back as access_denied, and asks for the password again first when the last check is old', async () => {
    h.clock.advance(11 * 60_000);
    await page.goto(`${base}/oauth/authorize?${agent.authorizeQuery(await agent.register(), pkce().challenge)}`);
    await expect.poll(() => page.getByRole('heading', { name: 'Verify it’s you' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Allow' }).count()).toBe(0);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Allow' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Deny' }).click();
    const back = await cameBack();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('st-123');
    expect(back.searchParams.has('code')).toBe(false);
  });

  it('shows a metadata-document client as verified by its host, with no warning for an https redirect', async () => {
    await page.goto(`${base}/oauth/authorize?${agent.authorizeQuery(METADATA_URL, pkce().challenge, { redirect_uri: AGENT_REDIRECT })}`);
    await expect.poll(() => page.getByRole('heading', { name: 'Agent Example wants to connect to your account' }).isVisible()).toBe(true);
    const facts = await page.getByLabel('Who is asking').textContent();
    expect(facts).toMatch(/verified — published by agent\.example/);
    expect(facts).not.toContain('unverified');
    expect(await page.getByRole('note').count()).toBe(0);
    await page.getByRole('button', { name: 'Deny' }).click();
    const back = await cameBack(AGENT_REDIRECT);
    expect(back.origin + back.pathname).toBe(AGENT_REDIRECT);
    expect(back.searchParams.get('error')).toBe('access_denied');
  });

  it('says why a person cannot connect, with no Allow button: a plan without API access, a member', async () => {
    const basic = await createAccount(h, 'basic');
    const member = await addUser(h, owner.accountId, 'member');
    const refusals: [string, RegExp][] = [
      [basic.ownerEmail, /You cannot connect this agent: the basic plan has no API access/],
      [member, /You cannot connect this agent: your role cannot connect AI agents on this account; ask an owner/],
    ];
    for (const [who, reason] of refusals) {
      const { context: other, close } = await launchChromium();
      try {
        const tab = other.pages()[0] ?? (await other.newPage());
        await tab.goto(`${base}/oauth/authorize?${agent.authorizeQuery(await agent.register(), pkce().challenge)}`);
        await tab.getByLabel('Email').fill(who);
        await tab.getByLabel('Password').fill(PASSWORD);
        await tab.getByRole('button', { name: 'Sign in' }).click();
        await expect.poll(() => tab.getByRole('alert').isVisible()).toBe(true);
        expect(await tab.getByRole('alert').textContent()).toMatch(reason);
        expect(await tab.getByRole('button', { name: 'Allow' }).count()).toBe(0);
        expect(await tab.getByRole('button', { name: 'Deny' }).isVisible()).toBe(true);
      } finally {
        await close();
      }
    }
  });

  it('gathers the agent’s tokens under it in the tokens list', async () => {
    await page.goto(`${base}/tokens`);
    const agentRow = page.getByRole('button', { name: 'Claude (connected agent) — 1 token' });
    await expect.poll(() => agentRow.isVisible()).toBe(true);
    expect(await agentRow.getAttribute('aria-expanded')).toBe('false');
    const tokenRows = page.getByRole('row').filter({ has: page.getByText(accessToken.slice(0, 10)) });
    expect(await tokenRows.count()).toBe(0);
    await agentRow.click();
    expect(await agentRow.getAttribute('aria-expanded')).toBe('true');
    expect(await tokenRows.count()).toBe(1);
    expect(await page.locator('tr.nested').count()).toBe(1);
    expect(await page.locator('tr.nested').textContent()).toContain('AI agent');
  });

  it('lists the connection under Connected agents with its last tool, and Disconnect, once confirmed, refuses its token at /mcp', async () => {
    await withAgent(base, accessToken, (client) => client.callTool({ name: 'list_domains', arguments: {} }));
    // The use is recorded once the answer is sent: wait until it is written, as the page would show it.
    await expect.poll(async () => {
      await h.ctx.usage.flush();
      await h.ctx.accessLog.flush();
      return expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data[0].last_tool;
    }).toBe('list_domains');
    await page.goto(`${base}/tokens`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connected agents' }).click();
    // The tokens list has a row for Claude too: wait for the page itself before looking for it.
    await expect.poll(() => page.getByRole('heading', { name: 'Connected agents' }).isVisible()).toBe(true);
    const row = page.getByRole('row').filter({ has: page.getByRole('button', { name: 'Disconnect Claude' }) });
    await expect.poll(() => row.count()).toBe(1);
    const text = await row.textContent();
    expect(text).toContain('unverified');
    expect(text).toContain('shop.example.com');
    expect(text).toContain(email);
    expect(text).toMatch(/from 127\.0\.0\.1 · list_domains/);
    await row.getByRole('button', { name: 'Disconnect Claude' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disconnect Claude?' });
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => page.getByText('No agents connected').isVisible()).toBe(true);
    expect((await post(base, INITIALIZE, { authorization: `Bearer ${accessToken}` })).status).toBe(401);
  });
});
