import { stringify } from 'csv-stringify/sync';
import { iso, type Clock } from '../core/clock.js';
import { ACCOUNT_READER, type Manager } from '../core/authority.js';
import type { Redactor } from '../core/redaction.js';
import type { Db } from '../store/database.js';
import { accessLogPage, purgeAccessLogsBefore, type AccessLogRecord } from '../store/access-logs.js';
import { AccessLogBatch, type AccessLogEntry, type SealedBatch } from '../store/access-log-batch.js';
import { accessLogSink, AccessLogWriteError, type AccessLogSink } from '../store/access-log-sink.js';
import { PeriodicJob } from './periodic.js';

export type { AccessLogEntry } from '../store/access-log-batch.js';

export interface AccessLogOptions {
  flushIntervalMs: number;
  maxQueue: number;
  onDropped?: (count: number) => void;
}

/**
 * Every request made with a token, written off the request path: the hook appends to columns in
 * memory, and once per interval (and at shutdown) the sealed batches go to the sink, on SQLite a
 * writer thread with its own connection. What waits is bounded; what overflows is counted (and
 * exported as a metric), never silently lost.
 */
export class AccessLogWriter {
  private batch = new AccessLogBatch();
  private sealed: SealedBatch[] = [];
  private sealedRows = 0;
  /** Rows handed to the sink and not yet committed: still in memory, and not yet readable. */
  private writingRows = 0;
  private readonly job = new PeriodicJob(() => this.write());
  private readonly sink: AccessLogSink;
  dropped = 0;

  constructor(db: Db, private readonly options: AccessLogOptions) {
    this.sink = accessLogSink(db);
  }

  /** On the request path: one append to preallocated columns, nothing else. */
  record(entry: AccessLogEntry): void {
    if (this.pending >= this.options.maxQueue) {
      this.drop(1);
      return;
    }
    this.batch.append(entry);
    if (this.batch.full) this.sealBatch();
  }

  /** Recorded and not yet committed, whether waiting or being written. */
  get pending(): number {
    return this.sealedRows + this.batch.rows + this.writingRows;
  }

  start(onError: (error: unknown) => void): void {
    this.job.start(this.options.flushIntervalMs, onError);
  }

  /** Resolves once everything recorded so far is committed. */
  flush(): Promise<void> {
    return this.job.run();
  }

  async stop(): Promise<void> {
    try {
      await this.job.stop();
    } finally {
      await this.sink.close();
    }
  }

  private sealBatch(): void {
    this.sealed.push(this.batch.seal());
    this.sealedRows += this.batch.rows;
    this.batch = new AccessLogBatch();
  }

  private async write(): Promise<void> {
    if (this.batch.rows > 0) this.sealBatch();
    if (this.sealed.length === 0) return;
    const batches = this.sealed;
    this.writingRows = this.sealedRows;
    this.sealed = [];
    this.sealedRows = 0;
    try {
      await this.sink.write(batches);
    } catch (error) {
      this.writingRows = 0;
      this.requeue(batches.slice(error instanceof AccessLogWriteError ? error.written : 0));
      throw error;
    }
    this.writingRows = 0;
  }

  /** Keeps the oldest unwritten batches that fit for the next attempt; the rest are counted as dropped. */
  private requeue(unwritten: SealedBatch[]): void {
    let room = this.options.maxQueue - this.pending;
    const kept: SealedBatch[] = [];
    let lost = 0;
    for (const batch of unwritten) {
      if (batch.rows <= room) {
        kept.push(batch);
        room -= batch.rows;
      } else lost += batch.rows;
    }
    this.sealed = [...kept, ...this.sealed];
    this.sealedRows += kept.reduce((rows, batch) => rows + batch.rows, 0);
    if (lost > 0) this.drop(lost);
  }

  private drop(count: number): void {
    this.dropped += count;
    this.options.onDropped?.(count);
  }
}

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export interface AccessLogFilter {
  token_id?: string;
  status?: number;
  /** `2xx`, `4xx`…: every status of that hundred. */
  status_class?: StatusClass;
  method?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit: number;
}

export type AccessLogView = Omit<AccessLogRecord, 'account_id' | 'at'> & { at: string };

const toView = ({ account_id: _account, at, ...rest }: AccessLogRecord): AccessLogView => ({ at: iso(at), ...rest });

/** A page of the account's access log, as `reader` may read it: a token, only the entries of the tokens it is related to. */
export async function queryAccessLogs(db: Db, accountId: string, filter: AccessLogFilter, reader: Manager = ACCOUNT_READER) {
  const instant = (text: string | undefined) => (text ? Date.parse(text) : undefined);
  const rows = await accessLogPage(db, accountId, reader, {
    token_id: filter.token_id, status: filter.status, statusHundred: filter.status_class && Number(filter.status_class[0]) * 100, method: filter.method?.toUpperCase(),
    since: instant(filter.since), until: instant(filter.until), before: filter.cursor, limit: filter.limit + 1,
  });
  const page = rows.slice(0, filter.limit);
  return { data: page.map(toView), next_cursor: rows.length > filter.limit ? page[page.length - 1]!.id : null };
}

export async function purgeAccessLogs(db: Db, clock: Clock, retentionDays: number): Promise<number> {
  return purgeAccessLogsBefore(db, clock.now() - retentionDays * 86_400_000);
}

const CSV_COLUMNS = ['at', 'token_id', 'token_name', 'method', 'route', 'path', 'status', 'ip', 'user_agent', 'duration_ms', 'error_code', 'request_summary'] as const;

/** Characters a spreadsheet starts a formula with, half- and full-width. */
const FORMULA = '=+\\-@\uff1d\uff0b\uff0d\uff20';
const FORMULA_AT_START = new RegExp(`^[\\s\\u00a0]*[${FORMULA}]`);
/** A formula character after anything a spreadsheet may split a cell at (`,` `;` `|`, a quote), spaces between. */
const FORMULA_AFTER_SEPARATOR = new RegExp(`([,;|"])([\\s\\u00a0]*)(?=[${FORMULA}])`, 'g');
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A cell no spreadsheet runs, whatever separator it reads with: every C0, C1 and DEL character
 * becomes a visible escape (so one entry stays one line, and no tab or line break splits it), and
 * a formula character at its start, or after a comma, semicolon, bar or quote, gets an apostrophe
 * before it. `toCsv` also quotes every cell holding a separator of any locale.
 */
export function neutraliseCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  const visible = text.replace(/\r?\n/g, '\\n').replace(CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const inner = visible.replace(FORMULA_AFTER_SEPARATOR, "$1$2'");
  return FORMULA_AT_START.test(inner) ? `'${inner}` : inner;
}

/**
 * A CSV export whose every cell is neutralised and redacted: log data is attacker-influenced text,
 * and rows written before redaction existed may still hold a secret.
 */
export function toCsv<T>(columns: readonly string[], rows: T[], cell: (row: T, column: string) => unknown, redact: Redactor): string {
  return stringify([[...columns], ...rows.map((row) => columns.map((column) => neutraliseCell(redact(cellText(cell(row, column))))))], {
    quoted_match: /[;|]/,
  });
}

const cellText = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

export const accessLogsToCsv = (rows: AccessLogView[], redact: Redactor): string =>
  toCsv(CSV_COLUMNS, rows, (row, column) => row[column as (typeof CSV_COLUMNS)[number]], redact);
