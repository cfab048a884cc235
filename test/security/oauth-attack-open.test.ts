/**
 * Holes found by attacking the authorization server over HTTP that are NOT fixed on this branch:
 * each test fails until the behaviour it names is decided and changed (see the commit message).
 */
import { describe, expect, it } from 'vitest';
import { withHarness } from '../helpers/harness.js';
import { oauthAgent } from '../oauth/client.js';

describe('open redirect through the authorization endpoint', () => {
  it('does not send a browser, unprompted, to a redirect URI that anyone registered a minute ago (RFC 9700 section 4.11.2)', async () => {
    await withHarness({}, async (h) => {
      const agent = oauthAgent(h, 'http://127.0.0.1:7777');
      // No account, no person: one unauthenticated registration, then a link on Latchkey's own host.
      const clientId = await agent.register({ client_name: 'Anything', redirect_uris: ['https://evil.example/phish'] });
      const sent = await h.request({ method: 'GET', url: `/oauth/authorize?client_id=${clientId}`, headers: { host: '127.0.0.1:7777' } });
      expect(String(sent.headers.location ?? '')).not.toMatch(/^https:\/\/evil\.example\//);
    });
  });

  it('nor to an OS protocol handler anyone registered (ms-msdt:, search-ms:, ms-officecmd:, itms-services:), which the deny list lets through', async () => {
    await withHarness({}, async (h) => {
      const agent = oauthAgent(h, 'http://127.0.0.1:7777');
      for (const uri of ['ms-msdt:/id', 'search-ms:/query', 'ms-officecmd:/x', 'itms-services://x/y']) {
        const clientId = await agent.register({ client_name: 'Anything', redirect_uris: [uri] });
        const sent = await h.request({ method: 'GET', url: `/oauth/authorize?client_id=${clientId}`, headers: { host: '127.0.0.1:7777' } });
        expect(String(sent.headers.location ?? ''), uri).not.toMatch(/^(ms-msdt|search-ms|ms-officecmd|itms-services):/);
      }
    });
  });
});
