import { randomBytes } from 'node:crypto';
import type { OAuthClientMetadata, OAuthClientProvider, OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
import { expect } from 'vitest';
import { asSession, expectStatus, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { REDIRECT } from './client.js';

/** What the person at the consent page decides: allow, narrowed or not (`scopes`, `domains`, `lifetime`). */
export type Decision = Record<string, unknown>;

/** One visit of the browser to the authorization endpoint, and what the person saw there. */
export interface Visit {
  authorization: URL;
  /** What `GET /v1/oauth/consent` described; absent when nobody was at the browser. */
  described?: Record<string, any>;
  /** Where the browser was sent back to, with the code; absent when nobody was at the browser. */
  callback?: URLSearchParams;
}

/**
 * The SDK's `OAuthClientProvider` as a host application would implement it, in memory, with a
 * browser that has a person behind it: `redirectToAuthorization` opens the authorization URL on
 * the listening server, follows its redirect to the consent page, and, when someone is signed in
 * (`signedIn`), allows through the API that page uses. The code comes back in `lastCallback`, for
 * the test to hand to `transport.finishAuth` as a host's redirect handler would.
 */
export class HeadlessBrowserProvider implements OAuthClientProvider {
  /** Who is signed in at the browser, and what they will decide; null: nobody answers the consent page. */
  signedIn: { person: Session; decision: Decision } | null = null;
  readonly visits: Visit[] = [];
  /** Every token set the SDK saved, oldest first. */
  readonly savedTokens: StoredOAuthTokens[] = [];
  private client: StoredOAuthClientInformation | undefined;
  private current: StoredOAuthTokens | undefined;
  private verifier: string | undefined;
  private discovery: OAuthDiscoveryState | undefined;
  private readonly states: string[] = [];

  constructor(
    private readonly h: Harness,
    private readonly base: string,
    /** A Client ID Metadata Document's URL, for a client that does not register. */
    readonly clientMetadataUrl?: string,
  ) {}

  get redirectUrl(): string {
    return REDIRECT;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK agent', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    const state = randomBytes(16).toString('base64url');
    this.states.push(state);
    return state;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.client;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.client = info;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.current;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.current = tokens;
    this.savedTokens.push(tokens);
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error('no authorization was started');
    return this.verifier;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'tokens') this.current = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  /** The callback of the last consent given. */
  get lastCallback(): URLSearchParams {
    const callback = this.visits.at(-1)?.callback;
    if (callback === undefined) throw new Error('no consent was given at the last visit');
    return callback;
  }

  async redirectToAuthorization(authorization: URL): Promise<void> {
    const visit: Visit = { authorization };
    this.visits.push(visit);
    // What a browser does with the URL: the authorization endpoint sends it on to the consent page.
    const sent = await fetch(authorization, { redirect: 'manual' });
    expect(sent.status, await sent.clone().text()).toBe(302);
    const page = new URL(sent.headers.get('location')!, this.base);
    expect(page.origin + page.pathname).toBe(`${this.base}/consent`);
    // The page is the dashboard's build, which a test run may not have made: what matters here is
    // the request it carries, which the page hands to the consent API as below.
    expect((await fetch(page)).status).toBeLessThan(500);
    if (this.signedIn === null) return;

    const { person, decision } = this.signedIn;
    const request = page.search.slice(1);
    const host = { host: new URL(this.base).host };
    visit.described = expectStatus(await this.h.request({ method: 'GET', url: `/v1/oauth/consent?request=${encodeURIComponent(request)}`, headers: { ...asSession(person), ...host } }), 200);
    expect(visit.described!.refusal).toBeNull();
    const allowed = await this.h.request({ method: 'POST', url: '/v1/oauth/consent', headers: { ...asSession(person), ...host }, payload: { request, allow: true, ...decision } });
    const back = new URL(expectStatus(allowed, 200).redirect_to);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe(this.states.at(-1));
    visit.callback = back.searchParams;
  }
}

/** One request the SDK made, as the server answered it. */
export interface Exchange {
  method: string;
  path: string;
  status: number;
  challenge: string | null;
  /** For the token endpoint: the grant type asked for. */
  grantType?: string | null;
}

/** The global fetch, noting every request and its answer's status: what the SDK did, in order. */
export function recordingFetch(): { fetch: typeof fetch; seen: Exchange[]; since: (mark: number) => Exchange[] } {
  const seen: Exchange[] = [];
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init?.body;
    const grantType = url.pathname === '/oauth/token' ? new URLSearchParams(body instanceof URLSearchParams ? body : String(body ?? '')).get('grant_type') : undefined;
    seen.push({
      method: init?.method ?? (input instanceof Request ? input.method : 'GET'), path: url.pathname, status: response.status,
      challenge: response.headers.get('www-authenticate'), ...(grantType !== undefined ? { grantType } : {}),
    });
    return response;
  };
  return { fetch: recording as typeof fetch, seen, since: (mark) => seen.slice(mark) };
}
