import { asSession, createDomain, createMailbox, createToken, expectStatus, login, ownerSession, withoutRequestId, type Session } from '../helpers/actors.js';
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
