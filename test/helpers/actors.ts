import { expect } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import type { Harness } from './harness.js';

let counter = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

export const PASSWORD = 'correct horse battery staple';

export interface Session {
  cookie: string;
  csrf: string;
  email: string;
  accountId: string;
  userId: string;
}

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
export const operator = (h: Harness) => bearer(h.operatorToken);

/** Parses a response body, failing the test with the body when the status is not the expected one. */
export function expectStatus(response: LightMyRequestResponse, status: number): any {
  const body = response.body ? safeJson(response.body) : undefined;
  expect(response.statusCode, `unexpected ${response.statusCode}: ${response.body}`).toBe(status);
  return body;
}

const safeJson = (text: string) => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** Asserts the spec's error shape and code; returns the error object. */
export function expectError(response: LightMyRequestResponse, status: number, code: string) {
  const body = expectStatus(response, status);
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } });
  return body.error as { code: string; message: string; details?: Record<string, unknown> };
}

export async function createAccount(h: Harness, plan = 'pro') {
  const email = `owner-${unique()}@example.com`;
  const body = expectStatus(
    await h.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(h), payload: { name: `Acme ${unique()}`, plan, owner: { email, password: PASSWORD } } }),
    201,
  );
  return { accountId: body.account.id as string, ownerEmail: email };
}

export async function addUser(h: Harness, accountId: string, role: 'owner' | 'admin' | 'member') {
  const email = `${role}-${unique()}@example.com`;
  expectStatus(await h.request({ method: 'POST', url: `/admin/v1/accounts/${accountId}/users`, headers: operator(h), payload: { email, password: PASSWORD, role } }), 201);
  return email;
}

export async function login(h: Harness, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Session> {
  const response = await h.request({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, headers });
  const body = expectStatus(response, 200);
  const setCookie = String(response.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: body.csrf_token, email, accountId: body.account.id, userId: body.user.id };
}

export const asSession = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });

/** A new account with its owner, and one person of each other role, each signed in. */
export async function teamOf(h: Harness) {
  const { accountId, ownerEmail } = await createAccount(h);
  const owner = await login(h, ownerEmail);
  const admin = await login(h, await addUser(h, accountId, 'admin'));
  const member = await login(h, await addUser(h, accountId, 'member'));
  return { accountId, owner, admin, member };
}

/** A new account on `plan` with its owner signed in. */
export async function ownerSession(h: Harness, plan = 'pro'): Promise<Session> {
  const { ownerEmail } = await createAccount(h, plan);
  return login(h, ownerEmail);
}

export async function createToken(h: Harness, auth: Record<string, string>, payload: Record<string, unknown>) {
  const body = expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: auth, payload }), 201);
  return { token: body.token, secret: body.secret as string };
}

export async function createDomain(h: Harness, auth: Record<string, string>, name = `d${unique().replace(/[^a-z0-9]/g, '')}.example.com`) {
  const body = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: auth, payload: { name } }), 201);
  return body.domain as { id: string; name: string };
}

export async function createMailbox(h: Harness, auth: Record<string, string>, domainId: string, localPart = 'inbox') {
  const body = expectStatus(await h.request({ method: 'POST', url: `/v1/domains/${domainId}/mailboxes`, headers: auth, payload: { local_part: localPart } }), 201);
  return body.mailbox as { id: string; address: string };
}

/** An error body as text without its request id, which is each response's own: what two refusals must share. */
export const withoutRequestId = (body: string): string => body.replace(/,"request_id":"[^"]*"/, '');
