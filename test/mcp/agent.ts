import { Client, StreamableHTTPClientTransport, type ClientOptions } from '@modelcontextprotocol/client';
import { expect } from 'vitest';
import { asSession, createDomain, createMailbox, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';

/**
 * The SDK's own client, as an agent's host runs it, in each protocol era the server speaks: the
 * 2025 revisions through an `initialize` handshake, 2026-07-28 with an envelope on every request.
 */
export const ERAS = {
  '2025-06-18': { supportedProtocolVersions: ['2025-06-18'] },
  '2025-11-25': {},
  '2026-07-28': { versionNegotiation: { mode: { pin: '2026-07-28' } } },
} satisfies Record<string, ClientOptions>;
export type Era = keyof typeof ERAS;
export const ERA_NAMES = Object.keys(ERAS) as Era[];

export interface Agent {
  client: Client;
  close(): Promise<void>;
}

export async function connectAgent(base: string, secret: string, era: Era = '2025-11-25', headers: Record<string, string> = {}): Promise<Agent> {
  const client = new Client({ name: 'latchkey-tests', version: '1.0.0' }, ERAS[era]);
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${secret}`, 'user-agent': 'mcp-test-agent/1.0', ...headers } },
  });
  await client.connect(transport);
  expect(client.getNegotiatedProtocolVersion()).toBe(era);
  return { client, close: () => client.close() };
}

/** Connects, runs, and closes whatever the test does. */
export async function withAgent<T>(base: string, secret: string, use: (client: Client) => Promise<T>, era: Era = '2025-11-25'): Promise<T> {
  const agent = await connectAgent(base, secret, era);
  try {
    return await use(agent.client);
  } finally {
    await agent.close();
  }
}

/** A tool result's text, and the error code a refused call starts its text with. */
export const textOf = (result: { content?: unknown }): string =>
  ((result.content as { type: string; text?: string }[] | undefined) ?? []).map((c) => c.text ?? '').join('\n');

/** The access-log entries of one token, oldest first, once everything recorded is written. */
export async function entriesOf(h: Harness, owner: Session, tokenId: string): Promise<Record<string, unknown>[]> {
  await h.ctx.accessLog.flush();
  const body = expectStatus(await h.request({ method: 'GET', url: `/v1/access-logs?token_id=${tokenId}&limit=100`, headers: asSession(owner) }), 200);
  return [...body.data].reverse();
}

/** A raw POST to /mcp, for what no well-behaved client sends. */
export function post(base: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  });
}

export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/**
 * What the MCP tests run against: a new account, two domains with a mailbox each (`a`, `b`: the
 * local parts), and one message sent between them.
 */
export async function twoDomains(h: Harness, names: { a: string; b: string }, message: { from: 'a' | 'b'; subject: string; text: string }) {
  const owner = await ownerSession(h);
  const auth = asSession(owner);
  const [domainA, domainB] = [await createDomain(h, auth), await createDomain(h, auth)];
  const [mailboxA, mailboxB] = [await createMailbox(h, auth, domainA.id, names.a), await createMailbox(h, auth, domainB.id, names.b)];
  const [from, to] = message.from === 'a' ? [mailboxA, mailboxB] : [mailboxB, mailboxA];
  expectStatus(await h.request({ method: 'POST', url: '/v1/email', headers: auth, payload: { from: from.address, to: to.address, subject: message.subject, text: message.text } }), 202);
  return { owner, domainA, domainB, mailboxA, mailboxB };
}
