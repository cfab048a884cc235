import { iso, type Clock } from '../core/clock.js';
import { ApiError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db } from '../store/database.js';
import {
  insertActivity, insertMessage, liveDomainNamed, liveMailboxesAt, liveMessage, messageSearch, updateMessage,
  type Direction, type Folder, type MessageRecord,
} from '../store/domains.js';
import { transact } from '../store/transactions.js';
import { seesDomain, seesMailbox, type Principal } from './context.js';
import { paged, splitAddress, type Page, type PlatformService } from './platform.js';

/**
 * The mail in the platform's mailboxes: finding and reading it, sorting it (read marks, folders),
 * drafts, and sending. Every message is reached through its mailbox, so a caller sees a message
 * exactly when it sees the mailbox: a constrained token finds another domain's mail as it finds
 * mail that does not exist.
 */
export interface MessageView {
  id: string;
  mailbox_id: string;
  direction: Direction;
  folder: Folder;
  read: boolean;
  from: string;
  to: string;
  subject: string;
  text: string;
  created_at: string;
}

/** Where a person or an agent may put a message; sent mail and drafts are where sending puts them. */
export const MOVABLE_FOLDERS = ['inbox', 'archive', 'trash'] as const satisfies readonly Folder[];
export type MovableFolder = (typeof MOVABLE_FOLDERS)[number];

export interface MessageFilter {
  mailbox_id?: string | undefined;
  folder?: Folder | undefined;
  from?: string | undefined;
  q?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface Outgoing {
  to: string[];
  subject: string;
  text: string;
}

export interface Submission {
  accepted: string[];
  delivered_locally: string[];
}

const messageView = (row: MessageRecord): MessageView => ({
  id: row.id, mailbox_id: row.mailbox_id, direction: row.direction, folder: row.folder, read: row.read_at !== null,
  from: row.from_address, to: row.to_address, subject: row.subject, text: row.body, created_at: iso(row.created_at),
});

const instant = (text: string | undefined) => (text ? Date.parse(text) : undefined);

export class MailService {
  constructor(private readonly deps: { db: Db; clock: Clock; platform: PlatformService }) {}

  /** Messages the caller sees, newest first: of one mailbox or of every mailbox it sees. */
  async search(principal: Principal, filter: MessageFilter): Promise<Page<MessageView>> {
    const { visibility } = principal;
    const mailboxId = filter.mailbox_id ?? visibility.mailboxId;
    if (filter.mailbox_id !== undefined) await this.deps.platform.getMailbox(principal, filter.mailbox_id);
    // A message token asking for another mailbox was refused above; asking for none, it gets its own.
    return paged((page) => messageSearch(this.deps.db, principal.accountId, {
      ...page, domains: visibility.domains, mailboxId, folder: filter.folder, from: filter.from, text: filter.q,
      since: instant(filter.since), until: instant(filter.until),
    }), filter.limit, filter.cursor, messageView);
  }

  async get(principal: Principal, id: string): Promise<MessageView> {
    return messageView(await this.seen(this.deps.db, principal, id));
  }

  /** Marks a message read or unread, or moves it between the inbox, the archive and the trash. */
  async update(principal: Principal, id: string, change: { read?: boolean | undefined; folder?: MovableFolder | undefined }): Promise<MessageView> {
    return transact(this.deps.db, async (trx) => {
      const message = await this.seen(trx, principal, id);
      if (change.folder !== undefined && (message.folder === 'drafts' || message.folder === 'sent')) {
        throw new ApiError('conflict', `a message in ${message.folder} stays there; only received mail moves between inbox, archive and trash`, { field: 'folder' });
      }
      const readAt = change.read === undefined ? message.read_at : change.read ? message.read_at ?? this.deps.clock.now() : null;
      const fields = { read_at: readAt, folder: change.folder ?? message.folder };
      await updateMessage(trx, id, fields);
      return messageView({ ...message, ...fields });
    });
  }

  /** A draft in the mailbox's drafts folder, from the mailbox's address; nothing is sent. */
  async createDraft(principal: Principal, mailboxId: string, draft: Outgoing): Promise<MessageView> {
    const mailbox = await this.deps.platform.getMailbox(principal, mailboxId);
    const recipients = draft.to.map((address) => (splitAddress(address, 'to'), address.toLowerCase()));
    const now = this.deps.clock.now();
    const message: MessageRecord = {
      id: newId('msg'), account_id: principal.accountId, mailbox_id: mailbox.id, direction: 'outbound', folder: 'drafts', read_at: now,
      from_address: mailbox.address, to_address: recipients.join(', '), subject: draft.subject, body: draft.text, created_at: now,
    };
    await transact(this.deps.db, (trx) => insertMessage(trx, message));
    return messageView(message);
  }

  /** Sends a draft as it stands: it moves to sent, and the recipients receive it. */
  async sendDraft(principal: Principal, id: string): Promise<Submission> {
    const draft = await this.seen(this.deps.db, principal, id);
    if (draft.folder !== 'drafts') throw new ApiError('conflict', 'only a draft can be sent; this message is in ' + draft.folder);
    const to = draft.to_address.split(', ').filter((address) => address !== '');
    if (to.length === 0) throw new ApiError('invalid_request', 'the draft has no recipient', { field: 'to' });
    return this.submit(principal, { from: draft.from_address, to, subject: draft.subject, text: draft.body }, { mailboxId: draft.mailbox_id, draftId: draft.id });
  }

  /**
   * Submission: the sender's domain must be one the caller sees; each recipient that is a mailbox
   * of this account receives the message, and every recipient gets an activity row. The answer
   * names as delivered locally only the mailboxes the caller sees: to a caller bound to one domain
   * or mailbox, the others are as any outside address. The sender's copy goes to its sent folder
   * (a sent draft becomes that copy).
   */
  async submit(principal: Principal, input: { from: string } & Outgoing, outbox?: { mailboxId: string; draftId?: string }): Promise<Submission> {
    const sender = splitAddress(input.from, 'from');
    const recipients = input.to.map((address) => ({ address: address.toLowerCase(), ...splitAddress(address, 'to') }));
    const { db, clock } = this.deps;
    const domain = await liveDomainNamed(db, principal.accountId, sender.domain);
    if (!domain || !seesDomain(principal.visibility, domain.id)) {
      throw new ApiError('not_found', `the sending domain ${sender.domain} was not found`, { field: 'from' });
    }
    const now = clock.now();
    const fromAddress = input.from.toLowerCase();
    return transact(db, async (trx) => {
      const local = await liveMailboxesAt(trx, principal.accountId, [...recipients.map((r) => r.address), fromAddress]);
      const byAddress = new Map(local.map((m) => [m.address, m]));
      const delivered: string[] = [];
      const base = { account_id: principal.accountId, from_address: fromAddress, subject: input.subject, body: input.text, created_at: now };
      const sentFrom = outbox?.mailboxId ?? byAddress.get(fromAddress)?.id;
      const toAll = recipients.map((r) => r.address).join(', ');
      if (outbox?.draftId) await updateMessage(trx, outbox.draftId, { folder: 'sent', to_address: toAll, created_at: now });
      else if (sentFrom) await insertMessage(trx, { ...base, id: newId('msg'), mailbox_id: sentFrom, direction: 'outbound', folder: 'sent', read_at: now, to_address: toAll });
      for (const recipient of recipients) {
        const mailbox = byAddress.get(recipient.address);
        if (mailbox) {
          await insertMessage(trx, { ...base, id: newId('msg'), mailbox_id: mailbox.id, direction: 'inbound', folder: 'inbox', read_at: null, to_address: recipient.address });
          if (seesMailbox(principal.visibility, mailbox)) delivered.push(recipient.address);
        }
        // Each domain's activity tells its own side: a message to another domain of the account
        // was accepted by the sender's, and delivered in the recipient's.
        const activity = { account_id: principal.accountId, from_address: fromAddress, to_address: recipient.address, subject: input.subject, created_at: now };
        const within = mailbox?.domain_id === domain.id;
        await insertActivity(trx, { ...activity, id: newId('act'), domain_id: domain.id, event: within ? 'delivered' : 'accepted' });
        if (mailbox && !within) await insertActivity(trx, { ...activity, id: newId('act'), domain_id: mailbox.domain_id, event: 'delivered' });
      }
      return { accepted: recipients.map((r) => r.address), delivered_locally: delivered };
    });
  }

  /** A message the caller sees, or not found: another domain's mail is as absent as mail that does not exist. */
  private async seen(db: Parameters<typeof liveMessage>[0], principal: Principal, id: string): Promise<MessageRecord> {
    const found = await liveMessage(db, principal.accountId, id);
    if (!found || !seesMailbox(principal.visibility, { id: found.message.mailbox_id, domain_id: found.domainId })) throw notFound('message');
    return found.message;
  }
}
