import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { iso } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { redactDeep, type Redactor } from '../core/redaction.js';
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
  key_id: string | null;
  hash: string;
}

/** The keys of the audit chain: the first signs new events, every one verifies. */
export interface AuditKeys {
  signing: { id: string; secret: string };
  verifying: ReadonlyMap<string, string>;
}

/** A key's id is derived from it, so that an event names its key without revealing it. */
export const auditKeyId = (secret: string): string =>
  createHash('sha256').update(`latchkey audit key\0${secret}`).digest('base64url').slice(0, 12);

export function auditKeys(secrets: readonly string[]): AuditKeys {
  if (secrets.length === 0) throw new Error('at least one audit key is needed');
  const verifying = new Map(secrets.map((secret) => [auditKeyId(secret), secret]));
  return { signing: { id: auditKeyId(secrets[0]!), secret: secrets[0]! }, verifying };
}

type Unsigned = Omit<AuditEventsTable, 'hash'>;

/** Every stored field but the hash, in a fixed order: changing any of them breaks the chain. */
const canonical = (row: Unsigned): string =>
  JSON.stringify([
    row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
    row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash, row.key_id,
  ]);

const signed = (secret: string, row: Unsigned): string => createHmac('sha256', secret).update(canonical(row)).digest('hex');

/** The signature of where an account's chain ends: without it, cutting the tail off would go unseen. */
const headSignature = (secret: string, accountId: string, seq: number, hash: string): string =>
  createHmac('sha256', secret).update(JSON.stringify(['head', accountId, seq, hash])).digest('hex');

/** How events were hashed before they were signed: plain SHA-256, without the key id. */
function unsignedHash(row: Unsigned): string {
  const fields = [
    row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
    row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash,
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

const sameText = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Written, at start-up, after the unsigned events of an account that had them: they end here. */
const SIGNING_STARTED = 'audit.signing_started';

export type ChainBreak = {
  id: string | null;
  seq: number;
  reason: 'hash_mismatch' | 'link_mismatch' | 'missing' | 'unknown_key' | 'unsigned';
};

/**
 * The account's audit chain. Each event's hash is an HMAC-SHA-256 under a key that is not in the
 * database, over every field of the event and the previous event's hash, so that someone who can
 * write the database can neither change an event nor recompute the chain after changing it.
 */
export class AuditLog {
  constructor(private readonly keys: AuditKeys, private readonly redact: Redactor) {}

  /**
   * Appends an event inside the caller's transaction, so an event exists exactly when the change
   * it describes does. Bumping `accounts.audit_seq` first serialises concurrent writers to one
   * chain (a row lock on PostgreSQL, the write lock on SQLite).
   */
  async append(trx: Transaction<Database>, accountId: string, entry: AuditEntry, now: number): Promise<void> {
    const head = await trx
      .updateTable('accounts')
      .set({ audit_seq: sql`audit_seq + 1` })
      .where('id', '=', accountId)
      .returning(['audit_seq', 'audit_head'])
      .executeTakeFirstOrThrow();
    const { redact } = this;
    const row: Unsigned = {
      id: newId('evt'),
      account_id: accountId,
      seq: head.audit_seq,
      at: iso(now),
      action: entry.action,
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      actor_name: redact(entry.actor.name),
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      target_name: entry.target ? redact(entry.target.name) : null,
      ip: entry.meta?.ip ?? null,
      user_agent: entry.meta ? redact(entry.meta.userAgent) : null,
      details: JSON.stringify(redactDeep(entry.details ?? {}, redact)),
      prev_hash: head.audit_head,
      key_id: this.keys.signing.id,
    };
    const { id: keyId, secret } = this.keys.signing;
    const hash = signed(secret, row);
    await trx.insertInto('audit_events').values({ ...row, hash }).execute();
    await trx.updateTable('accounts')
      .set({ audit_head: hash, audit_head_mac: `${keyId}.${headSignature(secret, accountId, row.seq, hash)}` })
      .where('id', '=', accountId).execute();
  }

  /**
   * Re-walks the account's chain from the first event and names the first event that does not
   * fit: an altered event no longer matches its hash, a removed one leaves a gap or a link that
   * points nowhere, a removed tail no longer reaches the head the account row holds. Events from
   * before signing are accepted only as a prefix closed by a signed `audit.signing_started`.
   */
  async verify(db: Db, accountId: string) {
    const rows = await db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId).orderBy('seq', 'asc').execute();
    let prev = '';
    let checked = 0;
    let unsigned = 0;
    let signedSeen = false;
    const broken = (first_broken: ChainBreak) => ({ valid: false, checked, unsigned, first_broken });
    for (const row of rows) {
      const { hash, ...rest } = row;
      if (row.seq !== checked + 1) return broken({ id: null, seq: checked + 1, reason: 'missing' });
      if (row.prev_hash !== prev) return broken({ id: row.id, seq: row.seq, reason: 'link_mismatch' });
      if (row.key_id === null) {
        if (signedSeen) return broken({ id: row.id, seq: row.seq, reason: 'unsigned' });
        if (!sameText(unsignedHash(rest), hash)) return broken({ id: row.id, seq: row.seq, reason: 'hash_mismatch' });
        unsigned += 1;
      } else {
        const secret = this.keys.verifying.get(row.key_id);
        if (secret === undefined) return broken({ id: row.id, seq: row.seq, reason: 'unknown_key' });
        if (!sameText(signed(secret, rest), hash)) return broken({ id: row.id, seq: row.seq, reason: 'hash_mismatch' });
        if (!signedSeen && unsigned > 0 && row.action !== SIGNING_STARTED) return broken({ id: rows[0]!.id, seq: 1, reason: 'unsigned' });
        signedSeen = true;
      }
      prev = hash;
      checked += 1;
    }
    if (unsigned > 0 && !signedSeen) return broken({ id: rows[0]!.id, seq: 1, reason: 'unsigned' });
    // Where the chain ends is signed too: a chain cut short, or emptied, no longer ends where the
    // signature says. (Every account has at least the event of its creation.)
    const head = await db.selectFrom('accounts').select(['audit_seq', 'audit_head', 'audit_head_mac']).where('id', '=', accountId).executeTakeFirst();
    if (head && !this.headHolds(accountId, head, checked, prev)) return broken({ id: null, seq: checked + 1, reason: 'missing' });
    return { valid: true, checked, unsigned, first_broken: null, head: { seq: checked, hash: prev } };
  }

  private headHolds(accountId: string, head: { audit_seq: number; audit_head: string; audit_head_mac: string | null }, seq: number, hash: string): boolean {
    if (head.audit_seq !== seq || head.audit_head !== hash || seq === 0) return false;
    if (head.audit_head_mac === null) return false;
    const [keyId, mac] = head.audit_head_mac.split('.');
    const secret = this.keys.verifying.get(keyId!);
    return secret !== undefined && mac !== undefined && sameText(headSignature(secret, accountId, seq, hash), mac);
  }

  /**
   * At start-up: every account whose chain ends in events written before signing existed gets a
   * signed event that closes them, linking to their last hash. From then on an unsigned event
   * anywhere else breaks the chain.
   */
  async closeUnsignedChains(db: Db, now: number): Promise<number> {
    const open = await db.selectFrom('accounts')
      .innerJoin('audit_events', (join) => join.onRef('audit_events.account_id', '=', 'accounts.id').onRef('audit_events.seq', '=', 'accounts.audit_seq'))
      .select(['accounts.id', 'accounts.audit_seq'])
      .where('audit_events.key_id', 'is', null)
      .execute();
    for (const account of open) {
      await db.transaction().execute((trx) =>
        this.append(trx, account.id, {
          action: SIGNING_STARTED, actor: { type: 'system', id: null, name: 'audit' },
          details: { unsigned_events: account.audit_seq }, meta: null,
        }, now));
    }
    return open.length;
  }
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
    key_id: row.key_id,
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

/** Who acted, told to a token that may not see them: their kind only. */
const HIDDEN_ACTOR = '(not visible to this token)';

/**
 * A page of the account's events, newest first. `tokens`: only events whose actor or target is
 * one of these tokens (what a token may read), and of the others who acted only their kind; null:
 * everything.
 */
export async function listAudit(db: Db, accountId: string, filter: AuditFilter, tokens: readonly string[] | null = null) {
  let query = db.selectFrom('audit_events').selectAll().where('account_id', '=', accountId);
  if (tokens !== null) {
    if (tokens.length === 0) return { data: [], next_cursor: null };
    query = query.where((eb) => eb.or([
      eb.and([eb('target_type', '=', 'token'), eb('target_id', 'in', tokens)]),
      eb.and([eb('actor_type', '=', 'token'), eb('actor_id', 'in', tokens)]),
    ]));
  }
  if (filter.action) query = query.where('action', '=', filter.action);
  // Stored times are UTC with a Z; a filter in another offset is brought to the same form first.
  if (filter.since) query = query.where('at', '>=', iso(Date.parse(filter.since)));
  if (filter.until) query = query.where('at', '<', iso(Date.parse(filter.until)));
  if (filter.cursor) query = query.where('seq', '<', Number(filter.cursor));
  const rows = await query.orderBy('seq', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  const seen = tokens === null ? null : new Set(tokens);
  const shown = (view: AuditEventView): AuditEventView =>
    seen === null || (view.actor.type === 'token' && seen.has(view.actor.id!))
      ? view
      : { ...view, actor: { type: view.actor.type, id: null, name: HIDDEN_ACTOR }, ip: null, user_agent: null };
  return {
    data: page.map((row) => shown(toAuditView(row))),
    next_cursor: rows.length > filter.limit ? String(page[page.length - 1]!.seq) : null,
  };
}
