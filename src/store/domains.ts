import { sql } from 'kysely';
import { instantOf, instantOrNullOf, instantOrNullText, instantText, oneOf } from './columns.js';
import { likeEscaped } from './token-codec.js';
import type { ActivityTable, DomainsTable, MailboxesTable, MessagesTable } from './schema.js';
import type { DbOrTrx, Trx } from './database.js';

/** Every query of the platform's own resources: domains, their mailboxes, messages and activity. */

// Records are their table's rows (schema.ts) with instants as milliseconds and words as unions.

export interface DomainRecord extends Omit<DomainsTable, 'created_at' | 'deleted_at'> {
  created_at: number;
  deleted_at: number | null;
}

export interface MailboxRecord extends Omit<MailboxesTable, 'created_at'> {
  created_at: number;
}

export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Where a message lies in its mailbox: received mail comes to the inbox, sent mail goes to sent, drafts wait in drafts. */
export const FOLDERS = ['inbox', 'archive', 'trash', 'sent', 'drafts'] as const;
export type Folder = (typeof FOLDERS)[number];

export interface MessageRecord extends Omit<MessagesTable, 'direction' | 'folder' | 'read_at' | 'created_at'> {
  direction: Direction;
  folder: Folder;
  read_at: number | null;
  created_at: number;
}

/** What a domain did with a message: took it from a sender of its own, or delivered it to a mailbox of its own. */
export const ACTIVITY_EVENTS = ['accepted', 'delivered'] as const;
export type ActivityEvent = (typeof ACTIVITY_EVENTS)[number];

export interface ActivityRecord extends Omit<ActivityTable, 'event' | 'created_at'> {
  event: ActivityEvent;
  created_at: number;
}

/** Which of an account's domains a read may return: null for all of them. */
export type DomainScope = ReadonlySet<string> | null;

/** A page, newest first: up to `limit` records with ids below `before`. */
export interface PageQuery {
  before?: string | undefined;
  limit: number;
}

const direction = oneOf(DIRECTIONS, 'messages.direction');
const activityEvent = oneOf(ACTIVITY_EVENTS, 'activity.event');
const folder = oneOf(FOLDERS, 'messages.folder');

const toDomain = (row: DomainsTable): DomainRecord => ({ ...row, created_at: instantOf(row.created_at), deleted_at: instantOrNullOf(row.deleted_at) });
const toMailbox = (row: MailboxesTable): MailboxRecord => ({ ...row, created_at: instantOf(row.created_at) });
const toMessage = (row: MessagesTable): MessageRecord => ({
  ...row, direction: direction(row.direction), folder: folder(row.folder), read_at: instantOrNullOf(row.read_at), created_at: instantOf(row.created_at),
});
const toActivity = (row: ActivityTable): ActivityRecord => ({ ...row, event: activityEvent(row.event), created_at: instantOf(row.created_at) });

export async function liveDomainIds(db: DbOrTrx, accountId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('domains').select('id').where('account_id', '=', accountId).where('deleted_at', 'is', null).execute();
  return new Set(rows.map((r) => r.id));
}

export async function liveDomainsAmong(db: DbOrTrx, ids: readonly string[]): Promise<{ id: string; name: string }[]> {
  return ids.length === 0 ? [] : db.selectFrom('domains').select(['id', 'name']).where('id', 'in', [...ids]).where('deleted_at', 'is', null).execute();
}

export async function domainPage(db: DbOrTrx, accountId: string, scope: DomainScope, page: PageQuery): Promise<DomainRecord[]> {
  let query = db.selectFrom('domains').selectAll().where('account_id', '=', accountId).where('deleted_at', 'is', null);
  if (scope !== null) query = scope.size === 0 ? query.where('id', '=', '') : query.where('id', 'in', [...scope]);
  if (page.before) query = query.where('id', '<', page.before);
  return (await query.orderBy('id', 'desc').limit(page.limit).execute()).map(toDomain);
}

export async function liveDomain(db: DbOrTrx, accountId: string, id: string): Promise<DomainRecord | undefined> {
  const row = await db.selectFrom('domains').selectAll()
    .where('id', '=', id).where('account_id', '=', accountId).where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && toDomain(row);
}

export async function liveDomainNamed(db: DbOrTrx, accountId: string, name: string): Promise<DomainRecord | undefined> {
  const row = await db.selectFrom('domains').selectAll()
    .where('account_id', '=', accountId).where('name', '=', name).where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && toDomain(row);
}

export async function insertDomain(trx: Trx, domain: DomainRecord): Promise<void> {
  await trx.insertInto('domains').values({ ...domain, created_at: instantText(domain.created_at), deleted_at: null }).execute();
}

/** Marks a live domain deleted; false if it already was. */
export async function markDomainDeleted(trx: Trx, id: string, at: number): Promise<boolean> {
  const deleted = await trx.updateTable('domains').set({ deleted_at: instantText(at) }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return Number(deleted.numUpdatedRows) > 0;
}

/** A domain's mailboxes, or only `onlyId` among them. */
export async function mailboxPage(db: DbOrTrx, domainId: string, onlyId: string | null, page: PageQuery): Promise<MailboxRecord[]> {
  let query = db.selectFrom('mailboxes').selectAll().where('domain_id', '=', domainId);
  if (onlyId !== null) query = query.where('id', '=', onlyId);
  if (page.before) query = query.where('id', '<', page.before);
  return (await query.orderBy('id', 'desc').limit(page.limit).execute()).map(toMailbox);
}

export async function mailboxAddressTaken(trx: Trx, domainId: string, address: string): Promise<boolean> {
  return (await trx.selectFrom('mailboxes').select('id').where('domain_id', '=', domainId).where('address', '=', address).executeTakeFirst()) !== undefined;
}

export async function insertMailbox(trx: Trx, mailbox: MailboxRecord): Promise<void> {
  await trx.insertInto('mailboxes').values({ ...mailbox, created_at: instantText(mailbox.created_at) }).execute();
}

/** A mailbox of the account whose domain is live. */
export async function liveMailbox(db: DbOrTrx, accountId: string, id: string): Promise<MailboxRecord | undefined> {
  const row = await db.selectFrom('mailboxes').innerJoin('domains', 'domains.id', 'mailboxes.domain_id')
    .selectAll('mailboxes')
    .where('mailboxes.id', '=', id).where('mailboxes.account_id', '=', accountId).where('domains.deleted_at', 'is', null)
    .executeTakeFirst();
  return row && toMailbox(row);
}

/** The account's mailboxes, on live domains, at any of these addresses. */
export async function liveMailboxesAt(trx: Trx, accountId: string, addresses: readonly string[]): Promise<MailboxRecord[]> {
  if (addresses.length === 0) return [];
  const rows = await trx.selectFrom('mailboxes').innerJoin('domains', 'domains.id', 'mailboxes.domain_id')
    .selectAll('mailboxes')
    .where('mailboxes.account_id', '=', accountId).where('domains.deleted_at', 'is', null)
    .where('mailboxes.address', 'in', [...addresses])
    .execute();
  return rows.map(toMailbox);
}

export interface MessageSearch extends PageQuery {
  /** Only the domains a caller sees (null: all), and within them only this mailbox, if given. */
  domains: DomainScope;
  mailboxId?: string | null | undefined;
  folder?: Folder | undefined;
  /** Part of the sender's address. */
  from?: string | undefined;
  /** Part of the subject or the body, in any case. */
  text?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

const containing = (text: string) => sql<string>`${`%${likeEscaped(text.toLowerCase())}%`} escape '\\'`;

/** The account's messages in live mailboxes, newest first, by filter. */
export async function messageSearch(db: DbOrTrx, accountId: string, q: MessageSearch): Promise<MessageRecord[]> {
  let query = db.selectFrom('messages').innerJoin('mailboxes', 'mailboxes.id', 'messages.mailbox_id').innerJoin('domains', 'domains.id', 'mailboxes.domain_id')
    .selectAll('messages').where('messages.account_id', '=', accountId).where('domains.deleted_at', 'is', null);
  if (q.domains !== null) query = q.domains.size === 0 ? query.where('domains.id', '=', '') : query.where('domains.id', 'in', [...q.domains]);
  if (q.mailboxId) query = query.where('messages.mailbox_id', '=', q.mailboxId);
  if (q.folder) query = query.where('messages.folder', '=', q.folder);
  if (q.from) query = query.where((eb) => eb(eb.fn('lower', ['messages.from_address']), 'like', containing(q.from!)));
  if (q.text) {
    const pattern = containing(q.text);
    query = query.where((eb) => eb.or([eb(eb.fn('lower', ['messages.subject']), 'like', pattern), eb(eb.fn('lower', ['messages.body']), 'like', pattern)]));
  }
  if (q.since !== undefined) query = query.where('messages.created_at', '>=', instantText(q.since));
  if (q.until !== undefined) query = query.where('messages.created_at', '<', instantText(q.until));
  if (q.before) query = query.where('messages.id', '<', q.before);
  return (await query.orderBy('messages.id', 'desc').limit(q.limit).execute()).map(toMessage);
}

/** A message of the account in a live mailbox, and the domain it lies in. */
export async function liveMessage(db: DbOrTrx, accountId: string, id: string): Promise<{ message: MessageRecord; domainId: string } | undefined> {
  const row = await db.selectFrom('messages').innerJoin('mailboxes', 'mailboxes.id', 'messages.mailbox_id').innerJoin('domains', 'domains.id', 'mailboxes.domain_id')
    .selectAll('messages').select('mailboxes.domain_id')
    .where('messages.id', '=', id).where('messages.account_id', '=', accountId).where('domains.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  const { domain_id: domainId, ...message } = row;
  return { message: toMessage(message), domainId };
}

export async function insertMessage(trx: Trx, message: MessageRecord): Promise<void> {
  await trx.insertInto('messages').values(toMessageRow(message)).execute();
}

const toMessageRow = (message: MessageRecord): MessagesTable => ({
  ...message, read_at: instantOrNullText(message.read_at), created_at: instantText(message.created_at),
});

/** Changes a message's folder, read mark or (for a draft) content and direction. */
export async function updateMessage(trx: Trx, id: string, fields: Partial<Omit<MessageRecord, 'id' | 'account_id' | 'mailbox_id'>>): Promise<void> {
  const { read_at: readAt, created_at: createdAt, ...plain } = fields;
  await trx.updateTable('messages').set({
    ...plain,
    ...(readAt !== undefined ? { read_at: instantOrNullText(readAt) } : {}),
    ...(createdAt !== undefined ? { created_at: instantText(createdAt) } : {}),
  }).where('id', '=', id).execute();
}

export async function insertActivity(trx: Trx, activity: ActivityRecord): Promise<void> {
  await trx.insertInto('activity').values({ ...activity, created_at: instantText(activity.created_at) }).execute();
}

export async function activityPage(db: DbOrTrx, accountId: string, scope: DomainScope, page: PageQuery): Promise<ActivityRecord[]> {
  let query = db.selectFrom('activity').selectAll().where('account_id', '=', accountId);
  if (scope !== null) query = scope.size === 0 ? query.where('id', '=', '') : query.where('domain_id', 'in', [...scope]);
  if (page.before) query = query.where('id', '<', page.before);
  return (await query.orderBy('id', 'desc').limit(page.limit).execute()).map(toActivity);
}
