import { describe, expect, it } from 'vitest';
import { mintSecret } from '../../src/core/token-format.js';
import { asSession, bearer, createDomain, createToken, expectError, expectStatus, operator, ownerSession, type Session } from '../helpers/actors.js';
import { startHarness, whileUnreachable, withHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

const verify = (payload: Record<string, unknown>, headers: Record<string, string> = operator(h)) => h.request({ method: 'POST', url: '/v1/verify', headers, payload });

describe('POST /v1/verify', () => {
  it('needs the operator credential', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'self', scopes: ['*'] });
    expectError(await verify({ token: secret }, bearer(secret)), 401, 'unauthorized');
    expectError(await verify({ token: secret }, {}), 401, 'unauthorized');
  });

  it('answers valid with the token’s effective access, or invalid with the spec’s code', async () => {
    const domain = await createDomain(h, asSession(owner));
    const { secret, token } = await createToken(h, asSession(owner), { name: 'svc', scopes: ['domains:read', 'submission:full', 'messages:read'], domains: [domain.id], ip_allowlist: ['198.51.100.0/24'] });
    const ok = expectStatus(await verify({ token: secret, scope: 'domains:read', domain: domain.id, ip: '198.51.100.20' }), 200);
    expect(ok).toEqual({
      valid: true,
      token: { id: token.id, account_id: owner.accountId, name: 'svc', type: 'api', scopes: expect.arrayContaining(['domains:read', 'submission:full']), domains: [domain.id], mailbox_id: null, expires_at: null },
    });
    expect(expectStatus(await verify({ token: secret, scope: 'domains:full', ip: '198.51.100.20' }), 200)).toEqual({ valid: false, code: 'insufficient_scope' });
    expect(expectStatus(await verify({ token: secret, scope: 'domains:read', ip: '192.0.2.1' }), 200)).toEqual({ valid: false, code: 'ip_not_allowed' });
    expect(expectStatus(await verify({ token: secret, domain: 'dom_other', ip: '198.51.100.20' }), 200)).toEqual({ valid: false, code: 'not_found' });
    expect(expectStatus(await verify({ token: 'lk_live_garbage' }), 200)).toEqual({ valid: false, code: 'unauthorized' });
    await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(owner), payload: {} });
    expect(expectStatus(await verify({ token: secret, ip: '198.51.100.20' }), 200)).toEqual({ valid: false, code: 'token_revoked' });
  });
});

describe('the verify cache', () => {
  it('decides a cached token from memory: the same answers while the database is unreachable', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'hot', scopes: ['domains:read'] });
    const allowed = expectStatus(await verify({ token: secret, scope: 'domains:read' }), 200);
    expect(allowed.valid).toBe(true);
    await whileUnreachable(h, async () => {
      for (let i = 0; i < 5; i += 1) {
        expect(expectStatus(await verify({ token: secret, scope: 'domains:read' }), 200)).toEqual(allowed);
        expect(expectStatus(await verify({ token: secret, scope: 'domains:full' }), 200)).toEqual({ valid: false, code: 'insufficient_scope' });
      }
    });
  });

  it('never caches what another request has written but not committed', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'mid-change', scopes: ['domains:read'] });
    let answer: Promise<Awaited<ReturnType<typeof verify>>> | undefined;
    await h.store.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('tokens').set({ revoked_at: Date.now() }).where('id', '=', token.id).execute();
        answer = verify({ token: secret, scope: 'domains:read' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(expectStatus(await answer!, 200).valid).toBe(true);
    expect(expectStatus(await verify({ token: secret, scope: 'domains:read' }), 200).valid).toBe(true);
  });

  it('rejects a token with a bad checksum before the store or the negative cache is asked, and remembers unknown hashes', async () => {
    const real = mintSecret('lk', 'live').secret;
    const typo = real.slice(0, 20) + (real[20] === 'a' ? 'b' : 'a') + real.slice(21);
    const domains = (secret: string) => h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    // Refused as it is, with no store to ask.
    await whileUnreachable(h, async () => expectError(await domains(typo), 401, 'unauthorized'));

    // Well formed but never issued: looked up once, then refused from memory while it is remembered.
    expectError(await domains(real), 401, 'unauthorized');
    await whileUnreachable(h, async () => {
      for (let i = 0; i < 5; i += 1) expectError(await domains(real), 401, 'unauthorized');
    });
    const metrics = (await h.request({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/latchkey_token_lookups_total\{outcome="malformed"\} [1-9]/);
    expect(metrics).toMatch(/latchkey_token_lookups_total\{outcome="negative_hit"\} [5-9]/);
    expect(metrics).toMatch(/latchkey_token_lookups_total\{outcome="hit"\} [1-9]/);
  });

  it('counts every decision once in /metrics, however often it is scraped', async () => {
    const { secret } = await createToken(h, asSession(owner), { name: 'counted', scopes: ['domains:read'] });
    const scrape = async () => {
      const body = (await h.request({ method: 'GET', url: '/metrics' })).body;
      const count = (pattern: RegExp) => Number(pattern.exec(body)?.[1] ?? 0);
      return { ok: count(/^latchkey_decisions_total\{result="ok"\} (\d+)$/m), scope: count(/^latchkey_decisions_total\{result="insufficient_scope"\} (\d+)$/m) };
    };
    const before = await scrape();
    for (let i = 0; i < 3; i += 1) expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    expectError(await h.request({ method: 'GET', url: '/v1/activity', headers: bearer(secret) }), 403, 'insufficient_scope');
    expect(await scrape()).toEqual({ ok: before.ok + 3, scope: before.scope + 1 });
    expect(await scrape()).toEqual({ ok: before.ok + 3, scope: before.scope + 1 });
  });

  it('decides a cached token without a rate limit synchronously, and waits for a rate limit', async () => {
    const plain = await createToken(h, asSession(owner), { name: 'sync', scopes: ['domains:read'] });
    const limited = await createToken(h, asSession(owner), { name: 'limited', scopes: ['domains:read'], rate_limit: { requests: 100, per: '1m' } });
    const ask = { scope: 'domains:read', ip: '203.0.113.9', audience: null };
    // The first use reads the store: synchronously on SQLite, with a promise on PostgreSQL.
    expect((await h.ctx.gate.check(plain.secret, ask)).denial).toBeNull();
    const cached = h.ctx.gate.check(plain.secret, ask);
    expect(cached).not.toBeInstanceOf(Promise);
    expect(cached).toMatchObject({ grant: { id: plain.token.id }, denial: null });
    await h.ctx.gate.check(limited.secret, ask);
    const counted = h.ctx.gate.check(limited.secret, ask);
    expect(counted).toBeInstanceOf(Promise);
    expect((await counted).denial).toBeNull();
  });

  it('is invalidated by every change: patch, revoke, delete and plan change take effect on the next request', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'changing', scopes: ['domains:read', 'activity:read'] });
    const use = (url = '/v1/activity') => h.request({ method: 'GET', url, headers: bearer(secret) });
    expectStatus(await use(), 200);
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { scopes: ['domains:read'] } }), 200);
    expectError(await use(), 403, 'insufficient_scope');
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { ip_allowlist: ['192.0.2.1'] } }), 200);
    expectError(await use('/v1/domains'), 403, 'ip_not_allowed');
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { ip_allowlist: null } }), 200);
    expectStatus(await use('/v1/domains'), 200);
    expect((await h.request({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: asSession(owner) })).statusCode).toBe(204);
    expectError(await use('/v1/domains'), 401, 'token_revoked');
  });
});

describe('the cache’s bound', () => {
  it('holds at most LATCHKEY_VERIFY_CACHE_MAX_TOKENS tokens; one that was dropped is read again and still decided right', async () => {
    await withHarness({ LATCHKEY_VERIFY_CACHE_MAX_TOKENS: '3' }, async (small) => {
      const smallOwner = await ownerSession(small);
      const tokens = [];
      for (let i = 0; i < 12; i += 1) tokens.push(await createToken(small, asSession(smallOwner), { name: `bounded ${i}`, scopes: ['domains:read'] }));
      const use = (secret: string) => small.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
      for (const { secret } of tokens) expectStatus(await use(secret), 200);
      expect(small.ctx.verifier.size).toBe(3);

      // Only what is held can be decided without the store: three tokens, the others need it.
      const secrets = tokens.map(({ secret }) => secret);
      const verified = await whileUnreachable(small, async () => {
        const statuses: number[] = [];
        for (const secret of secrets) statuses.push((await small.request({ method: 'POST', url: '/v1/verify', headers: operator(small), payload: { token: secret } })).statusCode);
        return statuses;
      });
      expect(verified.filter((status) => status === 200)).toHaveLength(3);
      for (const { secret } of tokens) expectStatus(await use(secret), 200);
      expect(small.ctx.verifier.size).toBe(3);

      await small.request({ method: 'POST', url: `/v1/tokens/${tokens[0]!.token.id}/revoke`, headers: asSession(smallOwner), payload: {} });
      expectError(await use(tokens[0]!.secret), 401, 'token_revoked');
    });
  });
});

describe('the cache’s maximum age', () => {
  it('re-reads a cached token after LATCHKEY_VERIFY_CACHE_MAX_AGE_MS, even if no invalidation arrived', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'missed notice', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    // A change this node never hears about, as when another node's notice is lost.
    await h.store.db.updateTable('tokens').set({ revoked_at: h.clock.now() }).where('id', '=', token.id).execute();
    expectStatus(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 200);
    h.clock.advance(60_001);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 401, 'token_revoked');
  });
});

describe('last use', () => {
  it('is visible at once, written in one batch per interval rather than per request, and moves only forward', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'used', scopes: ['domains:read'] });
    const get = () => h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: asSession(owner) });
    const stored = () => h.store.db.selectFrom('tokens').select(['first_used_at', 'last_used_at', 'last_used_ip']).where('id', '=', token.id).executeTakeFirstOrThrow();
    const use = async () => {
      expect(expectStatus(await verify({ token: secret, scope: 'domains:read', ip: '127.0.0.9' }), 200).valid).toBe(true);
      h.clock.advance(1000);
    };
    expect(expectStatus(await get(), 200).token).toMatchObject({ first_used_at: null, last_used_at: null });
    const firstAt = new Date(h.clock.now()).toISOString();
    await use();
    // No use waits for a write: the others are answered with the database unreachable.
    await whileUnreachable(h, async () => {
      for (let i = 0; i < 19; i += 1) await use();
    });
    const lastAt = new Date(h.clock.now() - 1000).toISOString();
    expect(expectStatus(await get(), 200).token).toMatchObject({ first_used_at: firstAt, last_used_at: lastAt, last_used_ip: '127.0.0.9' });
    // Seen, and not yet written: the row waits for the interval's flush.
    expect(await stored()).toEqual({ first_used_at: null, last_used_at: null, last_used_ip: null });

    await h.ctx.usage.flush();
    expect(await stored()).toEqual({ first_used_at: Date.parse(firstAt), last_used_at: Date.parse(lastAt), last_used_ip: '127.0.0.9' });

    // A late flush from another node with an older use does not move last use backwards.
    const later = Date.parse('2099-01-01T00:00:00.000Z');
    await h.store.db.updateTable('tokens').set({ last_used_at: later }).where('id', '=', token.id).execute();
    await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    await h.ctx.usage.flush();
    const after = await h.store.db.selectFrom('tokens').select(['last_used_at', 'first_used_at']).where('id', '=', token.id).executeTakeFirstOrThrow();
    expect(after).toEqual({ last_used_at: later, first_used_at: Date.parse(firstAt) });
    expect((await h.store.db.selectFrom('tokens').select('last_used_ip').where('id', '=', token.id).executeTakeFirstOrThrow()).last_used_ip).toBe('127.0.0.9');
  });

  it('is flushed on shutdown', async () => {
    const other = await startHarness();
    const s = await ownerSession(other);
    const { secret, token } = await createToken(other, asSession(s), { name: 'flush on close', scopes: ['domains:read'] });
    await other.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) });
    await other.app.close();
    await other.ctx.usage.stop();
    const row = await other.store.db.selectFrom('tokens').select('last_used_at').where('id', '=', token.id).executeTakeFirstOrThrow();
    expect(row.last_used_at).not.toBeNull();
    await other.close().catch(() => undefined);
  });
});
