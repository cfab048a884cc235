import { sql } from 'kysely';
import { describe, expect } from 'vitest';
import { purgeAccessLogs } from '../../src/services/access-log.js';
import { asSession, bearer, createToken, expectError, expectStatus, ownerSession, PASSWORD, type Session } from '../helpers/actors.js';
import { testOn } from '../helpers/fixtures.js';
import { DIALECT, injectFailure, startHarness, whileUnreachable, type Harness } from '../helpers/harness.js';

const logs = async (h: Harness, owner: Session, query = '') => {
  await h.ctx.accessLog.flush();
  return expectStatus(await h.request({ method: 'GET', url: `/v1/access-logs?${query}`, headers: asSession(owner) }), 200);
};

// Flushed only when a test says so: a periodic write in the middle would change what is pending.
const test = testOn({ LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS: '60000' });

describe('access log', () => {
  test('filters by a class of status: 4xx is every refusal, 2xx every success', async ({ app: h, owner }) => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'classes', scopes: ['domains:read'] });
    await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: 'nope.example.com' } });
    await h.request({ method: 'GET', url: '/v1/domains/dom_01JZZZZZZZZZZZZZZZZZZZZZZZ', headers: bearer(secret) });
    const statuses = async (statusClass: string) => (await logs(h, owner, `token_id=${token.id}&status_class=${statusClass}`)).data.map((entry: { status: number }) => entry.status);
    expect(await statuses('4xx')).toEqual([404, 403]);
    expect(await statuses('2xx')).toEqual([200]);
    expect(await statuses('5xx')).toEqual([]);
    expectError(await h.request({ method: 'GET', url: '/v1/access-logs?status_class=6xx', headers: asSession(owner) }), 400, 'invalid_request');
  });

  test('records every request made with a token, allowed or refused, without secrets or bodies', async ({ app: h, owner }) => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'logged', scopes: ['domains:read'] });
    await h.request({ method: 'GET', url: '/v1/domains?limit=5', headers: { ...bearer(secret), 'user-agent': 'deploy-bot/1.0' } });
    await h.request({ method: 'POST', url: '/v1/domains', headers: bearer(secret), payload: { name: 'secret-project.example.com' } });
    const { data } = await logs(h, owner, `token_id=${token.id}`);
    expect(data).toHaveLength(2);
    expect(data[1]).toMatchObject({
      token_id: token.id, token_name: 'logged', method: 'GET', route: '/v1/domains', path: '/v1/domains', status: 200, ip: '127.0.0.1',
      user_agent: 'deploy-bot/1.0', error_code: null, request_summary: 'query: limit',
    });
    expect(data[1].duration_ms).toBeGreaterThanOrEqual(0);
    expect(data[0]).toMatchObject({ method: 'POST', status: 403, error_code: 'insufficient_scope', request_summary: expect.stringMatching(/^body: \d+ bytes$/) });
    const stored = JSON.stringify(await h.store.db.selectFrom('access_logs').selectAll().execute());
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain('secret-project');
    expect(stored).not.toContain(PASSWORD);
    // Nothing token-shaped at all, whichever test put it there.
    expect(stored).not.toMatch(/lk_(live|mcp|msg|admin)_[0-9A-Za-z]{12,}/);
  });

  test('stores a query whose names hold control characters, NUL included, with the rest of its batch', async ({ app: h, owner }) => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'odd names', scopes: ['domains:read'] });
    await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    await h.request({ method: 'GET', url: '/v1/domains?a%00b=1&c%0Ad=2', headers: bearer(secret) });
    const { data } = await logs(h, owner, `token_id=${token.id}`);
    expect(data.map((entry: { request_summary: string }) => entry.request_summary)).toEqual(['query: a\uFFFDb, c\uFFFDd', '']);
  });

  const stored = async (h: Harness, tokenId: string) =>
    Number((await h.store.db.selectFrom('access_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('token_id', '=', tokenId).executeTakeFirstOrThrow()).n);

  test('is written off the request path: nothing until a flush, then every entry in order, on SQLite by a thread with its own connection', async ({ app: h, owner }) => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'batched', scopes: ['domains:read'] });
    // The first use reads the token, and its entry is written (the writer is running); the refusals after it are decided from the cache.
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    await h.ctx.accessLog.flush();
    expect(await stored(h, token.id)).toBe(1);
    const refused = Array.from({ length: 30 }, (_, i) => `/v1/domains/dom_batched${i}`);
    await whileUnreachable(h, async () => {
      for (const url of refused) expectError(await h.request({ method: 'DELETE', url, headers: bearer(secret) }), 403, 'insufficient_scope');
    });
    expect(h.ctx.accessLog.pending).toBe(30);
    expect(await stored(h, token.id)).toBe(1);
    await whileUnreachable(h, async () => {
      // The writer thread's connection is not the app's; on PostgreSQL the log goes through the app's pool, and waits.
      if (DIALECT === 'sqlite') await h.ctx.accessLog.flush();
      else await expect(h.ctx.accessLog.flush()).rejects.toThrow(/unreachable/);
    });
    const { data } = await logs(h, owner, `token_id=${token.id}`);
    expect(h.ctx.accessLog.pending).toBe(0);
    expect(data.map((entry: { path: string }) => entry.path)).toEqual([...refused].reverse().concat('/v1/domains'));
  });

  test('keeps what a failed write could not store, and stores it on the next flush: nothing lost, nothing twice', async ({ app: h, owner }) => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'retried', scopes: ['domains:read'] });
    await h.ctx.accessLog.flush();
    // One bad row in the second of two batches: on SQLite the first is committed on its own.
    const removeFault = await injectFailure(h, 'access_logs', 'insert', "new.path = '/v1/domains/dom_unstorable'");
    try {
      for (let i = 0; i < 500; i += 1) {
        const url = i === 300 ? '/v1/domains/dom_unstorable' : '/v1/domains';
        await h.request({ method: 'GET', url, headers: bearer(secret) });
      }
      await expect(h.ctx.accessLog.flush()).rejects.toThrow(/injected failure/);
      expect((await stored(h, token.id)) + h.ctx.accessLog.pending).toBe(500);
    } finally {
      await removeFault();
    }
    await h.ctx.accessLog.flush();
    expect(await stored(h, token.id)).toBe(500);
    expect(h.ctx.accessLog.dropped).toBe(0);
  });

  /** A new token of the owner's, and three requests made with it: recorded, the only ones pending, not yet written. */
  const withThreeUnwritten = async (h: Harness, owner: Session, name: string) => {
    const { secret, token } = await createToken(h, asSession(owner), { name, scopes: ['domains:read'] });
    await h.ctx.accessLog.flush();
    for (let i = 0; i < 3; i += 1) await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    return token as { id: string };
  };

  test('lets a transaction that reads and then writes commit while the log is written in between', async ({ app: h, owner }) => {
    const token = await withThreeUnwritten(h, owner, 'read, then renamed');
    let flushed: Promise<void> | undefined;
    await h.store.db.transaction().execute(async (trx) => {
      await trx.selectFrom('tokens').select('name').where('id', '=', token.id).executeTakeFirstOrThrow();
      flushed = h.ctx.accessLog.flush();
      // Time for the writer thread to commit, if this transaction had not taken the write lock when it began.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await trx.updateTable('tokens').set({ name: 'renamed after reading' }).where('id', '=', token.id).execute();
    });
    await flushed;
    expect(await stored(h, token.id)).toBe(3);
    expect((await h.store.db.selectFrom('tokens').select('name').where('id', '=', token.id).executeTakeFirstOrThrow()).name).toBe('renamed after reading');
  });

  test('counts entries being written as pending until they are stored, so that stored + pending never loses them', async ({ app: h, owner }) => {
    const token = await withThreeUnwritten(h, owner, 'in flight');
    let flushed: Promise<void> | undefined;
    await h.store.db.transaction().execute(async (trx) => {
      // Holds the write lock (SQLite) or a lock on the table (PostgreSQL): the flush's insert waits.
      await trx.updateTable('tokens').set({ name: 'holding the lock' }).where('id', '=', token.id).execute();
      if (DIALECT === 'postgres') await sql`lock table access_logs in share mode`.execute(trx);
      flushed = h.ctx.accessLog.flush();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(h.ctx.accessLog.pending).toBe(3);
    });
    await flushed;
    expect(h.ctx.accessLog.pending).toBe(0);
    expect(await stored(h, token.id)).toBe(3);
  });

  test('keeps a flush that happens while another transaction is open, even when that transaction rolls back', async ({ app: h, owner }) => {
    const token = await withThreeUnwritten(h, owner, 'flushed mid-transaction');
    let flushed: Promise<void> | undefined;
    await h.store.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('tokens').set({ name: 'renamed, then rolled back' }).where('id', '=', token.id).execute();
        flushed = h.ctx.accessLog.flush();
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await flushed;
    const rows = await h.store.db.selectFrom('access_logs').select('id').where('token_id', '=', token.id).execute();
    expect(rows).toHaveLength(3);
  });

  test('filters by token, status, method and time, pages with a cursor, and shows a token’s own activity', async ({ app: h, owner }) => {
    const s = await ownerSession(h);
    const { secret, token } = await createToken(h, asSession(s), { name: 'filtered', scopes: ['domains:read'] });
    const startedAt = new Date(h.clock.now()).toISOString();
    for (let i = 0; i < 3; i += 1) await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    await h.request({ method: 'GET', url: '/v1/activity', headers: bearer(secret) });
    await h.ctx.accessLog.flush();
    const q = async (query: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/access-logs?${query}`, headers: asSession(s) }), 200);
    expect((await q(`token_id=${token.id}`)).data).toHaveLength(4);
    expect((await q('status=403')).data.map((e: any) => e.route)).toEqual(['/v1/activity']);
    expect((await q('method=get')).data).toHaveLength(4);
    expect((await q('method=POST')).data).toHaveLength(0);
    expect((await q(`until=${startedAt}`)).data).toHaveLength(0);
    const first = await q('limit=3');
    const second = await q(`limit=3&cursor=${first.next_cursor}`);
    expect([...first.data, ...second.data]).toHaveLength(4);
    expect(second.next_cursor).toBeNull();
    const activity = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}/activity`, headers: asSession(s) }), 200);
    expect(activity.data).toHaveLength(4);
    expect((await q('')).data.every((e: any) => e.token_id === token.id)).toBe(true);
  });

  test('exports CSV with names escaped and spreadsheet formulas neutralised', async ({ app: h, owner }) => {
    const s = await ownerSession(h);
    const name = '=HYPERLINK("http://evil.example","x"),\n\u001b[31mred<b>';
    const { secret } = await createToken(h, asSession(s), { name, scopes: ['domains:read'] });
    await h.request({ method: 'GET', url: '/v1/domains', headers: { ...bearer(secret), 'user-agent': '@SUM(1+1)' } });
    await h.ctx.accessLog.flush();
    const response = await h.request({ method: 'GET', url: '/v1/access-logs?format=csv', headers: asSession(s) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toContain('attachment');
    const lines = response.body.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('at,token_id,token_name,method,route,path,status,ip,user_agent,duration_ms,error_code,request_summary');
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil.example"",""x""),\\n\\u001b[31mred<b>"`);
    expect(lines[1]).toContain(`'@SUM(1+1)`);
    expect(response.body).not.toContain('\u001b');
  });

  test('refuses account-wide logs to domain-constrained tokens', async ({ app: h, owner }) => {
    const domain = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: asSession(owner), payload: { name: 'logs.example.com' } }), 201).domain;
    const { secret } = await createToken(h, asSession(owner), { name: 'constrained', scopes: ['tokens:full'], domains: [domain.id] });
    expectError(await h.request({ method: 'GET', url: '/v1/access-logs', headers: bearer(secret) }), 403, 'forbidden');
    expectError(await h.request({ method: 'GET', url: '/v1/audit-log', headers: bearer(secret) }), 403, 'forbidden');
    const { secret: wide } = await createToken(h, asSession(owner), { name: 'wide', scopes: ['tokens:full'] });
    expectStatus(await h.request({ method: 'GET', url: '/v1/access-logs', headers: bearer(wide) }), 200);
  });

  test('counts what overflows its bounded queue in /metrics, and flushes on shutdown', async ({ app: h, owner }) => {
    const small = await startHarness({ LATCHKEY_ACCESS_LOG_MAX_QUEUE: '100', LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS: '60000' });
    try {
      const s = await ownerSession(small);
      const { secret } = await createToken(small, asSession(s), { name: 'flood', scopes: ['domains:read'] });
      for (let i = 0; i < 130; i += 1) await small.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
      expect(small.ctx.accessLog.dropped).toBe(30);
      expect((await small.request({ method: 'GET', url: '/metrics' })).body).toMatch(/^latchkey_access_log_dropped_total 30$/m);
      await small.app.close();
      await small.ctx.accessLog.stop();
      const rows = await small.store.db.selectFrom('access_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(rows.n)).toBe(100);
    } finally {
      await small.close().catch(() => undefined);
    }
  });

  test('purges entries older than the retention period', async ({ app: h, owner }) => {
    const { secret } = await createToken(h, asSession(owner), { name: 'old traffic', scopes: ['domains:read'] });
    await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    await h.ctx.accessLog.flush();
    const total = async () => Number((await h.store.db.selectFrom('access_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    expect(await total()).toBeGreaterThan(0);
    expect(await purgeAccessLogs(h.store.db, h.clock, 90)).toBe(0);
    h.clock.advance(91 * 86_400_000);
    expect(await purgeAccessLogs(h.store.db, h.clock, 90)).toBeGreaterThan(0);
    expect(await total()).toBe(0);
  });
});
