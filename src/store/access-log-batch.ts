import { iso } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { AccessLogsTable } from './schema.js';

/** One request, as the hook records it: the id and the timestamp's text are made by the writer. */
export type AccessLogEntry = Omit<AccessLogsTable, 'id' | 'at'> & { at: number };

/** Rows per batch, and per transaction when the SQLite writer thread commits: a few milliseconds of write lock at most. */
export const ROWS_PER_BATCH = 256;

/** Per row: at, status, duration_ms. */
const NUMBERS = 3;
/** Per row: account_id, token_id, token_name, method, route, path, ip, user_agent, error_code, request_summary. */
const TEXTS = 10;

/**
 * A full or final batch, as it travels to the writer: numbers in one typed array, texts as
 * references into the batch's own list of distinct strings (0 is null). Copying it to a worker is
 * a memcpy of two buffers and a short list, where a list of row objects costs microseconds a row.
 */
export interface SealedBatch {
  readonly rows: number;
  readonly numbers: Float64Array;
  readonly texts: Uint32Array;
  readonly strings: readonly string[];
}

/**
 * Where the access-log hook appends: preallocated columns, so that recording a request allocates
 * nothing that outlives it. Most of a request's texts (account, token, route, address, user
 * agent) repeat from the request before and are stored once per batch.
 */
export class AccessLogBatch {
  rows = 0;
  private readonly numbers = new Float64Array(ROWS_PER_BATCH * NUMBERS);
  private readonly texts = new Uint32Array(ROWS_PER_BATCH * TEXTS);
  private readonly strings: string[] = [];
  private readonly refs = new Map<string, number>();

  get full(): boolean {
    return this.rows === ROWS_PER_BATCH;
  }

  append(entry: AccessLogEntry): void {
    const n = this.rows * NUMBERS;
    this.numbers[n] = entry.at;
    this.numbers[n + 1] = entry.status;
    this.numbers[n + 2] = entry.duration_ms;
    const t = this.rows * TEXTS;
    this.texts[t] = this.ref(entry.account_id);
    this.texts[t + 1] = this.ref(entry.token_id);
    this.texts[t + 2] = this.ref(entry.token_name);
    this.texts[t + 3] = this.ref(entry.method);
    this.texts[t + 4] = this.ref(entry.route);
    this.texts[t + 5] = this.ref(entry.path);
    this.texts[t + 6] = this.ref(entry.ip);
    this.texts[t + 7] = this.ref(entry.user_agent);
    this.texts[t + 8] = this.ref(entry.error_code);
    this.texts[t + 9] = this.ref(entry.request_summary);
    this.rows += 1;
  }

  seal(): SealedBatch {
    return {
      rows: this.rows,
      numbers: this.numbers.subarray(0, this.rows * NUMBERS),
      texts: this.texts.subarray(0, this.rows * TEXTS),
      strings: this.strings,
    };
  }

  private ref(text: string | null): number {
    if (text === null) return 0;
    let ref = this.refs.get(text);
    if (ref === undefined) {
      ref = this.strings.push(text);
      this.refs.set(text, ref);
    }
    return ref;
  }
}

/** Every entry of a batch, in the order appended. */
export function entriesOf(batch: SealedBatch): AccessLogEntry[] {
  const text = (at: number): string | null => {
    const ref = batch.texts[at]!;
    return ref === 0 ? null : batch.strings[ref - 1]!;
  };
  const entries: AccessLogEntry[] = [];
  for (let row = 0; row < batch.rows; row += 1) {
    const n = row * NUMBERS;
    const t = row * TEXTS;
    entries.push({
      at: batch.numbers[n]!, status: batch.numbers[n + 1]!, duration_ms: batch.numbers[n + 2]!,
      account_id: text(t)!, token_id: text(t + 1)!, token_name: text(t + 2)!, method: text(t + 3)!, route: text(t + 4)!, path: text(t + 5)!,
      ip: text(t + 6)!, user_agent: text(t + 7)!, error_code: text(t + 8), request_summary: text(t + 9)!,
    });
  }
  return entries;
}

/** The id carries the request's own time, so ids sort as requests happened, not as written. */
export const toRow = (e: AccessLogEntry): AccessLogsTable => ({
  id: newId('log', e.at), at: iso(e.at), account_id: e.account_id, token_id: e.token_id, token_name: e.token_name, method: e.method,
  route: e.route, path: e.path, status: e.status, ip: e.ip, user_agent: e.user_agent, duration_ms: e.duration_ms, error_code: e.error_code,
  request_summary: e.request_summary,
});
