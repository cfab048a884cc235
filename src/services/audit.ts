import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { iso } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { redactDeep, type Redactor } from '../core/redaction.js';
import { ACCOUNT_READER, type Manager } from '../core/authority.js';
import type { Db, Trx } from '../store/database.js';
import type { ActorType } from '../core/roles.js';
import {
  advanceHead, beyondHead, chainHead, chainUpTo, eventPage, insertEvent, latestSigningKeyId, setHead, unsignedChainEnds,
  type AuditEventRecord, type AuditEventRow, type ChainHead,
} from '../store/audit.js';
import { hideUnseen, mentionedTokens, seenBy, UNSEEN_PERSON, UNSEEN_TOKEN } from './tokens/disclosure.js';
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
  actor: { type: ActorType; id: string | null; name: string };
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

export { latestSigningKeyId };

export function auditKeys(secrets: readonly string[]): AuditKeys {
  if (secrets.length === 0) throw new Error('at least one audit key is needed');
  const verifying = new Map(secrets.map((secret) => [auditKeyId(secret), secret]));
  return { signing: { id: auditKeyId(secrets[0]!), secret: secrets[0]! }, verifying };
}

type Unsigned = Omit<AuditEventRow, 'hash'>;

/** Every stored field but the hash, in a fixed order: changing any of them breaks the chain. */
const canonical = (row: Unsigned): string =>
  JSON.stringify([
    row.account_id, row.seq, row.id, row.at, row.action, row.actor_type, row.actor_id, row.actor_name,
    row.target_type, row.target_id, row.target_name, row.ip, row.user_agent, row.details, row.prev_hash, row.key_id,
  ]);

/** Text as UTF-8 can hold it: a lone surrogate becomes U+FFFD. */
const asStored = (value: string): string => Buffer.from(value, 'utf8').toString('utf8');

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
  reason: 'hash_mismatch' | 'link_mismatch' | 'missing' | 'unknown_key' | 'unsigned' | 'unanchored';
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
  async append(trx: Trx, accountId: string, entry: AuditEntry, now: number): Promise<void> {
    const head = await advanceHead(trx, accountId);
    // Text is kept as well-formed UTF-8 (a lone surrogate becomes U+FFFD), on every store alike, so
    // that what is signed is exactly what is stored.
    const redact = (text: string) => asStored(this.redact(text)) as string;
    const row: Unsigned = {
      id: newId('evt'),
      account_id: accountId,
      seq: head.seq,
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
      prev_hash: head.prevHash,
      key_id: this.keys.signing.id,
    };
    const { id: keyId, secret } = this.keys.signing;
    const hash = signed(secret, row);
    await insertEvent(trx, { ...row, hash });
    await setHead(trx, accountId, hash, `${keyId}.${headSignature(secret, accountId, row.seq, hash)}`);
  }

  /**
   * Re-walks the account's chain and names the first event that does not fit: an altered event no
   * longer matches its hash, a removed one leaves a gap or a link that points nowhere, a removed
   * tail no longer reaches the signed head, and an event inserted beyond the head is outside the
   * chain (`unanchored`: never listed, so reported here rather than passed over). It walks on past
   * a break, each event checked against the one stored before it, and counts every event that does
   * not fit, so that one break cannot hide others behind it. Events from before signing are
   * accepted only as a prefix closed by a signed `audit.signing_started`.
   */
  async verify(db: Db, accountId: string) {
    // The head first: an event appended after this read is not this walk's to check.
    const head = await chainHead(db, accountId);
    const rows = await chainUpTo(db, accountId, head?.audit_seq ?? 0);
    const breaks: ChainBreak[] = [];
    let prev = '';
    let expected = 1;
    let unsigned = 0;
    let signedSeen = false;
    for (const row of rows) {
      const { hash, ...rest } = row;
      const gap = row.seq !== expected;
      if (gap) breaks.push({ id: null, seq: expected, reason: 'missing' });
      const reason = this.misfit(rest, hash, gap ? null : prev, { unsigned, signedSeen });
      // Signed events after unsigned ones that nothing closed: the unsigned ones are what is wrong.
      if (reason === 'unclosed') breaks.push({ id: rows[0]!.id, seq: rows[0]!.seq, reason: 'unsigned' });
      else if (reason !== null) breaks.push({ id: row.id, seq: row.seq, reason });
      if (row.key_id === null) unsigned += 1;
      else signedSeen = true;
      prev = hash;
      expected = row.seq + 1;
    }
    if (unsigned > 0 && !signedSeen) breaks.push({ id: rows[0]!.id, seq: 1, reason: 'unsigned' });
    // Where the chain ends is signed too: a chain cut short, or emptied, no longer ends where the
    // signature says. (Every account has at least the event of its creation.)
    if (head && !this.headHolds(accountId, head, expected - 1, prev)) breaks.push({ id: null, seq: expected, reason: 'missing' });
    // Events beyond the head: outside the chain, and never listed, but there. Counted against the
    // head as it is when this one statement runs, not as read above: an append moves the head in
    // the transaction that inserts its event, so one committed meanwhile is never counted.
    const beyond = await beyondHead(db, accountId);
    if (beyond) breaks.push({ id: beyond.id, seq: beyond.seq, reason: 'unanchored' });
    breaks.sort((a, b) => a.seq - b.seq);
    const first = breaks[0];
    if (first === undefined) return { valid: true, checked: rows.length, unsigned, broken: 0, first_broken: null, head: { seq: expected - 1, hash: prev } };
    const broken = breaks.length + (beyond ? beyond.count - 1 : 0);
    return { valid: false, checked: rows.filter((row) => row.seq < first.seq).length, unsigned, broken, first_broken: first };
  }

  /** Why an event does not fit where it stands (`prev`: the hash it must link to; null: after a gap), or null. */
  private misfit(row: Unsigned, hash: string, prev: string | null, chain: { unsigned: number; signedSeen: boolean }): ChainBreak['reason'] | 'unclosed' | null {
    if (prev !== null && row.prev_hash !== prev) return 'link_mismatch';
    if (row.key_id === null) {
      if (chain.signedSeen) return 'unsigned';
      return sameText(unsignedHash(row), hash) ? null : 'hash_mismatch';
    }
    const secret = this.keys.verifying.get(row.key_id);
    if (secret === undefined) return 'unknown_key';
    if (!sameText(signed(secret, row), hash)) return 'hash_mismatch';
    // The first signed event after unsigned ones must be the one that closed them.
    if (!chain.signedSeen && chain.unsigned > 0 && row.action !== SIGNING_STARTED) return 'unclosed';
    return null;
  }

  private headHolds(accountId: string, head: ChainHead, seq: number, hash: string): boolean {
    if (head.audit_seq !== seq || head.audit_head !== hash || seq === 0) return false;
    if (head.audit_head_mac === null) return false;
    const [keyId, mac] = head.audit_head_mac.split('.');
    const secret = this.keys.verifying.get(keyId!);
    return secret !== undefined && mac !== undefined && sameText(headSignature(secret, accountId, seq, hash), mac);
  }

  /**
   * When signing begins (inside the migration that adds key ids, which runs once and never again):
   * every account whose chain ends in events written before signing existed gets a signed event
   * that closes them, linking to their last hash. From then on an unsigned event anywhere else
   * breaks the chain.
   */
  async closeUnsignedChains(trx: Trx, now: number): Promise<number> {
    const open = await unsignedChainEnds(trx);
    for (const account of open) {
      await this.append(trx, account.id, {
        action: SIGNING_STARTED, actor: { type: 'system', id: null, name: 'audit' },
        details: { unsigned_events: account.audit_seq }, meta: null,
      }, now);
    }
    return open.length;
  }
}

export function toAuditView(row: AuditEventRecord): AuditEventView {
  return {
    id: row.id,
    seq: row.seq,
    at: iso(row.at),
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    target: row.target_type ? { type: row.target_type, id: row.target_id, name: row.target_name } : null,
    ip: row.ip,
    user_agent: row.user_agent,
    details: row.details,
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

/**
 * A page of the account's events, newest first, as `reader` may read it. A token reads only the
 * events by or about the tokens it is related to, and of anyone else in them (who acted, what
 * was acted on, ids in the details) learns no more than that there was someone.
 */
export async function listAudit(db: Db, accountId: string, filter: AuditFilter, reader: Manager = ACCOUNT_READER) {
  const instant = (text: string | undefined) => (text ? Date.parse(text) : undefined);
  const rows = await eventPage(db, accountId, reader, {
    action: filter.action, since: instant(filter.since), until: instant(filter.until),
    beforeSeq: filter.cursor ? Number(filter.cursor) : undefined, limit: filter.limit + 1,
  });
  const page = rows.slice(0, filter.limit);
  const views = page.map(toAuditView);
  return {
    data: reader.kind === 'person' ? views : await maskedFor(db, accountId, reader, page, views),
    next_cursor: rows.length > filter.limit ? String(page[page.length - 1]!.seq) : null,
  };
}

async function maskedFor(db: Db, accountId: string, reader: Manager, rows: AuditEventRecord[], views: AuditEventView[]): Promise<AuditEventView[]> {
  const seen = await seenBy(db, accountId, reader, mentionedTokens(rows.flatMap((row) => [row.actor_id, row.target_id, JSON.stringify(row.details)])));
  const unseen = (type: string | null, id: string | null) => type !== 'token' || !seen.has(id ?? '');
  // A person is named to no token; a token only to one related to it. Each keeps its kind.
  const hidden = (type: ActorType) => ({ type, id: null, name: type === 'token' ? UNSEEN_TOKEN : UNSEEN_PERSON });
  return views.map((view, i) => ({
    ...view,
    ...(unseen(view.actor.type, view.actor.id) ? { actor: hidden(view.actor.type), ip: null, user_agent: null } : {}),
    ...(view.target && view.target.type === 'token' && unseen('token', view.target.id) ? { target: { type: 'token', id: null, name: UNSEEN_TOKEN } } : {}),
    details: redactDeep(rows[i]!.details, (text) => hideUnseen(text, seen)),
  }));
}
