import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, sessionHeaders, startService, type ServiceProcess } from './helpers/process.js';

/** Recomputes an account's whole audit chain as plain SHA-256 without key ids, and its head. */
function forgeUnsignedChain(path: string, accountId: string): void {
  const db = new SqliteDatabase(path);
  try {
    let prev = '';
    for (const row of db.prepare('select * from audit_events where account_id = ? order by seq').all(accountId) as Record<string, unknown>[]) {
      const fields = ['account_id', 'seq', 'id', 'at', 'action', 'actor_type', 'actor_id', 'actor_name', 'target_type', 'target_id', 'target_name', 'ip', 'user_agent', 'details'];
      const hash = createHash('sha256').update(JSON.stringify([...fields.map((f) => row[f]), prev])).digest('hex');
      db.prepare('update audit_events set key_id = null, prev_hash = ?, hash = ? where id = ?').run(prev, hash, row.id);
      prev = hash;
    }
    db.prepare('update accounts set audit_head = ? where id = ?').run(prev, accountId);
  } finally {
    db.close();
  }
}

/** The service as a newcomer runs it: a real process, a real port, the default embedded SQLite. */
const dir = mkdtempSync(join(tmpdir(), 'latchkey-server-'));
const started: ServiceProcess[] = [];
afterAll(() => {
  for (const service of started) service.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<ServiceProcess> {
  const service = await startService(dir, {});
  started.push(service);
  return service;
}

/** What a start with `env` exits with; null if it started after all (and is stopped with the others). */
const failedStart = (env: Record<string, string>): Promise<string | null> =>
  startService(dir, env).then(
    (service) => {
      started.push(service);
      return null;
    },
    (error: Error) => error.message,
  );

describe('npm start on a new machine', () => {
  it('creates a demo account, prints its login, the operator token and the audit key once, and serves that login', async () => {
    const first = await start();
    const printed = first.output();
    const demo = /Demo account owner: (\S+) \/ password: (\S+)/.exec(printed);
    const operatorToken = /Operator token \(LATCHKEY_ADMIN_TOKEN\): (\S+)/.exec(printed)?.[1];
    expect(demo).not.toBeNull();
    expect(operatorToken).toMatch(/^lk_admin_/);
    // The audit chain's key lives beside the database, never in it, readable by its owner alone.
    const auditKey = /Audit key \(LATCHKEY_AUDIT_KEY\), kept in (\S+): (\S+)/.exec(printed);
    expect(auditKey?.[1]).toBe(join(dir, 'data', 'audit.key'));
    expect(readFileSync(auditKey![1]!, 'utf8').trim()).toBe(auditKey![2]);
    expect(statSync(auditKey![1]!).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'data', 'latchkey.db')).toString('latin1')).not.toContain(auditKey![2]);

    const login = await call(first.base, 'POST', '/v1/auth/login', { email: demo![1], password: demo![2] });
    expect(login.status).toBe(200);
    const session = sessionHeaders(login);
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

    expect(await first.stop()).toBe(0);

    // Between starts, someone who can write the database but lacks the key rewrites the demo
    // account's chain as unsigned events, as if from before signing. A later start leaves it broken.
    forgeUnsignedChain(join(dir, 'data', 'latchkey.db'), login.body.account.id);

    const second = await start();
    expect(second.output()).not.toMatch(/Demo account owner|Operator token|Audit key/);
    const again = await call(second.base, 'POST', '/v1/verify', { token: created.body.secret }, { authorization: `Bearer ${operatorToken}` });
    expect(again.body).toEqual({ valid: false, code: 'token_revoked' });
    const relogin = sessionHeaders(await call(second.base, 'POST', '/v1/auth/login', { email: demo![1], password: demo![2] }));
    const chain = await call(second.base, 'GET', '/v1/audit-log/verify', undefined, relogin);
    expect(chain.body).toMatchObject({ valid: false, first_broken: { seq: 1, reason: 'unsigned' } });
    expect(await second.stop()).toBe(0);

    // Without the key that signed it the log could never be checked again: no start without it.
    const keyFile = join(dir, 'data', 'audit.key');
    renameSync(keyFile, `${keyFile}.away`);
    const failure = await failedStart({});
    renameSync(`${keyFile}.away`, keyFile);
    expect(failure).toMatch(/^exited with 2:/);
    expect(failure).toContain('audit.key is missing, but the audit log was signed');
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    const failure = await failedStart({ LATCHKEY_REAUTH_WINDOW: 'soon' });
    expect(failure).toMatch(/^exited with 2:/);
    expect(failure).toContain('LATCHKEY_REAUTH_WINDOW');
  });

  it('refuses to start on PostgreSQL without an audit key, which every node must share', async () => {
    const failure = await failedStart({ LATCHKEY_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(failure).toMatch(/^exited with 2:/);
    expect(failure).toContain('LATCHKEY_AUDIT_KEY is required with PostgreSQL');
  });
});

