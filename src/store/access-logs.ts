import type { Manager } from '../core/authority.js';
import { instantOf, instantText } from './columns.js';
import type { Db } from './database.js';
import type { AccessLogsTable } from './schema.js';
import { relatedTokenIds } from './tokens.js';

/** Every read of the access log (its writes are the sink's: `access-log-sink.ts`). */

export interface AccessLogRecord extends Omit<AccessLogsTable, 'at'> {
  at: number;
}

export interface AccessLogPageQuery {
  token_id?: string | undefined;
  status?: number | undefined;
  /** Statuses from this one to 99 above it (200: every 2xx). */
  statusHundred?: number | undefined;
  method?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Entries with ids below this one. */
  before?: string | undefined;
  limit: number;
}

/** The account's entries, newest first; for a token, only those of the tokens it is related to. */
export async function accessLogPage(db: Db, accountId: string, reader: Manager, q: AccessLogPageQuery): Promise<AccessLogRecord[]> {
  let query = db.selectFrom('access_logs').selectAll().where('account_id', '=', accountId);
  if (reader.kind === 'token') query = query.where('token_id', 'in', relatedTokenIds(db, accountId, reader));
  if (q.token_id) query = query.where('token_id', '=', q.token_id);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.statusHundred !== undefined) query = query.where('status', '>=', q.statusHundred).where('status', '<', q.statusHundred + 100);
  if (q.method) query = query.where('method', '=', q.method);
  if (q.since !== undefined) query = query.where('at', '>=', instantText(q.since));
  if (q.until !== undefined) query = query.where('at', '<', instantText(q.until));
  if (q.before) query = query.where('id', '<', q.before);
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map((row) => ({ ...row, at: instantOf(row.at) }));
}

/** The MCP tool each token last called (its newest `mcp:<tool>` entry), for those that called one. */
export async function lastToolsOf(db: Db, tokenIds: readonly string[]): Promise<Map<string, string>> {
  const tools = new Map<string, string>();
  for (const tokenId of new Set(tokenIds)) {
    const row = await db.selectFrom('access_logs').select('route').where('token_id', '=', tokenId).where('route', 'like', 'mcp:%')
      .orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (row) tools.set(tokenId, row.route.slice('mcp:'.length));
  }
  return tools;
}

/** Removes every entry older than `cutoff`; returns how many. */
export async function purgeAccessLogsBefore(db: Db, cutoff: number): Promise<number> {
  const result = await db.deleteFrom('access_logs').where('at', '<', instantText(cutoff)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
