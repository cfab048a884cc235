import createClient, { type Client } from 'openapi-fetch';
import type { paths } from '../../dashboard/src/api-schema.js';
import type { Harness } from './harness.js';

/**
 * The client a user generates from the served document (openapi-typescript's types, openapi-fetch's
 * calls), over a real listening server or in process through the harness, which holds every answer
 * to the document too. It keeps a session's cookie and CSRF token as a browser would.
 */
export type TypedClient = Client<paths> & { signIn(csrf: string): void };

export function typedClient(baseUrl: string, fetchImpl: (request: Request) => Promise<Response> = (request) => fetch(request)): TypedClient {
  const client = createClient<paths>({ baseUrl, fetch: fetchImpl });
  let cookie: string | null = null;
  let csrf: string | null = null;
  client.use({
    onRequest({ request }) {
      if (cookie) request.headers.set('cookie', cookie);
      if (csrf && request.method !== 'GET') request.headers.set('x-csrf-token', csrf);
      return request;
    },
    onResponse({ response }) {
      const set = response.headers.getSetCookie().find((line) => line.startsWith('latchkey_session='));
      if (set) cookie = set.split(';')[0]!;
      return response;
    },
  });
  return Object.assign(client, { signIn: (token: string) => void (csrf = token) });
}

/** `fetch` answered by the harness in process: the same app, no socket. */
export const injectFetch = (h: Harness) => async (request: Request): Promise<Response> => {
  const url = new URL(request.url);
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const answer = await h.request({
    method: request.method as 'GET',
    url: `${url.pathname}${url.search}`,
    headers: Object.fromEntries(request.headers),
    ...(body ? { payload: body } : {}),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) headers.append(name, String(one));
  }
  return new Response(answer.statusCode === 204 ? null : new Uint8Array(answer.rawPayload), { status: answer.statusCode, headers });
};
