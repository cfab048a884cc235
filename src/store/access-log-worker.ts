/**
 * The access log's writer thread: its own connection to the SQLite file, so that inserting rows
 * and maintaining their indexes never takes the request thread's time. Loaded by `new Worker`
 * from `access-log-sink.ts`; nothing else imports it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { SealedBatch } from './access-log-batch.js';
import { sqliteBatchWriter } from './sqlite-access-log.js';
import { setUpSqliteConnection } from './sqlite-connection.js';

export interface WorkerOptions {
  path: string;
}
export type WorkerRequest = { id: number; batches: readonly SealedBatch[] } | 'close';
/** `written`: how many of the request's batches were committed, in order, before any error. */
export interface WorkerReply {
  id: number;
  written: number;
  error: string | null;
}

const port = parentPort!;
const { path } = workerData as WorkerOptions;
const sqlite = new SqliteDatabase(path, { fileMustExist: true });
setUpSqliteConnection(sqlite);
const writeBatch = sqliteBatchWriter(sqlite);

port.on('message', (request: WorkerRequest) => {
  if (request === 'close') {
    sqlite.close();
    port.close();
    return;
  }
  let written = 0;
  let error: string | null = null;
  try {
    for (const batch of request.batches) {
      writeBatch(batch);
      written += 1;
    }
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
  }
  port.postMessage({ id: request.id, written, error } satisfies WorkerReply);
});
