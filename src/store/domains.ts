import { instantOf, instantOrNullOf, instantText, oneOf } from './columns.js';
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

export interface MessageRecord extends Omit<MessagesTable, 'direction' | 'created_at'> {
  direction: Direction;
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

const toDomain = (row: DomainsTable): DomainRecord => ({ ...row, created_at: instantOf(row.created_at), deleted_at: instantOrNullOf(row.deleted_at) });
const toMailbox = (row: MailboxesTable): MailboxRecord => ({ ...row, created_at: instantOf(row.created_at) });
const toMessage = (row: MessagesTable): MessageRecord => ({ ...row, direction: direction(row.direction), created_at: instantOf(row.created_at) });
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

export async function messagePage(db: DbOrTrx, mailboxId: string, page: PageQuery): Promise<MessageRecord[]> {
  let query = db.selectFrom('messages').selectAll().where('mailbox_id', '=', mailboxId);
  if (page.before) query = query.where('id', '<', page.before);
  return (await query.orderBy('id', 'desc').limit(page.limit).execute()).map(toMessage);
}

export async function insertMessage(trx: Trx, message: MessageRecord): Promise<void> {
  await trx.insertInto('messages').values({ ...message, created_at: instantText(message.created_at) }).execute();
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
