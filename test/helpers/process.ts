import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { adminQuery, dumpSchema, dumpSqliteFiles, TEST_POSTGRES_URL, urlInSchema } from './postgres.js';

// The child runs in its own directory, so the TypeScript loader is named by its full path.
const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(process.cwd(), 'src/main.ts');


export interface ServiceProcess {
  child: ChildProcessWithoutNullStreams;
  base: string;
  output(): string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `src/main.ts` (or another entry point that calls `serve`) as a real process with only the
 * given environment; resolves once it listens.
 */
export function startService(cwd: string, env: Record<string, string>, entry = MAIN, nodeArgs: string[] = []): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', TSX, entry], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', LATCHKEY_LOG_LEVEL: 'warn', LATCHKEY_ARGON2_MEMORY_KIB: '1024', LATCHKEY_ARGON2_PASSES: '1', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/[^\s]+) /.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          base: match[1]!,
          output: () => output,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

/** One JSON request to a running service: status, headers and the parsed body. */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** PostgreSQL nodes must be given the audit key (SQLite generates one beside its file). */
const PROCESS_AUDIT_KEY = 'process-audit-key-0123456789abcdefghijklmnopqrst';

/**
 * A database for real processes on the store under test: a SQLite file in `dir`, or a fresh
 * PostgreSQL schema (named in the URL's search_path) when the suite runs on PostgreSQL. `env` is
 * what a node needs to use it.
 */
export async function processStore(dir: string): Promise<{ url: string; env: Record<string, string>; dump: () => Promise<string>; drop: () => Promise<void> }> {
  if (!TEST_POSTGRES_URL) {
    const path = join(dir, 'latchkey.db');
    const url = `sqlite:${path}`;
    return { url, env: { LATCHKEY_DATABASE_URL: url }, dump: async () => dumpSqliteFiles(path), drop: async () => undefined };
  }
  const schema = `lk_proc_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  await adminQuery(`create schema "${schema}"`);
  const url = urlInSchema(schema);
  return {
    url, env: { LATCHKEY_DATABASE_URL: url, LATCHKEY_AUDIT_KEY: PROCESS_AUDIT_KEY },
    dump: () => dumpSchema(schema), drop: async () => void (await adminQuery(`drop schema "${schema}" cascade`)),
  };
}

type Reply = Awaited<ReturnType<typeof call>>;

/** A login answer as the headers a signed-in browser sends: the session cookie and the CSRF token. */
export const sessionHeaders = (login: Reply): Record<string, string> => ({
  cookie: String(login.headers.get('set-cookie')).split(';')[0]!,
  'x-csrf-token': login.body.csrf_token,
});

/** A new account on a running service, made through the operator API; its owner's session headers. */
export async function signUpOwner(base: string, operatorToken: string, password: string): Promise<Record<string, string>> {
  const email = `owner-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const account = await call(base, 'POST', '/admin/v1/accounts', { name: 'Owner', plan: 'pro', owner: { email, password } }, { authorization: `Bearer ${operatorToken}` });
  if (account.status !== 201) throw new Error(`create account: ${account.status} ${JSON.stringify(account.body)}`);
  const login = await call(base, 'POST', '/v1/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  return sessionHeaders(login);
}
