import { stringify } from 'csv-stringify/sync';
import { iso, type Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Db } from '../store/database.js';
import { accessLogSink, type AccessLogSink } from '../store/access-log-sink.js';
import type { AccessLogsTable } from '../store/schema.js';
import { PeriodicJob } from './periodic.js';

/** One request, as the hook records it: the id and the timestamp's text are made at flush time. */
export type AccessLogEntry = Omit<AccessLogsTable, 'id' | 'at'> & { at: number };

/**
 * The id carries the request's own time, so ids sort as requests happened, not as flushed.
 * (Spelled out rather than spread: spreading costs microseconds per row, and a flush has thousands.)
 */
const toRow = (e: AccessLogEntry): AccessLogsTable => ({
  id: newId('log', e.at), at: iso(e.at), account_id: e.account_id, token_id: e.token_id, token_name: e.token_name, method: e.method,
  route: e.route, path: e.path, status: e.status, ip: e.ip, user_agent: e.user_agent, duration_ms: e.duration_ms, error_code: e.error_code,
  request_summary: e.request_summary,
});

export interface AccessLogOptions {
  flushIntervalMs: number;
  maxQueue: number;
  onDropped?: (count: number) => void;
}

/**
 * Every request made with a token, written off the request path: entries queue in memory and go
 * to the database as multi-row inserts, one transaction per interval and one at shutdown. The
 * queue is bounded; what overflows is counted (and exported as a metric), never silently lost.
 */
export class AccessLogWriter {
  private queue: AccessLogEntry[] = [];
  private readonly job = new PeriodicJob(() => this.write());
  private readonly sink: AccessLogSink;
  dropped = 0;

  constructor(db: Db, private readonly options: AccessLogOptions) {
    this.sink = accessLogSink(db);
  }

  /** On the request path: one append, nothing else. */
  record(entry: AccessLogEntry): void {
    if (this.queue.length >= this.options.maxQueue) {
      this.dropped += 1;
      this.options.onDropped?.(1);
      return;
    }
    this.queue.push(entry);
  }

  get pending(): number {
    return this.queue.length;
  }

  start(onError: (error: unknown) => void): void {
    this.job.start(this.options.flushIntervalMs, onError);
  }

  flush(): Promise<void> {
    return this.job.run();
  }

  private async write(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      await this.sink(batch.map(toRow));
    } catch (error) {
      // Keep what fits for the next attempt; the rest is counted as dropped.
      const room = Math.max(0, this.options.maxQueue - this.queue.length);
      this.queue = [...batch.slice(0, room), ...this.queue];
      if (batch.length > room) {
        this.dropped += batch.length - room;
        this.options.onDropped?.(batch.length - room);
      }
      throw error;
    }
  }

  stop(): Promise<void> {
    return this.job.stop();
  }
}

export interface AccessLogFilter {
  token_id?: string;
  status?: number;
  method?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit: number;
}

export type AccessLogView = Omit<AccessLogsTable, 'account_id'>;

const toView = ({ account_id: _account, ...rest }: AccessLogsTable): AccessLogView => rest;

export async function queryAccessLogs(db: Db, accountId: string, filter: AccessLogFilter) {
  let query = db.selectFrom('access_logs').selectAll().where('account_id', '=', accountId);
  if (filter.token_id) query = query.where('token_id', '=', filter.token_id);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.method) query = query.where('method', '=', filter.method.toUpperCase());
  if (filter.since) query = query.where('at', '>=', new Date(filter.since).toISOString());
  if (filter.until) query = query.where('at', '<', new Date(filter.until).toISOString());
  if (filter.cursor) query = query.where('id', '<', filter.cursor);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  return { data: page.map(toView), next_cursor: rows.length > filter.limit ? page[page.length - 1]!.id : null };
}

export async function purgeAccessLogs(db: Db, clock: Clock, retentionDays: number): Promise<number> {
  const result = await db.deleteFrom('access_logs').where('at', '<', iso(clock.now() - retentionDays * 86_400_000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

const CSV_COLUMNS = ['at', 'token_id', 'token_name', 'method', 'route', 'path', 'status', 'ip', 'user_agent', 'duration_ms', 'error_code', 'request_summary'] as const;

/**
 * A cell that a spreadsheet would read as a formula (=, +, -, @, tab, carriage return) gets a
 * leading apostrophe; control characters become visible escapes so a log line stays one line.
 */
export function neutraliseCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/\r?\n/g, '\\n');
  return /^[=+\-@\t\r]/.test(text) ? `'${visible}` : visible;
}

/** A CSV export whose every cell is neutralised: log data is attacker-influenced text. */
export function toCsv<T>(columns: readonly string[], rows: T[], cell: (row: T, column: string) => unknown): string {
  return stringify([[...columns], ...rows.map((row) => columns.map((column) => neutraliseCell(cell(row, column))))]);
}

export const accessLogsToCsv = (rows: AccessLogView[]): string =>
  toCsv(CSV_COLUMNS, rows, (row, column) => row[column as (typeof CSV_COLUMNS)[number]]);
