import { ApiError } from '../core/errors.js';
import type { Db } from './database.js';
import type { Trx } from './tokens.js';

/**
 * Every transaction Latchkey runs goes through `transact`. The lock order it relies on, on both
 * stores: a transaction that changes an account's tokens locks the account row first
 * (`lockAccount`, which every token change's opening takes), then touches token rows; nothing
 * locks a token row and then its account. SQLite runs one writer at a time and needs no more.
 *
 * PostgreSQL may still abort a transaction as a deadlock victim or a serialisation failure under
 * load it cannot order (a lock taken by a statement outside Latchkey's control, an index page);
 * such a transaction is run again from the start, a bounded number of times, with a short random
 * pause, and never reaches a client as a 500. Work inside must therefore keep its effects in the
 * transaction (what it hands out, such as a new secret, is made again on a retry, and only the
 * last attempt's is returned).
 */
export async function transact<T>(db: Db, work: (trx: Trx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (attempt < MAX_ATTEMPTS && isRetryable(error)) {
        retried[(error as { code: '40001' | '40P01' }).code === '40P01' ? 'deadlock' : 'serialization'] += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        continue;
      }
      throw conflictOf(error) ?? error;
    }
  }
}

const MAX_ATTEMPTS = 5;

/**
 * Transactions run again since the process started, by cause. With the lock order kept, Latchkey's
 * own transactions never deadlock one another: a deadlock counted here is a path out of order.
 */
export const retried = { deadlock: 0, serialization: 0 };

/** PostgreSQL's serialization_failure and deadlock_detected: the transaction did nothing, and may run again. */
const isRetryable = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
};

/** What a unique constraint guards, as the client named it, and how to say it is taken. */
const UNIQUE: Readonly<Record<string, { field: string; message: string }>> = {
  users: { field: 'email', message: 'a user with this email already exists' },
  domains: { field: 'name', message: 'this domain already exists' },
  mailboxes: { field: 'local_part', message: 'this mailbox already exists' },
};

/**
 * A unique violation that a check inside the transaction could not see coming (the same name
 * created on two nodes at once) is a conflict, as the check would have said. The constraint's
 * own text, which quotes the value, is never passed on.
 */
export function conflictOf(error: unknown): ApiError | null {
  const e = error as { code?: unknown; table?: unknown; message?: unknown } | null;
  let table: string | undefined;
  if (e?.code === '23505' && typeof e.table === 'string') table = e.table;
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE' && typeof e.message === 'string') table = /UNIQUE constraint failed: (\w+)\./.exec(e.message)?.[1];
  if (table === undefined) return null;
  const known = UNIQUE[table];
  return known ? new ApiError('conflict', known.message, { field: known.field }) : new ApiError('conflict', 'this already exists');
}
