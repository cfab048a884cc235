import { describe, expect, it } from 'vitest';
import { asSession, createToken, expectStatus, ownerSession } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';
import { oauthAgent } from './client.js';

/** The tokens list names the connected agent an OAuth-issued token belongs to, so it is not shown as a loose token. */
let h: Harness;
let agent: ReturnType<typeof oauthAgent>;
shareApp({ app: (app) => void (h = app), listening: (url) => void (agent = oauthAgent(h, url)) });

describe('a token issued through OAuth', () => {
  it('names its connected agent in the list and on its own, through a refresh; a token someone created names none', async () => {
    const owner = await ownerSession(h);
    const { token: created } = await createToken(h, asSession(owner), { name: 'by hand', type: 'mcp', scopes: ['mcp:read'] });
    const { clientId, pair } = await agent.connect(owner);
    const refreshed = expectStatus(await agent.tokens({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: clientId }), 200);
    expect(refreshed.access_token).not.toBe(pair.access_token);
    const [grant] = expectStatus(await h.request({ method: 'GET', url: '/v1/connected-agents', headers: asSession(owner) }), 200).data;

    const listed: { id: string; connected_agent: unknown }[] = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens', headers: asSession(owner) }), 200).data;
    expect(listed).toHaveLength(3);
    const byAgent = listed.filter((token) => token.connected_agent !== null);
    expect(byAgent).toHaveLength(2);
    for (const token of byAgent) expect(token.connected_agent).toEqual({ grant_id: grant.id, client_name: 'Claude' });
    expect(listed.find((token) => token.id === created.id)!.connected_agent).toBeNull();

    const one = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${byAgent[0]!.id}`, headers: asSession(owner) }), 200);
    expect(one.token.connected_agent).toEqual({ grant_id: grant.id, client_name: 'Claude' });
  });

  it('is declared in the API document', async () => {
    const document = JSON.parse((await h.request({ method: 'GET', url: '/openapi.json' })).body);
    expect(document.components.schemas.Token.properties.connected_agent).toBeDefined();
    expect(document.components.schemas.Token.required).toContain('connected_agent');
  });
});
