import type { Clock } from '../core/clock.js';
import type { Db } from '../store/database.js';
import { recordUse } from '../store/tokens.js';
import { PeriodicJob } from './periodic.js';

interface PendingUse {
  first: number;
  last: number;
  ip: string | null;
}

export interface UsageFields {
  first_used_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
}

/**
 * Records first and last use of tokens without a database write per request: uses are coalesced
 * per token in memory and written in one transaction per interval (and on shutdown). The writes
 * only move `last_used_at` forward and only fill an empty `first_used_at`, so several nodes
 * flushing in any order agree.
 */
export class UsageRecorder {
  private pending = new Map<string, PendingUse>();
  private readonly job = new PeriodicJob(() => this.write());

  constructor(private readonly db: Db, private readonly clock: Clock) {}

  touch(tokenId: string, ip: string | null): void {
    const now = this.clock.now();
    const entry = this.pending.get(tokenId);
    if (entry === undefined) this.pending.set(tokenId, { first: now, last: now, ip });
    else {
      entry.last = now;
      entry.ip = ip;
    }
  }

  /** A token row with what has been seen but not yet written, so that reads are current before a flush. */
  overlay<T extends UsageFields & { id: string }>(row: T): T {
    const entry = this.pending.get(row.id);
    if (entry === undefined) return row;
    const storedIsLater = row.last_used_at !== null && row.last_used_at > entry.last;
    return {
      ...row,
      first_used_at: row.first_used_at ?? entry.first,
      last_used_at: storedIsLater ? row.last_used_at : entry.last,
      last_used_ip: storedIsLater ? row.last_used_ip : entry.ip,
    };
  }

  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.job.start(intervalMs, onError);
  }

  flush(): Promise<void> {
    return this.job.run();
  }

  /**
   * One statement per token, each its own transaction, in id order: the flush never holds one
   * token's row while waiting for another's, so it cannot deadlock with a token change (which
   * locks its account, then rows). Each write is idempotent, so a retry after a failure is safe.
   */
  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending].sort(([a], [b]) => a.localeCompare(b));
    this.pending = new Map();
    for (const [index, [id, use]] of batch.entries()) {
      try {
        await recordUse(this.db, id, use);
      } catch (error) {
        // Put back what is not written yet, so that the next flush retries it rather than losing it.
        for (const [rest, restUse] of batch.slice(index)) if (!this.pending.has(rest)) this.pending.set(rest, restUse);
        throw error;
      }
    }
  }

  stop(): Promise<void> {
    return this.job.stop();
  }
}
