import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createAccount, PASSWORD } from '../helpers/actors.js';
import { injectFetch, typedClient, type TypedClient } from '../helpers/client.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => h.close());

/**
 * A whole session through the client generated from the served document, as a user would write
 * it: the answers are typed by the document (a secret is a `string`, an error body the `Error`
 * component), and `npm run typecheck` fails if the document stops describing them.
 */
async function wholeFlow(client: TypedClient, email: string) {
  const login = await client.POST('/v1/auth/login', { body: { email, password: PASSWORD } });
  expect(login.response.status).toBe(200);
  expectTypeOf(login.data!.csrf_token).toEqualTypeOf<string>();
  client.signIn(login.data!.csrf_token);

  const created = await client.POST('/v1/tokens', { body: { name: 'typed', scopes: ['domains:read'], expires_in: '30d' } });
  expect(created.response.status).toBe(201);
  expectTypeOf(created.data!.secret).toEqualTypeOf<string>();
  const id = created.data!.token.id;
  expect(created.data!.token).toMatchObject({ status: 'active', paused_at: null, revoke_reason: null, rate_limit: null });

  const read = await client.GET('/v1/tokens/{id}', { params: { path: { id } } });
  expectTypeOf(read.data!.token.status).toEqualTypeOf<'active' | 'paused' | 'expired' | 'revoked'>();
  expect(read.data!.token.id).toBe(id);
  const listed = await client.GET('/v1/tokens', { params: { query: { status: 'active' } } });
  expect(listed.data!.data.map((t) => t.id)).toContain(id);

  // Actions without options send no body at all, as the document allows.
  expect((await client.POST('/v1/tokens/{id}/pause', { params: { path: { id } } })).data!.token.status).toBe('paused');
  expect((await client.POST('/v1/tokens/{id}/resume', { params: { path: { id } } })).data!.token.status).toBe('active');
  const rotated = await client.POST('/v1/tokens/{id}/rotate', { params: { path: { id } }, body: { grace_period: '0s' } });
  expect(rotated.data!.previous.id).toBe(id);
  const next = rotated.data!.token.id;
  expect((await client.PATCH('/v1/tokens/{id}', { params: { path: { id: next } }, body: { name: 'typed, renamed' } })).data!.token.name).toBe('typed, renamed');
  expect((await client.POST('/v1/tokens/{id}/revoke', { params: { path: { id: next } }, body: { reason: 'done' } })).data!.token.revoke_reason).toBe('done');
  const deleted = await client.DELETE('/v1/tokens/{id}', { params: { path: { id: next } } });
  expect(deleted.response.status).toBe(204);

  // Errors are typed too: the Error component, with its code and the request's id.
  const missing = await client.GET('/v1/tokens/{id}', { params: { path: { id: next } } });
  expect(missing.response.status).toBe(404);
  expectTypeOf(missing.error!.error.code).toEqualTypeOf<string>();
  expect(missing.error!.error).toMatchObject({ code: 'not_found', request_id: missing.response.headers.get('x-request-id') });

  const domain = await client.POST('/v1/domains', { body: { name: `typed-${Date.now()}-${Math.random().toString(36).slice(2)}.example` } });
  expect(domain.response.status).toBe(201);
  const domainId = domain.data!.domain.id;
  expect((await client.GET('/v1/domains/{id}', { params: { path: { id: domainId } } })).data!.domain.id).toBe(domainId);
  const mailbox = await client.POST('/v1/domains/{id}/mailboxes', { params: { path: { id: domainId } }, body: { local_part: 'hello' } });
  expect(mailbox.data!.mailbox.address).toMatch(/^hello@/);
  // The audit log is JSON or, with format=csv, text: the document says both, so the type is both.
  const audit = (await client.GET('/v1/audit-log', { params: { query: { limit: 5 } } })).data!;
  if (typeof audit === 'string') throw new Error('JSON was asked for');
  expect(audit.data.map((event) => event.action)).toContain('token.created');
  expect((await client.GET('/v1/audit-log/verify')).data!.valid).toBe(true);
  expect((await client.DELETE('/v1/domains/{id}', { params: { path: { id: domainId } } })).response.status).toBe(204);
  expect((await client.POST('/v1/auth/logout')).response.status).toBe(204);
  expect((await client.GET('/v1/auth/session')).response.status).toBe(401);
}

describe('a client generated from the served document', () => {
  it('runs a whole session against a real listening server', async () => {
    const { ownerEmail } = await createAccount(h);
    await wholeFlow(typedClient(base), ownerEmail);
  });

  it('runs the same session in process, every answer held to the document', async () => {
    const { ownerEmail } = await createAccount(h);
    await wholeFlow(typedClient('http://latchkey.test', injectFetch(h)), ownerEmail);
  });
});
