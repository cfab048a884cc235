import type { Clock } from '../core/clock.js';
import { DigestMap } from '../core/digest-map.js';
import type { TokenGrant } from '../core/policy.js';
import { hashSecret, hasTokenShape, recognise, tokenTypeOfWord } from '../core/token-format.js';
import type { Db } from '../store/database.js';
import type { ChangeFeed, Invalidation } from '../store/change-feed.js';
import { grantReader, lineageReader, type GrantRecord, type LineageRecord, type Lookup } from '../store/lookups.js';
import { compileGrant, type Above } from './grants.js';

export interface VerifierOptions {
  db: Db;
  clock: Clock;
  tokenPrefix: string;
  maxTokens: number;
  negativeMaxEntries: number;
  negativeTtlMs: number;
  /** A cached grant older than this is read again: the safety net should a notification be missed. */
  maxAgeMs: number;
  /** Tells other nodes what this one invalidated. */
  feed?: ChangeFeed;
  onOutcome?: (outcome: 'hit' | 'miss' | 'negative_hit' | 'unknown' | 'malformed') => void;
}

/**
 * Resolves a presented secret to its grant. A cached token costs one SHA-256 and one DigestMap lookup;
 * a string not shaped like a token of this deployment costs a few comparisons, and one with a
 * wrong checksum a SHA-256 and a CRC32, and neither reaches the negative cache or the store;
 * an unknown hash is remembered for a while so that guessing does not reach the database.
 */
export class Verifier {
  private readonly grants: DigestMap<TokenGrant>;
  private readonly unknown = new Map<string, number>();
  /** Bumped by every invalidation; a database read that raced one is not cached. */
  private generation = 0;

  private readonly read: Lookup<GrantRecord>;
  private readonly readLineage: Lookup<LineageRecord>;
  /**
   * Grants record their load time from here, not from 1970: a small integer is stored inside the
   * record, while epoch milliseconds would be a separate heap number, one more cache miss per hit.
   */
  private readonly epoch: number;

  constructor(private readonly options: VerifierOptions) {
    this.read = grantReader(options.db);
    this.readLineage = lineageReader(options.db);
    this.grants = new DigestMap(options.maxTokens);
    this.epoch = options.clock.now();
  }

  /** A grant, null for no such token, or a promise of either when the store must be asked. */
  resolve(secret: string): TokenGrant | null | Promise<TokenGrant | null> {
    if (!hasTokenShape(this.options.tokenPrefix, secret)) return this.malformed();
    const hash = hashSecret(secret);
    const grant = this.grants.get(hash);
    if (grant !== undefined && this.options.clock.now() - this.epoch - grant.loadedAt <= this.options.maxAgeMs) {
      this.options.onOutcome?.('hit');
      return grant;
    }
    // A cached grant was found by the hash of a token this deployment issued, so only what is not
    // cached needs its checksum and type word read before the negative cache or the store is asked.
    const word = recognise(this.options.tokenPrefix, secret);
    if (word === null || tokenTypeOfWord(word) === null) return this.malformed();
    const unknownUntil = this.unknown.get(hash);
    if (unknownUntil !== undefined) {
      if (unknownUntil > this.options.clock.now()) {
        this.options.onOutcome?.('negative_hit');
        return null;
      }
      this.unknown.delete(hash);
    }
    return this.load(hash);
  }

  private malformed(): null {
    this.options.onOutcome?.('malformed');
    return null;
  }

  private load(hash: string): TokenGrant | null | Promise<TokenGrant | null> {
    const generation = this.generation;
    const row = this.read(hash);
    return row instanceof Promise ? row.then((found) => this.admit(hash, found, generation)) : this.admit(hash, row, generation);
  }

  private admit(hash: string, row: GrantRecord | undefined, generation: number): TokenGrant | null | Promise<TokenGrant | null> {
    if (row === undefined) {
      this.options.onOutcome?.('unknown');
      this.rememberUnknown(hash);
      return null;
    }
    this.options.onOutcome?.('miss');
    if (row.ancestry.length === 0) return this.compile(hash, row, [], generation);
    // A token below others counts against their rate limits too, and is paused with them: read them with it.
    const lineages = row.ancestry;
    const found = lineages.map((lineage) => this.readLineage(lineage));
    const above = (rows: (LineageRecord | undefined)[]): Above[] => lineages.map((lineage, i) => aboveOf(lineage, rows[i]));
    return found.some((one) => one instanceof Promise)
      ? Promise.all(found).then((rows) => this.compile(hash, row, above(rows), generation))
      : this.compile(hash, row, above(found as (LineageRecord | undefined)[]), generation);
  }

  private compile(hash: string, row: GrantRecord, above: Above[], generation: number): TokenGrant {
    const grant = compileGrant(row, row.plan, this.options.clock.now() - this.epoch, above);
    if (generation === this.generation) this.grants.set(hash, grant);
    return grant;
  }

  private rememberUnknown(hash: string): void {
    if (this.options.negativeMaxEntries === 0) return;
    if (this.unknown.size >= this.options.negativeMaxEntries) {
      const oldest = this.unknown.keys().next().value;
      if (oldest !== undefined) this.unknown.delete(oldest);
    }
    this.unknown.set(hash, this.options.clock.now() + this.options.negativeTtlMs);
  }

  /** After any change to tokens: the next use reads them again, here and on every other node. */
  invalidate(...hashes: string[]): void {
    this.forget({ hashes });
    if (hashes.length) this.options.feed?.publish({ hashes });
  }

  invalidateAccount(accountId: string): void {
    this.forget({ accountId });
    this.options.feed?.publish({ accountId });
  }

  /** Applies an invalidation of tokens, local or from another node. */
  forget(change: Exclude<Invalidation, { domainIds: string[] }>): void {
    this.generation += 1;
    if ('hashes' in change) {
      for (const hash of change.hashes) {
        this.grants.delete(hash);
        this.unknown.delete(hash);
      }
      return;
    }
    this.grants.deleteWhere((grant) => grant.accountId === change.accountId);
  }

  clear(): void {
    this.generation += 1;
    this.grants.clear();
    this.unknown.clear();
  }

  get size(): number {
    return this.grants.size;
  }
}

const aboveOf = (lineage: string, row: LineageRecord | undefined): Above => ({ lineage, rateLimit: row?.rate_limit ?? null, pausedAt: row?.paused_at ?? null });
