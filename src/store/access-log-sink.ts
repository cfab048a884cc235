import { Worker } from 'node:worker_threads';
import { entriesOf, toRow, type SealedBatch } from './access-log-batch.js';
import type { WorkerOptions, WorkerReply, WorkerRequest } from './access-log-worker.js';
import { sqliteHandleOf, type Db } from './database.js';

/** Writes sealed batches in order. */
export interface AccessLogSink {
  write(batches: readonly SealedBatch[]): Promise<void>;
  close(): Promise<void>;
}

/** A write that failed after `written` of its batches were committed whole. */
export class AccessLogWriteError extends Error {
  constructor(message: string, readonly written: number) {
    super(message);
  }
}

/**
 * Where the access log goes. A SQLite file gets a writer thread with its own connection; the
 * request thread only copies each batch's buffers to it. PostgreSQL (whose work happens in the
 * server anyway) and in-memory SQLite (which a second connection cannot open) go through Kysely.
 */
export function accessLogSink(db: Db): AccessLogSink {
  const sqlite = sqliteHandleOf(db);
  return sqlite !== undefined && !sqlite.memory ? workerSink({ path: sqlite.name }) : kyselySink(db);
}

/** All batches in one transaction, one insert per batch (256 rows × 14 columns, inside both dialects' limits). */
function kyselySink(db: Db): AccessLogSink {
  return {
    write: (batches) =>
      db.transaction().execute(async (trx) => {
        for (const batch of batches) await trx.insertInto('access_logs').values(entriesOf(batch).map(toRow)).execute();
      }),
    close: async () => undefined,
  };
}

/**
 * Built, the worker is a JavaScript file beside this one. Run from TypeScript sources (tests,
 * benchmarks), it is started by a one-line script that registers tsx's loader first: Node 20
 * applies neither the parent's loader nor `--import` in `execArgv` to a worker's entry file.
 */
function workerEntry(): { script: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./access-log-worker.js', import.meta.url), eval: false };
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./access-log-worker.ts', import.meta.url).href);
  return { script: `import(${tsx}).then(({ register }) => { register(); return import(${entry}); });`, eval: true };
}

/**
 * Started on the first write. It keeps the process alive only while a write is outstanding, so
 * that a shutdown waits for the last flush and an idle writer never holds a process open. If the
 * thread dies, its outstanding writes fail as unwritten and the next write starts a new one.
 */
function workerSink(options: WorkerOptions): AccessLogSink {
  let worker: Worker | null = null;
  let lastId = 0;
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  const failAll = (message: string) => {
    for (const { reject } of waiting.values()) reject(new AccessLogWriteError(message, 0));
    waiting.clear();
  };
  const { script, eval: isScript } = workerEntry();
  const start = (): Worker => {
    const started = new Worker(script, { workerData: options, eval: isScript });
    started.unref();
    started.on('message', (reply: WorkerReply) => {
      const waiter = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (waiting.size === 0) started.unref();
      if (reply.error === null) waiter?.resolve();
      else waiter?.reject(new AccessLogWriteError(`access-log write failed: ${reply.error}`, reply.written));
    });
    started.on('error', (error) => failAll(`access-log writer failed: ${error.message}`));
    started.on('exit', () => {
      if (worker === started) worker = null;
      failAll('access-log writer stopped');
    });
    return started;
  };
  const send = (request: WorkerRequest) => {
    worker ??= start();
    worker.ref();
    worker.postMessage(request);
    return worker;
  };

  return {
    write: (batches) =>
      new Promise<void>((resolve, reject) => {
        lastId += 1;
        waiting.set(lastId, { resolve, reject });
        send({ id: lastId, batches });
      }),
    async close() {
      if (worker === null) return;
      const closing = worker;
      const exited = new Promise((resolve) => closing.once('exit', resolve));
      send('close');
      await exited;
    },
  };
}
