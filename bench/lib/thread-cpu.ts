/**
 * CPU time a process has used, split into its main thread (the event loop: parsing, hooks,
 * handlers) and every other thread (the access-log writer, V8's garbage-collection helpers, the
 * libuv pool), read from Linux's /proc. Req/s says how fast a route went; this says on which
 * thread its cost lies. On a shared VM it moves from run to run too, with other guests' load.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of CPU (user and system) by thread id. */
export type ThreadCpu = Map<number, number>;

const TICKS_PER_SECOND = existsSync('/proc/self/task') ? Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 : 0;

/** null where /proc is not there to read (not Linux). */
export function threadCpu(pid: number): ThreadCpu | null {
  if (TICKS_PER_SECOND === 0) return null;
  const cpu: ThreadCpu = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between listing and reading
    }
    // The command name is parenthesised and may hold spaces; utime and stime are the 12th and 13th fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(Number(tid), ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
  }
  return cpu;
}

/** Accumulates CPU per request for one route over several rounds. */
export class CpuPerRequest {
  private mainMs = 0;
  private otherMs = 0;
  private requests = 0;

  constructor(private readonly pid: number) {}

  /** A thread that started during the round counts from zero; one that ended is not seen. */
  add(before: ThreadCpu, after: ThreadCpu, requests: number): void {
    for (const [tid, ms] of after) {
      const used = ms - (before.get(tid) ?? 0);
      if (tid === this.pid) this.mainMs += used;
      else this.otherMs += used;
    }
    this.requests += requests;
  }

  /** Microseconds per request: the main thread's, and the whole process's. */
  get micros(): { main: number; total: number } {
    const per = (ms: number) => (this.requests === 0 ? NaN : (ms * 1000) / this.requests);
    return { main: per(this.mainMs), total: per(this.mainMs + this.otherMs) };
  }
}
