import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { call, signUpOwner } from '../../test/helpers/process.js';

/**
 * With two or more cores and taskset, the server gets core 0 and the load generator core 1, so the
 * scheduler does not move them about between rounds; without, both float.
 */
const PINNING = existsSync('/usr/bin/taskset') && availableParallelism() >= 2;

export function pinToFirstCore(pid: number): void {
  if (PINNING) execFileSync('/usr/bin/taskset', ['-a', '-pc', '0', String(pid)], { stdio: 'ignore' });
}

export { call } from '../../test/helpers/process.js';
type Reply = Awaited<ReturnType<typeof call>>;

export function expectOk(reply: Reply, what: string): any {
  if (reply.status >= 300) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** A new account through the operator API, and its owner's session headers (cookie + CSRF). */
export const ownerSession = (base: string, operatorToken: string): Promise<Record<string, string>> =>
  signUpOwner(base, operatorToken, `bench-${Math.random().toString(36)}-password`);

export interface LoadOptions {
  url: string;
  seconds: number;
  connections?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  p99Ms: number;
}

/** autocannon in a process of its own, so that load generation does not share the server's thread. */
export function load(options: LoadOptions): Promise<LoadResult> {
  const args = [join(process.cwd(), 'node_modules/autocannon/autocannon.js'), '--json', '--no-progress', '-c', String(options.connections ?? 50), '-d', String(options.seconds)];
  if (options.method) args.push('-m', options.method);
  for (const [key, value] of Object.entries(options.headers ?? {})) args.push('-H', `${key}=${value}`);
  if (options.body !== undefined) args.push('-b', options.body);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    const child = PINNING
      ? spawn('/usr/bin/taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err}`));
      const result = JSON.parse(out);
      resolve({ requestsPerSecond: result.requests.average, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts, p99Ms: result.latency.p99 });
    });
  });
}
