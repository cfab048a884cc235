import type { FastifyReply } from 'fastify';
import { ApiError } from '../core/errors.js';

export const CSV_MAX_ROWS = 10_000;

/** JSON pages stay small; a CSV export may ask for up to 10,000 rows at once. */
export function checkExportLimit(format: string | undefined, limit: number): void {
  if (format !== 'csv' && limit > 100) {
    throw new ApiError('invalid_request', `limit must be at most 100 (up to ${CSV_MAX_ROWS} with format=csv)`, { field: 'limit' });
  }
}

/** Sends a CSV attachment; when more rows match, the cursor for the rest is in X-Next-Cursor. */
export function sendCsv(reply: FastifyReply, filename: string, csv: string, nextCursor: string | null): FastifyReply {
  if (nextCursor) reply.header('x-next-cursor', nextCursor);
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .serializer((body: string) => body)
    .send(csv);
}
