import { asSession, bearer, createDomain, createMailbox, createToken, expectStatus, login, ownerSession, withoutRequestId, type Session } from '../helpers/actors.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';

/** One account as an attacker or a victim sees it: its owner, a domain, a mailbox and tokens. */
export interface Party {
  owner: Session;
  session: Record<string, string>;
  domain: { id: string; name: string };
  mailbox: { id: string; address: string };
  /** Every scope its plan allows. */
  full: { token: { id: string }; secret: string };
  /** domains:read only. */
  reader: { token: { id: string }; secret: string };
  message: { token: { id: string }; secret: string };
}

export async function party(h: Harness, plan = 'pro'): Promise<Party> {
  const owner = await ownerSession(h, plan);
  const session = asSession(owner);
  const domain = await createDomain(h, session);
  const mailbox = await createMailbox(h, session, domain.id);
  const full = await createToken(h, session, { name: 'full', scopes: ['*'] });
  const reader = await createToken(h, session, { name: 'reader', scopes: ['domains:read'] });
  const message = expectStatus(
    await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/message-tokens`, headers: session, payload: { name: 'bound', scopes: ['messages:read', 'messages:send'] } }),
    201,
  );
  return { owner, session, domain, mailbox, full, reader, message: { token: message.token, secret: message.secret } };
}

/** Two accounts on one server: `a` is the attacker, `b` the victim. */
export async function world(env: Record<string, string> = {}, options: HarnessOptions = {}): Promise<{ h: Harness; a: Party; b: Party }> {
  const h = await startHarness(env, options);
  return { h, a: await party(h), b: await party(h) };
}

/**
 * Signs each party's owner in anew, in place: a test then starts with a fresh session (and a fresh
 * password check) whatever earlier tests did to the clock or to the old one.
 */
export async function signInAgain(h: Harness, ...parties: Party[]): Promise<void> {
  for (const party of parties) {
    party.owner = await login(h, party.owner.email);
    party.session = asSession(party.owner);
  }
}

/** What a 404 says, so that "someone else's" can be compared with "nonexistent". */
export const notFoundShape = (response: { statusCode: number; body: string }, id: string, stand: string) => ({
  status: response.statusCode,
  body: withoutRequestId(response.body).split(id).join(stand),
});

/**
 * The app on a real socket, one per harness: `/mcp` is attacked as an agent outside reaches it, over
 * HTTP (the MCP SDK's transport and raw requests alike), not through Fastify's inject.
 */
const sockets = new WeakMap<Harness, Promise<string>>();
export function listening(h: Harness): Promise<string> {
  let base = sockets.get(h);
  if (!base) sockets.set(h, (base = h.app.listen({ port: 0, host: '127.0.0.1' })));
  return base;
}

/** An AI-agent token (lk_mcp_…) of the party's account. */
export const agentToken = (h: Harness, p: Party, scopes: string[], extra: Record<string, unknown> = {}) =>
  createToken(h, p.session, { name: `agent ${scopes.join(' ')}`, type: 'mcp', scopes, ...extra });

/** A message token of one of the party's mailboxes. */
export async function messageToken(h: Harness, p: Party, mailboxId: string, scopes: string[]): Promise<{ token: { id: string }; secret: string }> {
  const body = expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailboxId}/message-tokens`, headers: p.session, payload: { name: 'mailbox agent', scopes } }), 201);
  return { token: body.token, secret: body.secret };
}

/** What `/mcp` answered: the HTTP status and headers, the body as text and as JSON, and a tool result's text. */
export interface McpAnswer {
  status: number;
  headers: Headers;
  raw: string;
  body: any;
  /** The result of a tools/call, when there is one. */
  result: { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: any } | undefined;
  /** The result's text: a refused or failed call starts with its error code ("not_found: …"). */
  text: string;
}

/** Sends one raw body to /mcp over HTTP (2025-11-25, stateless: no handshake first unless asked). */
export async function postMcp(base: string, body: unknown, headers: Record<string, string> = {}, path = '/mcp'): Promise<McpAnswer> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const raw = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const result = parsed && !Array.isArray(parsed) ? parsed.result : undefined;
  const text = (result?.content ?? []).map((c: { text?: string }) => c.text ?? '').join('\n');
  return { status: response.status, headers: response.headers, raw, body: parsed, result, text };
}

export const toolCall = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) =>
  ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** Calls one tool with a token, as an agent would: `Authorization: Bearer <secret>`. */
export const callTool = (base: string, secret: string, name: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  postMcp(base, toolCall(name, args), { authorization: `Bearer ${secret}`, ...headers });

/** The tools `tools/list` shows the token. */
export async function listedTools(base: string, secret: string): Promise<string[]> {
  const answer = await postMcp(base, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, { authorization: `Bearer ${secret}` });
  if (answer.status !== 200) throw new Error(`tools/list answered ${answer.status}: ${answer.raw}`);
  return answer.body.result.tools.map((t: { name: string }) => t.name);
}

/** A message the party's mailbox sent itself: its id as received (inbound, in the inbox). */
export async function mailTo(h: Harness, p: Party, mailbox: { id: string; address: string }, subject = 'private matter', text = 'for this account only'): Promise<string> {
  expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/messages/send`, headers: bearer(p.full.secret), payload: { to: mailbox.address, subject, text } }), 202);
  const page = expectStatus(await h.request({ method: 'GET', url: `/v1/messages?mailbox_id=${mailbox.id}&folder=inbox&limit=100`, headers: p.session }), 200);
  return page.data.find((m: { subject: string; direction: string }) => m.subject === subject && m.direction === 'inbound').id;
}

/** A draft saved in the party's mailbox. */
export async function draftIn(h: Harness, p: Party, mailboxId: string, to = 'someone@example.com'): Promise<string> {
  return expectStatus(await h.request({ method: 'POST', url: `/v1/mailboxes/${mailboxId}/drafts`, headers: p.session, payload: { to, subject: 'draft', text: 'unsent' } }), 201).message.id;
}

/** A message as its owner sees it through the REST API. */
export const messageAsOwner = async (h: Harness, p: Party, id: string) =>
  expectStatus(await h.request({ method: 'GET', url: `/v1/messages/${id}`, headers: p.session }), 200).message;

/** Everything the party's account holds of mail, as its owner reads it: what must not change under an attack. */
export async function mailState(h: Harness, p: Party): Promise<unknown> {
  const all = expectStatus(await h.request({ method: 'GET', url: '/v1/messages?limit=100', headers: p.session }), 200).data;
  const domains = expectStatus(await h.request({ method: 'GET', url: '/v1/domains?limit=100', headers: p.session }), 200).data;
  const mailboxes = [];
  for (const d of domains) mailboxes.push(...expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${d.id}/mailboxes?limit=100`, headers: p.session }), 200).data);
  const activity = expectStatus(await h.request({ method: 'GET', url: '/v1/activity?limit=100', headers: p.session }), 200).data;
  return { messages: all, mailboxes, activity };
}

export const GHOST_MESSAGE = 'msg_01JZZZZZZZZZZZZZZZZZZZZZZZ';
export const GHOST_DOMAIN = 'dom_01JZZZZZZZZZZZZZZZZZZZZZZZ';
export const GHOST_MAILBOX = 'mbx_01JZZZZZZZZZZZZZZZZZZZZZZZ';
