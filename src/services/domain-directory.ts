import type { Clock } from '../core/clock.js';
import type { ChangeFeed } from '../store/change-feed.js';
import type { Db } from '../store/database.js';
import { domainReader, type Lookup } from '../store/lookups.js';

export interface DomainDirectoryOptions {
  db: Db;
  clock: Clock;
  /** An entry older than this is read again: the safety net should a notice be missed. */
  maxAgeMs: number;
  feed?: ChangeFeed;
}

/** Domains remembered at once (the oldest is forgotten first): far more than any deployment's. */
const MAX_ENTRIES = 100_000;

/**
 * Which domains exist and whose they are, for `/v1/verify`: a token may only be vouched for on a
 * live domain of its own account. Answered from memory after the first read, like the verify
 * cache; a domain created or deleted on any node is forgotten everywhere.
 */
export class DomainDirectory {
  /** Domain id → its account, or null for no live domain with that id. */
  private readonly known = new Map<string, { accountId: string | null; at: number }>();
  private readonly read: Lookup<{ account_id: string }>;
  private generation = 0;

  constructor(private readonly options: DomainDirectoryOptions) {
    this.read = domainReader(options.db);
  }

  isLiveIn(accountId: string, domainId: string): boolean | Promise<boolean> {
    const entry = this.known.get(domainId);
    if (entry !== undefined && this.options.clock.now() - entry.at <= this.options.maxAgeMs) return entry.accountId === accountId;
    const generation = this.generation;
    const row = this.read(domainId);
    const settle = (found: { account_id: string } | undefined) => {
      const owner = found?.account_id ?? null;
      if (generation === this.generation) this.remember(domainId, owner);
      return owner === accountId;
    };
    return row instanceof Promise ? row.then(settle) : settle(row);
  }

  private remember(domainId: string, accountId: string | null): void {
    if (this.known.size >= MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
    this.known.set(domainId, { accountId, at: this.options.clock.now() });
  }

  /** After a domain is created or deleted: here and on every other node. */
  invalidate(...domainIds: string[]): void {
    this.forget(domainIds);
    this.options.feed?.publish({ domainIds });
  }

  forget(domainIds: readonly string[]): void {
    this.generation += 1;
    for (const id of domainIds) this.known.delete(id);
  }

  clear(): void {
    this.generation += 1;
    this.known.clear();
  }
}
