import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** The service as a newcomer runs it: a real process, a real port, the default embedded SQLite. */
const dir = mkdtempSync(join(tmpdir(), 'latchkey-server-'));
// The child runs in an empty directory, so the TypeScript loader is named by its full path.
const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(process.cwd(), 'src/main.ts');
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string; base: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: '0', LATCHKEY_LOG_LEVEL: 'warn', LATCHKEY_ARGON2_MEMORY_KIB: '1024', LATCHKEY_ARGON2_PASSES: '1' },
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 20 s:\n${output}`)), 20_000);
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/[^\s]+) /.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, base };
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('npm start on a new machine', () => {
  it('creates a demo account, prints its login and the operator token once, and serves the curl session of the README', async () => {
    const first = await start();
    const printed = first.output();
    const demo = /Demo account owner: (\S+) \/ password: (\S+)/.exec(printed);
    const operatorToken = /Operator token \(LATCHKEY_ADMIN_TOKEN\): (\S+)/.exec(printed)?.[1];
    expect(demo).not.toBeNull();
    expect(operatorToken).toMatch(/^lk_admin_/);

    const login = await call(first.base, 'POST', '/v1/auth/login', { email: demo![1], password: demo![2] });
    expect(login.status).toBe(200);
    const session = { cookie: String(login.headers.get('set-cookie')).split(';')[0]!, 'x-csrf-token': login.body.csrf_token };
    const created = await call(first.base, 'POST', '/v1/tokens', { name: 'curl demo', scopes: ['domains:read'] }, session);
    expect(created.status).toBe(201);
    const auth = { authorization: `Bearer ${created.body.secret}` };
    expect((await call(first.base, 'GET', '/v1/domains', undefined, auth)).status).toBe(200);
    expect((await call(first.base, 'POST', `/v1/tokens/${created.body.token.id}/revoke`, {}, session)).status).toBe(200);
    const refused = await call(first.base, 'GET', '/v1/domains', undefined, auth);
    expect(refused).toMatchObject({ status: 401, body: { error: { code: 'token_revoked' } } });
    const verified = await call(first.base, 'POST', '/v1/verify', { token: created.body.secret }, { authorization: `Bearer ${operatorToken}` });
    expect(verified.body).toEqual({ valid: false, code: 'token_revoked' });

    // Oversized headers never reach Fastify; Node's parser error still gets the error shape.
    const raw = await new Promise<string>((resolve) => {
      const { port } = new URL(first.base);
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET /v1/domains HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'x'.repeat(20_000)}\r\n\r\n`));
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('close', () => resolve(data));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('"code":"invalid_request"');

    first.child.kill('SIGTERM');
    expect(await new Promise((resolve) => first.child.on('exit', resolve))).toBe(0);

    const second = await start();
    expect(second.output()).not.toMatch(/Demo account owner|Operator token/);
    const again = await call(second.base, 'POST', '/v1/verify', { token: created.body.secret }, { authorization: `Bearer ${operatorToken}` });
    expect(again.body).toEqual({ valid: false, code: 'token_revoked' });
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.on('exit', resolve));
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH, LATCHKEY_REAUTH_WINDOW: 'soon' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('LATCHKEY_REAUTH_WINDOW');
  });
});

