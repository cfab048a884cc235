import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { iso } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Db } from '../store/database.js';
import type { AuditEventsTable, Database } from '../store/schema.js';
import type { Actor, RequestMeta } from './context.js';

export interface AuditEntry {
  action: string;
  actor: Actor;
  target?: { type: string; id: string; name: string } | null;
  details?: Record<string, unknown>;
  meta: RequestMeta | null;
}

export interface AuditEventView {
  id: string;
  seq: number;
  at: string;
  action: string;
  actor: { type: string; id: string | null; name: string };
  target: { type: string; id: string | null; name: string | null } | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** The hash covers every stored field but the hash itself, in a fixed order. */
function chainHash(row: Omit<AuditEventsTable, 'hash'>): string {
  const canonical = JSON.stringify([
    row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
    row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Appends an event to the account's hash chain inside the caller's transaction, so an event exists
 * exactly when the change it describes does. Bumping `accounts.audit_seq` first serialises
 * concurrent writers to one chain (a row lock on PostgreSQL, the write lock on SQLite).
 */
export async function appendAudit(
  trx: Transaction<Database>,
  accountId: string,
  entry: AuditEntry,
  now: number,
): Promise<void> {
  const head = await trx
    .updateTable('accounts')
    .set({ audit_seq: sql`audit_seq + 1` })
    .where('id', '=', accountId)
    .returning(['audit_seq', 'audit_head'])
    .executeTakeFirstOrThrow();
  const row = {
    id: newId('evt'),
    account_id: accountId,
    seq: head.audit_seq,
    at: iso(now),
    action: entry.action,
    actor_type: entry.actor.type,
    actor_id: entry.actor.id,
    actor_name: entry.actor.name,
    target_type: entry.target?.type ?? null,
    target_id: entry.target?.id ?? null,
    target_name: entry.target?.name ?? null,
    ip: entry.meta?.ip ?? null,
    user_agent: entry.meta?.userAgent ?? null,
    details: JSON.stringify(entry.details ?? {}),
    prev_hash: head.audit_head,
  };
  const hash = chainHash(row);
  await trx.insertInto('audit_events').values({ ...row, hash }).execute();
  await trx.updateTable('accounts').set({ audit_head: hash }).where('id', '=', accountId).execute();
}

export function toAuditView(row: AuditEventsTable): AuditEventView {
  return {
    id: row.id,
    seq: row.seq,
    at: row.at,
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    target: row.target_type ? { type: row.target_type, id: row.target_id, name: row.target_name } : null,
    ip: row.ip,
    user_agent: row.user_agent,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

export interface AuditFilter {
  action?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit: number;
}

export async function listAudit(db: Db, accountId: string, filter: AuditFilter) {
  let query = db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId);
  if (filter.action) query = query.where('action', '=', filter.action);
  if (filter.since) query = query.where('at', '>=', filter.since);
  if (filter.until) query = query.where('at', '<', filter.until);
  if (filter.cursor) query = query.where('seq', '<', Number(filter.cursor));
  const rows = await query.orderBy('seq', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  return {
    data: page.map(toAuditView),
    next_cursor: rows.length > filter.limit ? String(page[page.length - 1]!.seq) : null,
  };
}

export type ChainBreak = { id: string | null; seq: number; reason: 'hash_mismatch' | 'link_mismatch' | 'missing' };

/**
 * Re-walks the account's chain from the first event and names the first event that does not fit:
 * an altered event no longer matches its hash, a removed one leaves a gap in the sequence or a
 * link that points nowhere, and a removed tail no longer reaches the head the account row holds.
 */
export async function verifyAuditChain(db: Db, accountId: string) {
  const rows = await db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).orderBy('seq', 'asc').execute();
  const broken = (first_broken: ChainBreak, checked: number) => ({ valid: false, checked, first_broken });
  let prev = '';
  let checked = 0;
  for (const row of rows) {
    const { hash, ...rest } = row;
    if (row.seq !== checked + 1) return broken({ id: null, seq: checked + 1, reason: 'missing' }, checked);
    if (row.prev_hash !== prev) return broken({ id: row.id, seq: row.seq, reason: 'link_mismatch' }, checked);
    if (chainHash(rest) !== hash) return broken({ id: row.id, seq: row.seq, reason: 'hash_mismatch' }, checked);
    prev = hash;
    checked += 1;
  }
  const head = await db.selectFrom('accounts').select(['audit_seq', 'audit_head']).where('id', '=', accountId).executeTakeFirst();
  if (head && (head.audit_seq !== checked || head.audit_head !== prev)) {
    return broken({ id: null, seq: checked + 1, reason: 'missing' }, checked);
  }
  return { valid: true, checked, first_broken: null };
}
