import * as z from 'zod';
import { invalidRequest } from '../core/errors.js';
import { FOLDERS } from '../store/domains.js';
import { MOVABLE_FOLDERS, type MessageView, type Submission } from '../services/mail.js';
import { ID, pageOutcome, NEXT, page, tool, type ToolDef } from './tool-kit.js';

// The mail tools: what an agent reads, sorts, drafts and sends, through the same mail service as
// the REST routes (a message is reached through its mailbox, so what the token cannot see is
// reported as not found).

const WRITES = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const CREATES = { ...WRITES, idempotentHint: false } as const;
const SENDS = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true } as const;

/** Text as the REST API takes it: no NUL, which no store keeps and which would cut a search pattern short. */
const text = (max: number) => z.string().max(max).regex(/^[^\u0000]*$/, 'holds no NUL character');

const MESSAGE_ID = ID.describe('A message id, from search_messages (it starts with "msg_").');
const ADDRESS = text(254).min(3);
const outgoing = {
  to: z.array(ADDRESS).min(1).max(50).describe('Recipient addresses, at least one.'),
  subject: text(998).describe('The subject line.'),
  text: text(100_000).describe('The plain-text body.'),
};

const MESSAGE = z.object({
  id: z.string(), mailbox_id: z.string(), direction: z.enum(['inbound', 'outbound']), folder: z.enum(FOLDERS), read: z.boolean(),
  from: z.string(), to: z.string(), subject: z.string(), text: z.string(), created_at: z.string(),
});
const SUMMARY = MESSAGE.omit({ text: true }).extend({ snippet: z.string().describe('The body’s first 200 characters; read_message gives it whole.') });
const SUBMISSION = z.object({
  accepted: z.array(z.string()).describe('Every recipient the message was accepted for.'),
  delivered_locally: z.array(z.string()).describe('Those that are mailboxes this token can see, which received it at once.'),
});

const summary = ({ text, ...rest }: MessageView) => ({ ...rest, snippet: text.slice(0, 200) });
const line = (m: MessageView) => `${m.id} [${m.folder}${m.read ? '' : ', unread'}] ${m.created_at} from ${m.from} to ${m.to}: ${m.subject}`;
const sent = (result: Submission) =>
  `Sent to ${result.accepted.join(', ')}.${result.delivered_locally.length ? ` Delivered at once to ${result.delivered_locally.join(', ')}.` : ''}`;

const searchMessages = tool({
  name: 'search_messages',
  title: 'Search messages',
  description:
    'Find email messages in the mailboxes this token can see, newest first. Every filter is optional and they combine: mailbox_id (from list_mailboxes), ' +
    'folder (inbox, archive, trash, sent, drafts), from (part of the sender address), text (words in the subject or body, any case), since / until ' +
    '(ISO-8601 instants). Results carry a snippet; call read_message with an id for the whole message. Paged: pass next_cursor as cursor for more.',
  input: z.strictObject({
    mailbox_id: ID.optional().describe('Only this mailbox (its id, from list_mailboxes).'),
    folder: z.enum(FOLDERS).optional(),
    from: text(254).optional().describe('Part of the sender’s address, e.g. "alice" or "@example.com".'),
    text: text(200).optional().describe('Words to find in the subject or the body.'),
    since: z.iso.datetime({ offset: true }).optional().describe('Only messages at or after this instant, e.g. "2026-11-01T00:00:00Z".'),
    until: z.iso.datetime({ offset: true }).optional().describe('Only messages before this instant.'),
    ...page,
  }),
  output: z.object({ messages: z.array(SUMMARY), next_cursor: NEXT }),
  async run({ principal, mail }, { text, ...filter }) {
    const found = await mail.search(principal, { ...filter, q: text });
    return pageOutcome('messages', found, { noun: ['message', 'messages'], none: 'No messages match.', each: line, layout: 'lines' }, summary);
  },
});

const readMessage = tool({
  name: 'read_message',
  title: 'Read a message',
  description: 'Read one email message whole: sender, recipients, subject, body, folder and whether it was read. It does not mark it read (mark_message does).',
  input: z.strictObject({ message_id: MESSAGE_ID }),
  output: z.object({ message: MESSAGE }),
  async run({ principal, mail }, { message_id }) {
    const message = await mail.get(principal, message_id);
    return { structured: { message }, text: `${line(message)}\n\n${message.text}` };
  },
});

const createMailbox = tool({
  name: 'create_mailbox',
  title: 'Create a mailbox',
  description: 'Create a mailbox (an email address) in a domain this token can see: local_part is what comes before the @, e.g. "support".',
  input: z.strictObject({ domain_id: ID.describe('The domain’s id, from list_domains.'), local_part: text(64).min(1).describe('The part before the @.') }),
  output: z.object({ mailbox: z.object({ id: z.string(), domain_id: z.string(), address: z.string(), created_at: z.string() }) }),
  annotations: CREATES,
  async run({ principal, platform }, { domain_id, local_part }) {
    const mailbox = await platform.createMailbox(principal, domain_id, local_part);
    return { structured: { mailbox }, text: `Created the mailbox ${mailbox.address} (${mailbox.id}).` };
  },
});

const markMessage = tool({
  name: 'mark_message',
  title: 'Mark a message read or unread',
  description: 'Mark one message read (read: true) or unread (read: false).',
  input: z.strictObject({ message_id: MESSAGE_ID, read: z.boolean() }),
  output: z.object({ message: MESSAGE }),
  annotations: WRITES,
  async run({ principal, mail }, { message_id, read }) {
    const message = await mail.update(principal, message_id, { read });
    return { structured: { message }, text: `Marked ${message.id} ${read ? 'read' : 'unread'}.` };
  },
});

const moveMessage = tool({
  name: 'move_message',
  title: 'Move a message',
  description: 'Move one received message to the inbox, the archive or the trash. Sent mail and drafts stay where they are.',
  input: z.strictObject({ message_id: MESSAGE_ID, folder: z.enum(MOVABLE_FOLDERS) }),
  output: z.object({ message: MESSAGE }),
  annotations: WRITES,
  async run({ principal, mail }, { message_id, folder }) {
    const message = await mail.update(principal, message_id, { folder });
    return { structured: { message }, text: `Moved ${message.id} to ${folder}.` };
  },
});

const createDraft = tool({
  name: 'create_draft',
  title: 'Save a draft',
  description: 'Save a draft in a mailbox’s drafts folder, from that mailbox’s address. Nothing is sent: send_draft sends it (with the send scope).',
  input: z.strictObject({ mailbox_id: ID.describe('The mailbox to write from, from list_mailboxes.'), ...outgoing }),
  output: z.object({ draft: MESSAGE }),
  annotations: CREATES,
  async run({ principal, mail }, { mailbox_id, ...draft }) {
    const saved = await mail.createDraft(principal, mailbox_id, draft);
    return { structured: { draft: saved }, text: `Saved the draft ${saved.id} from ${saved.from} to ${saved.to}.` };
  },
});

const sendEmail = tool({
  name: 'send_email',
  title: 'Send an email',
  description:
    'Send an email from a mailbox this token can reach (from_mailbox_id, from list_mailboxes; a message token may leave it out and sends from its own). ' +
    'Recipients that are mailboxes of this account receive it at once. This sends real mail: confirm with the person first when unsure.',
  input: z.strictObject({ from_mailbox_id: ID.optional().describe('The sending mailbox’s id.'), ...outgoing }),
  output: SUBMISSION,
  annotations: SENDS,
  async run({ principal, platform, mail }, { from_mailbox_id, ...message }) {
    const mailboxId = from_mailbox_id ?? principal.visibility.mailboxId;
    if (mailboxId === null) throw invalidRequest('from_mailbox_id', 'from_mailbox_id is required: the id of the mailbox to send from (see list_mailboxes)');
    const mailbox = await platform.getMailbox(principal, mailboxId);
    const result = await mail.submit(principal, { from: mailbox.address, ...message }, { mailboxId: mailbox.id });
    return { structured: result, text: sent(result) };
  },
});

const sendDraft = tool({
  name: 'send_draft',
  title: 'Send a draft',
  description: 'Send a saved draft as it stands; it moves to sent. This sends real mail.',
  input: z.strictObject({ message_id: MESSAGE_ID.describe('The draft’s id, from create_draft or search_messages with folder drafts.') }),
  output: SUBMISSION,
  annotations: SENDS,
  async run({ principal, mail }, { message_id }) {
    const result = await mail.sendDraft(principal, message_id);
    return { structured: result, text: sent(result) };
  },
});

export const MAIL_TOOLS: readonly ToolDef[] = [searchMessages, readMessage, createMailbox, markMessage, moveMessage, createDraft, sendEmail, sendDraft];
