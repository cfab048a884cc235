import { sql, type ExpressionBuilder } from 'kysely';
import type { Manager } from '../core/authority.js';
import { ACTOR_TYPES, type ActorType } from '../core/roles.js';
import { fromJson, instantOf, instantText, oneOf } from './columns.js';
import type { Db, DbOrTrx, Trx } from './database.js';
import type { AuditEventsTable, Database } from './schema.js';
import { relatedTokenIds } from './tokens.js';

/**
 * Every query of the audit chain. The chain is signed over each event exactly as stored, so the
 * walk that checks it reads events as rows (`AuditEventRow`), byte for byte; everything else reads
 * them as records, decoded.
 */
export type AuditEventRow = AuditEventsTable;

export interface AuditEventRecord extends Omit<AuditEventsTable, 'at' | 'actor_type' | 'details'> {
  at: number;
  actor_type: ActorType;
  details: Record<string, unknown>;
}

const actorType = oneOf(ACTOR_TYPES, 'audit_events.actor_type');

const toRecord = (row: AuditEventRow): AuditEventRecord => ({
  ...row, at: instantOf(row.at), actor_type: actorType(row.actor_type), details: fromJson<Record<string, unknown>>(row.details),
});

/** Where an account's chain ends: its last event's number and hash, and the signature over them. */
export interface ChainHead {
  audit_seq: number;
  audit_head: string;
  audit_head_mac: string | null;
}

/**
 * Takes the next number of the account's chain, and the hash to link to. Moving the head first
 * serialises writers to one chain (a row lock on PostgreSQL, the write lock on SQLite).
 */
export async function advanceHead(trx: Trx, accountId: string): Promise<{ seq: number; prevHash: string }> {
  const head = await trx.updateTable('accounts').set({ audit_seq: sql`audit_seq + 1` }).where('id', '=', accountId)
    .returning(['audit_seq', 'audit_head']).executeTakeFirstOrThrow();
  return { seq: head.audit_seq, prevHash: head.audit_head };
}

export async function insertEvent(trx: Trx, row: AuditEventRow): Promise<void> {
  await trx.insertInto('audit_events').values(row).execute();
}

export async function setHead(trx: Trx, accountId: string, hash: string, mac: string): Promise<void> {
  await trx.updateTable('accounts').set({ audit_head: hash, audit_head_mac: mac }).where('id', '=', accountId).execute();
}

export async function chainHead(db: Db, accountId: string): Promise<ChainHead | undefined> {
  return db.selectFrom('accounts').select(['audit_seq', 'audit_head', 'audit_head_mac']).where('id', '=', accountId).executeTakeFirst();
}

/** The account's events up to `seq`, in order, as stored. */
export async function chainUpTo(db: Db, accountId: string, seq: number): Promise<AuditEventRow[]> {
  return db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).where('seq', '<=', seq).orderBy('seq', 'asc').execute();
}

/**
 * How many of the account's events lie beyond its head, and the first of them; null for none.
 * One statement, so that the head it compares against is the head at that instant.
 */
export async function beyondHead(db: Db, accountId: string): Promise<{ id: string; seq: number; count: number } | null> {
  const row = await db.selectFrom('audit_events')
    .innerJoin('accounts', 'accounts.id', 'audit_events.account_id')
    .select((eb) => ['audit_events.id', 'audit_events.seq', eb.fn.countAll<number | string>().over().as('count')])
    .where('audit_events.account_id', '=', accountId)
    .whereRef('audit_events.seq', '>', 'accounts.audit_seq')
    .orderBy('audit_events.seq', 'asc')
    .limit(1)
    .executeTakeFirst();
  return row ? { id: row.id, seq: row.seq, count: Number(row.count) } : null;
}

/** Accounts whose chain ends in an event written before events were signed, and its length. */
export async function unsignedChainEnds(trx: Trx): Promise<{ id: string; audit_seq: number }[]> {
  return trx.selectFrom('accounts')
    .innerJoin('audit_events', (join) => join.onRef('audit_events.account_id', '=', 'accounts.id').onRef('audit_events.seq', '=', 'accounts.audit_seq'))
    .select(['accounts.id', 'accounts.audit_seq'])
    .where('audit_events.key_id', 'is', null)
    .execute();
}

/** The id of the key that signed the most recent signed event of any account; null for none (or a store not yet upgraded). */
export async function latestSigningKeyId(db: Db): Promise<string | null> {
  try {
    const row = await db.selectFrom('audit_events').select('key_id').where('key_id', 'is not', null).orderBy('at', 'desc').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row?.key_id ?? null;
  } catch {
    return null;
  }
}

/**
 * Only the events up to the account's head (`accounts.audit_seq`) are the account's log: the head
 * moves in the same transaction that inserts the event, before it, so an event the service wrote
 * is never beyond it, while one inserted past it by someone writing the database is outside the
 * chain and its signed head. As a condition of the statement that reads the events, so that the
 * head and the events are read at one instant.
 */
const withinHead = (eb: ExpressionBuilder<Database, 'audit_events'>, accountId: string) =>
  eb('audit_events.seq', '<=', eb.selectFrom('accounts').select('accounts.audit_seq').where('accounts.id', '=', accountId));

export interface AuditPageQuery {
  action?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Events numbered below this one. */
  beforeSeq?: number | undefined;
  limit: number;
}

/** The account's events, newest first; for a token, only those by or about the tokens it is related to. */
export async function eventPage(db: DbOrTrx, accountId: string, reader: Manager, q: AuditPageQuery): Promise<AuditEventRecord[]> {
  let query = db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).where((eb) => withinHead(eb, accountId));
  if (reader.kind === 'token') {
    const related = relatedTokenIds(db, accountId, reader);
    query = query.where((eb) => eb.or([
      eb.and([eb('target_type', '=', 'token'), eb('target_id', 'in', related)]),
      eb.and([eb('actor_type', '=', 'token'), eb('actor_id', 'in', related)]),
    ]));
  }
  if (q.action) query = query.where('action', '=', q.action);
  if (q.since !== undefined) query = query.where('at', '>=', instantText(q.since));
  if (q.until !== undefined) query = query.where('at', '<', instantText(q.until));
  if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq);
  return (await query.orderBy('seq', 'desc').limit(q.limit).execute()).map(toRecord);
}
