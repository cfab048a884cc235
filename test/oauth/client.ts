import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { asSession, expectStatus, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';

export const REDIRECT = 'http://127.0.0.1:33418/callback';

export const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/**
 * An MCP client and a person at the consent page, as they walk the authorization-code flow over
 * HTTP against `h`, which listens at `base` (the issuer every answer names).
 */
export function oauthAgent(h: Harness, base: string) {
  const host = { host: new URL(base).host };

  const register = async (fields: Record<string, unknown> = {}): Promise<string> =>
    expectStatus(await h.request({ method: 'POST', url: '/oauth/register', payload: { client_name: 'Claude', redirect_uris: [REDIRECT], ...fields } }), 201).client_id;

  /** The query the client sends the browser to the authorization endpoint with. */
  const authorizeQuery = (clientId: string, challenge: string, extra: Record<string, string> = {}) => new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256',
    state: 'st-123', scope: 'mcp:read mcp:write', resource: `${base}/mcp`, ...extra,
  }).toString();

  const authorize = (query: string) => h.request({ method: 'GET', url: `/oauth/authorize?${query}`, headers: host });

  /** Through the authorization endpoint to the consent page: the request it carries, and what the page shows `person`. */
  const openConsent = async (person: Session, query: string) => {
    const sent = await authorize(query);
    expect(sent.statusCode, sent.body).toBe(302);
    const page = new URL(String(sent.headers.location), base);
    expect(page.pathname).toBe('/consent');
    const request = page.search.slice(1);
    const described = await h.request({ method: 'GET', url: `/v1/oauth/consent?request=${encodeURIComponent(request)}`, headers: { ...asSession(person), ...host } });
    return { request, described: expectStatus(described, 200) };
  };

  const decide = (person: Session, request: string, decision: Record<string, unknown>) =>
    h.request({ method: 'POST', url: '/v1/oauth/consent', headers: { ...asSession(person), ...host }, payload: { request, ...decision } });

  /** Allow as `person`: where the browser is sent, with the code. */
  const consent = async (person: Session, query: string, decision: Record<string, unknown> = {}): Promise<URL> => {
    const { request, described } = await openConsent(person, query);
    expect(described.refusal).toBeNull();
    return new URL(expectStatus(await decide(person, request, { allow: true, ...decision }), 200).redirect_to);
  };

  const tokens = (fields: Record<string, string>) =>
    h.request({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...host }, payload: new URLSearchParams(fields).toString() });

  /** A registered client connected by `person`: its code and verifier, and the pair it got. */
  const connect = async (person: Session, decision: Record<string, unknown> = {}) => {
    const clientId = await register();
    const { verifier, challenge } = pkce();
    const back = await consent(person, authorizeQuery(clientId, challenge), decision);
    const code = back.searchParams.get('code')!;
    const exchanged = await tokens({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${base}/mcp` });
    return { clientId, code, verifier, back, pair: expectStatus(exchanged, 200) };
  };

  return { register, authorizeQuery, authorize, openConsent, decide, consent, tokens, connect };
}
