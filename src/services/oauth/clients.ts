import type { Clock } from '../../core/clock.js';
import { clientKeyOf } from '../../core/ip-allowlist.js';
import { newId } from '../../core/ids.js';
import { checkClientIdUrl } from '../../core/oauth/client-id.js';
import { refuse, type Outcome, type Refusal } from '../../core/oauth/outcome.js';
import { checkRedirectUri } from '../../core/oauth/redirect-uri.js';
import type { Db } from '../../store/database.js';
import { findClient, insertClient, purgeUnusedClients } from '../../store/oauth.js';
import type { DocumentFetcher } from '../../net/document-fetcher.js';
import type { RateStore } from '../rate-store.js';
import type { Redactor } from '../../core/redaction.js';

/** A client as the authorization endpoint and the consent page know it. */
export interface OAuthClient {
  id: string;
  name: string;
  redirectUris: readonly string[];
  /** Known by the URL of its metadata document (its host is who it is), or only by what it said of itself. */
  verified: boolean;
  /** The host that vouches for it: its metadata document's; null for a registration. */
  host: string | null;
}

export interface RegistrationInput {
  redirect_uris?: unknown;
  client_name?: unknown;
  client_uri?: unknown;
  token_endpoint_auth_method?: unknown;
  grant_types?: unknown;
  response_types?: unknown;
}

export interface Registration {
  client_id: string;
  client_id_issued_at: number;
  client_name: string;
  redirect_uris: string[];
  token_endpoint_auth_method: 'none';
  grant_types: string[];
  response_types: ['code'];
}

const MAX_REDIRECT_URIS = 10;
const MAX_NAME = 100;
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token']);
/** A registration no person ever allowed is forgotten after a day. */
export const UNUSED_REGISTRATION_MS = 24 * 3600_000;
const MAX_CACHED_DOCUMENTS = 1000;
const REFUSED_DOCUMENT_MS = 60_000;

/** Past the registrations allowed from one address: when the next one is. */
export type RateLimited = Refusal<'invalid_request'> & { retryAfterSeconds: number };

export interface ClientDirectoryDeps {
  db: Db;
  /** A metadata document is not a request body, so what it says is redacted here. */
  redact: Redactor;
  clock: Clock;
  fetcher: DocumentFetcher;
  rates: RateStore;
  registrationsPerHour: number;
}

const plainName = (value: unknown): string | null => {
  if (typeof value !== 'string') return null;
  // Shown on the consent page: no controls, no line breaks, bounded.
  const name = value.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '').trim();
  return name === '' ? null : name.slice(0, MAX_NAME);
};

function redirectUrisOf(value: unknown): Outcome<{ uris: string[] }, 'invalid_redirect_uri'> {
  if (!Array.isArray(value) || value.length === 0) return refuse('invalid_redirect_uri', 'redirect_uris must be a non-empty array of URIs');
  if (value.length > MAX_REDIRECT_URIS) return refuse('invalid_redirect_uri', `redirect_uris holds at most ${MAX_REDIRECT_URIS} URIs`);
  const uris: string[] = [];
  for (const entry of value) {
    if (typeof entry !== 'string') return refuse('invalid_redirect_uri', 'each redirect URI must be a string');
    const checked = checkRedirectUri(entry);
    if (!checked.ok) return checked;
    uris.push(checked.uri);
  }
  return { ok: true, uris: [...new Set(uris)] };
}

/** What the fields every client (registered or described by a document) shares must be. */
function commonFields(input: RegistrationInput): Outcome<{ uris: string[]; grantTypes: string[] }, 'invalid_redirect_uri' | 'invalid_client'> {
  const uris = redirectUrisOf(input.redirect_uris);
  if (!uris.ok) return uris;
  if (input.token_endpoint_auth_method !== undefined && input.token_endpoint_auth_method !== 'none') {
    return refuse('invalid_client', 'token_endpoint_auth_method must be none: clients here are public and prove themselves with PKCE');
  }
  const grantTypes = input.grant_types === undefined ? ['authorization_code', 'refresh_token'] : input.grant_types;
  if (!Array.isArray(grantTypes) || grantTypes.length === 0 || !grantTypes.every((type) => typeof type === 'string' && GRANT_TYPES.has(type))) {
    return refuse('invalid_client', 'grant_types may hold only authorization_code and refresh_token');
  }
  if (input.response_types !== undefined && !(Array.isArray(input.response_types) && input.response_types.every((type) => type === 'code'))) {
    return refuse('invalid_client', 'response_types may hold only code');
  }
  return { ok: true, uris: uris.uris, grantTypes: [...new Set(grantTypes as string[])] };
}

/**
 * Who a client_id is. A URL is a Client ID Metadata Document, fetched (through a fetcher that
 * cannot be turned inward) and kept as long as its cache headers say; anything else must be a
 * registration made here. Registrations are rate-limited per client address.
 */
export class ClientDirectory {
  /** By URL: the outcome, and until when it holds (null while the fetch is under way). */
  private readonly documents = new Map<string, { outcome: Promise<Outcome<{ client: OAuthClient }, 'invalid_client'>>; until: number | null }>();

  constructor(private readonly deps: ClientDirectoryDeps) {}

  async register(input: RegistrationInput, ip: string): Promise<Outcome<{ registration: Registration }, 'invalid_redirect_uri' | 'invalid_client'> | RateLimited> {
    const { db, clock, rates, registrationsPerHour } = this.deps;
    const fields = commonFields(input);
    if (!fields.ok) return fields;
    const clientUri = input.client_uri ?? null;
    if (clientUri !== null && !(typeof clientUri === 'string' && /^https:\/\/\S{1,2040}$/.test(clientUri))) return refuse('invalid_client', 'client_uri must be an https URL');
    const intervalMs = 3600_000 / registrationsPerHour;
    const wait = await rates.take([{ key: `register:${clientKeyOf(ip)}`, intervalMs, burstMs: intervalMs * (registrationsPerHour - 1) }], clock.now());
    if (wait > 0) return { ...refuse('invalid_request', 'too many registrations from this address; try again later'), retryAfterSeconds: Math.ceil(wait / 1000) };
    const now = clock.now();
    const id = newId('cli');
    const name = plainName(input.client_name) ?? 'Unnamed client';
    await insertClient(db, { id, name, client_uri: clientUri, redirect_uris: fields.uris, created_at: now, created_ip: ip, first_used_at: null });
    return {
      ok: true,
      registration: {
        client_id: id, client_id_issued_at: Math.floor(now / 1000), client_name: name, redirect_uris: fields.uris,
        token_endpoint_auth_method: 'none', grant_types: fields.grantTypes, response_types: ['code'],
      },
    };
  }

  /** The client a client_id names, or why there is none (never fetched twice within its freshness). */
  async resolve(clientId: string | undefined, ip: string): Promise<Outcome<{ client: OAuthClient }, 'invalid_client'>> {
    if (clientId === undefined || clientId === '') return refuse('invalid_client', 'client_id is required');
    if (clientId.startsWith('https:')) return this.fromDocument(clientId, ip);
    if (!/^cli_[0-9A-Za-z]{10,40}$/.test(clientId)) return refuse('invalid_client', 'client_id is neither a registered client nor a metadata document URL');
    const row = await findClient(this.deps.db, clientId);
    if (row === undefined) return refuse('invalid_client', 'this client is not registered here (or its registration expired unused)');
    return { ok: true, client: { id: row.id, name: row.name, redirectUris: row.redirect_uris, verified: false, host: null } };
  }

  async purgeUnused(): Promise<number> {
    return purgeUnusedClients(this.deps.db, this.deps.clock.now() - UNUSED_REGISTRATION_MS);
  }

  /**
   * A metadata document's client, fetched once for everyone asking at the same time, kept as long
   * as its cache headers say, and a document that could not be used kept refused for a minute: an
   * unauthenticated request must not make this server fetch the same URL again and again.
   */
  private async fromDocument(url: string, ip: string): Promise<Outcome<{ client: OAuthClient }, 'invalid_client'>> {
    const checked = checkClientIdUrl(url);
    if (!checked.ok) return checked;
    const now = this.deps.clock.now();
    const cached = this.documents.get(checked.clientId);
    if (cached !== undefined && (cached.until === null || cached.until > now)) return cached.outcome;
    // A document not at hand is an outbound request made for whoever asked, unauthenticated: it
    // counts against the same per-address budget as a registration, its equivalent, so that this
    // server is no one's fetcher of arbitrary URLs.
    const { rates, registrationsPerHour } = this.deps;
    const intervalMs = 3600_000 / registrationsPerHour;
    const wait = await rates.take([{ key: `register:${clientKeyOf(ip)}`, intervalMs, burstMs: intervalMs * (registrationsPerHour - 1) }], now);
    if (wait > 0) return refuse('invalid_client', 'too many client metadata documents asked for from this address; try again later');
    const outcome = this.readDocument(checked.clientId).then(({ outcome, freshForMs }) => {
      this.documents.set(checked.clientId, { outcome: Promise.resolve(outcome), until: this.deps.clock.now() + (outcome.ok ? freshForMs : REFUSED_DOCUMENT_MS) });
      return outcome;
    }, (error: unknown) => {
      this.documents.delete(checked.clientId);
      throw error;
    });
    if (this.documents.size >= MAX_CACHED_DOCUMENTS) this.documents.delete(this.documents.keys().next().value!);
    this.documents.set(checked.clientId, { outcome, until: null });
    return outcome;
  }

  private async readDocument(clientId: string): Promise<{ outcome: Outcome<{ client: OAuthClient }, 'invalid_client'>; freshForMs: number }> {
    const refused = (description: string) => ({ outcome: refuse('invalid_client', description), freshForMs: 0 });
    const fetched = await this.deps.fetcher.fetch(clientId);
    if (!fetched.ok) return refused(`the client's metadata document could not be used: ${fetched.description}`);
    const body = fetched.body as RegistrationInput & { client_id?: unknown };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return refused("the client's metadata document is not a JSON object");
    if (body.client_id !== clientId) return refused("the client's metadata document names another client_id than its own URL");
    const fields = commonFields(body);
    if (!fields.ok) return refused(`the client's metadata document is not valid: ${fields.description}`);
    const host = new URL(clientId).host;
    const named = plainName(body.client_name);
    const client: OAuthClient = { id: clientId, name: named === null ? host : this.deps.redact(named), redirectUris: fields.uris, verified: true, host };
    return { outcome: { ok: true, client }, freshForMs: fetched.freshForMs };
  }
}
