import { describe, expect } from 'vitest';
import { asSession, bearer, createDomain, createMailbox, createToken, expectError, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { test } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';

/** Two domains with a mailbox each, and a message from the first to the second. */
async function mailWorld(h: Harness, owner: Session) {
  const auth = asSession(owner);
  const a = await createDomain(h, auth);
  const b = await createDomain(h, auth);
  const alice = await createMailbox(h, auth, a.id, 'alice');
  const bob = await createMailbox(h, auth, b.id, 'bob');
  return { auth, a, b, alice, bob };
}

const page = async (h: Harness, headers: Record<string, string>, query = '') =>
  expectStatus(await h.request({ method: 'GET', url: `/v1/messages${query}`, headers }), 200) as { data: any[]; next_cursor: string | null };

const send = async (h: Harness, headers: Record<string, string>, payload: Record<string, unknown>) =>
  expectStatus(await h.request({ method: 'POST', url: '/v1/email', headers, payload }), 202);

describe('mail', () => {
  test('a received message lands unread in the inbox, the sender keeps a read copy in sent', async ({ app: h, owner }) => {
    const { auth, alice, bob } = await mailWorld(h, owner);
    await send(h, auth, { from: alice.address, to: bob.address, subject: 'Quarterly report', text: 'Numbers attached' });
    const inbox = await page(h, auth, `?mailbox_id=${bob.id}`);
    expect(inbox.data).toEqual([expect.objectContaining({ folder: 'inbox', read: false, direction: 'inbound', subject: 'Quarterly report', from: alice.address })]);
    const sent = await page(h, auth, `?mailbox_id=${alice.id}&folder=sent`);
    expect(sent.data).toEqual([expect.objectContaining({ folder: 'sent', read: true, direction: 'outbound', to: bob.address })]);
  });

  test('finds messages by sender, by text in the subject or body in any case, by folder and by date, newest first and paged', async ({ app: h, owner }) => {
    const { auth, alice, bob } = await mailWorld(h, owner);
    await send(h, auth, { from: alice.address, to: bob.address, subject: 'Invoice 1', text: 'pay by friday' });
    h.clock.advance(60_000);
    const between = new Date(h.clock.now()).toISOString();
    await send(h, auth, { from: alice.address, to: bob.address, subject: 'lunch?', text: 'The INVOICE can wait' });
    await send(h, auth, { from: bob.address, to: alice.address, subject: 'Re: lunch?', text: 'sure' });
    const subjects = async (query: string) => (await page(h, auth, query)).data.map((m) => m.subject);
    expect(await subjects(`?mailbox_id=${bob.id}&q=invoice`)).toEqual(['lunch?', 'Invoice 1']);
    expect(await subjects(`?mailbox_id=${bob.id}&from=ALICE`)).toEqual(['lunch?', 'Invoice 1']);
    expect(await subjects(`?mailbox_id=${bob.id}&since=${encodeURIComponent(between)}`)).toEqual(['Re: lunch?', 'lunch?']);
    expect(await subjects(`?mailbox_id=${bob.id}&folder=inbox&since=${encodeURIComponent(between)}`)).toEqual(['lunch?']);
    expect(await subjects(`?mailbox_id=${bob.id}&until=${encodeURIComponent(between)}`)).toEqual(['Invoice 1']);
    expect(await subjects(`?q=${encodeURIComponent('100%')}`)).toEqual([]);
    const first = await page(h, auth, `?mailbox_id=${bob.id}&folder=inbox&limit=1`);
    const second = await page(h, auth, `?mailbox_id=${bob.id}&folder=inbox&limit=1&cursor=${first.next_cursor}`);
    expect([first.data[0].subject, second.data[0].subject, second.next_cursor]).toEqual(['lunch?', 'Invoice 1', null]);
  });

  test('marks read and unread, moves between inbox, archive and trash, and never moves sent mail or drafts', async ({ app: h, owner }) => {
    const { auth, alice, bob } = await mailWorld(h, owner);
    await send(h, auth, { from: alice.address, to: bob.address, subject: 'sort me', text: '' });
    const [received] = (await page(h, auth, `?mailbox_id=${bob.id}`)).data;
    const patch = (id: string, payload: unknown) => h.request({ method: 'PATCH', url: `/v1/messages/${id}`, headers: auth, payload: payload as object });
    expect(expectStatus(await patch(received.id, { read: true }), 200).message).toMatchObject({ read: true, folder: 'inbox' });
    expect(expectStatus(await patch(received.id, { folder: 'archive' }), 200).message).toMatchObject({ read: true, folder: 'archive' });
    expect(expectStatus(await patch(received.id, { read: false, folder: 'trash' }), 200).message).toMatchObject({ read: false, folder: 'trash' });
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/messages/${received.id}`, headers: auth }), 200).message).toMatchObject({ read: false, folder: 'trash' });
    expect((await page(h, auth, `?mailbox_id=${bob.id}&folder=inbox`)).data).toEqual([]);
    const [copy] = (await page(h, auth, `?mailbox_id=${alice.id}&folder=sent`)).data;
    expectError(await patch(copy.id, { folder: 'inbox' }), 409, 'conflict');
    expectError(await patch(received.id, { folder: 'sent' }), 400, 'invalid_request');
    expectError(await patch(received.id, {}), 400, 'invalid_request');
  });

  test('keeps a draft in drafts until it is sent; then it is the sent copy and the recipient receives it', async ({ app: h, owner }) => {
    const { auth, alice, bob } = await mailWorld(h, owner);
    const draft = expectStatus(await h.request({
      method: 'POST', url: `/v1/mailboxes/${alice.id}/drafts`, headers: auth, payload: { to: [bob.address], subject: 'Draft', text: 'not yet' },
    }), 201).message;
    expect(draft).toMatchObject({ folder: 'drafts', from: alice.address, to: bob.address });
    expect((await page(h, auth, `?mailbox_id=${bob.id}`)).data).toEqual([]);
    const sent = expectStatus(await h.request({ method: 'POST', url: `/v1/messages/${draft.id}/send`, headers: auth }), 202);
    expect(sent).toEqual({ accepted: [bob.address], delivered_locally: [bob.address] });
    expect(expectStatus(await h.request({ method: 'GET', url: `/v1/messages/${draft.id}`, headers: auth }), 200).message).toMatchObject({ folder: 'sent' });
    expect((await page(h, auth, `?mailbox_id=${bob.id}`)).data.map((m) => m.subject)).toEqual(['Draft']);
    expect((await page(h, auth, `?mailbox_id=${alice.id}&folder=sent`)).data).toHaveLength(1);
    expectError(await h.request({ method: 'POST', url: `/v1/messages/${draft.id}/send`, headers: auth }), 409, 'conflict');
  });

  test('a domain-constrained token finds, reads and changes only its domains’ mail; the rest is absent', async ({ app: h, owner }) => {
    const { auth, a, alice, bob } = await mailWorld(h, owner);
    await send(h, auth, { from: alice.address, to: bob.address, subject: 'to b', text: '' });
    await send(h, auth, { from: bob.address, to: alice.address, subject: 'to a', text: '' });
    const { secret } = await createToken(h, auth, { name: 'a only', scopes: ['messages:full'], domains: [a.id] });
    const seen = await page(h, bearer(secret));
    expect(seen.data.map((m) => m.mailbox_id)).toEqual(expect.arrayContaining([alice.id]));
    expect(seen.data.every((m) => m.mailbox_id === alice.id)).toBe(true);
    const [bobs] = (await page(h, auth, `?mailbox_id=${bob.id}`)).data;
    expectError(await h.request({ method: 'GET', url: `/v1/messages/${bobs.id}`, headers: bearer(secret) }), 404, 'not_found');
    expectError(await h.request({ method: 'PATCH', url: `/v1/messages/${bobs.id}`, headers: bearer(secret), payload: { read: true } }), 404, 'not_found');
    expectError(await h.request({ method: 'GET', url: `/v1/messages?mailbox_id=${bob.id}`, headers: bearer(secret) }), 404, 'not_found');
    expectError(await h.request({ method: 'GET', url: '/v1/messages/msg_01JZZZZZZZZZZZZZZZZZZZZZZZ', headers: bearer(secret) }), 404, 'not_found');
  });

  test('a read-only token cannot change mail, and another account’s message is not found', async ({ app: h, owner }) => {
    const { auth, alice, bob } = await mailWorld(h, owner);
    await send(h, auth, { from: alice.address, to: bob.address, subject: 'x', text: '' });
    const [message] = (await page(h, auth, `?mailbox_id=${bob.id}`)).data;
    const { secret } = await createToken(h, auth, { name: 'reader', scopes: ['messages:read'] });
    expectError(await h.request({ method: 'PATCH', url: `/v1/messages/${message.id}`, headers: bearer(secret), payload: { read: true } }), 403, 'insufficient_scope');
    expectError(await h.request({ method: 'POST', url: `/v1/mailboxes/${bob.id}/drafts`, headers: bearer(secret), payload: { to: alice.address, subject: 's', text: 't' } }), 403, 'insufficient_scope');
    const stranger = await ownerSession(h);
    expectError(await h.request({ method: 'GET', url: `/v1/messages/${message.id}`, headers: asSession(stranger) }), 404, 'not_found');
    expect((await page(h, asSession(stranger))).data).toEqual([]);
  });
});
