import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/core/token-format.js';
import { asSession, bearer, createDomain, createToken, expectError, expectStatus, ownerSession, type Session } from '../helpers/actors.js';
import { DIALECT, startHarness, withHarness, type Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

describe('creating a token', () => {
  it('returns the secret once, in the spec format, with no-store, and stores only its hash', async () => {
    const response = await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'CI deploy', scopes: ['domains:read'] } });
    const body = expectStatus(response, 201);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(body.secret).toMatch(/^lk_live_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/);
    expect(body.token).toMatchObject({
      name: 'CI deploy', type: 'api', status: 'active', scopes: ['domains:read'], domains: null, ip_allowlist: null,
      visible_prefix: body.secret.slice(0, 'lk_live_'.length + 8), last4: body.secret.slice(-4), expires_at: null,
      created_by: { type: 'user', id: owner.userId, name: owner.email },
    });
    expect(JSON.stringify(body.token)).not.toContain(body.secret);

    const fetched = expectStatus(await h.request({ method: 'GET', url: `/v1/tokens/${body.token.id}`, headers: asSession(owner) }), 200).token;
    expect(JSON.stringify(fetched)).not.toContain(body.secret);
    expect(fetched).not.toHaveProperty('secret');
    expect(fetched).not.toHaveProperty('hash');

    const row = await h.store.db.selectFrom('tokens').selectAll().where('id', '=', body.token.id).executeTakeFirstOrThrow();
    expect(row.hash).toBe(hashSecret(body.secret));
    await h.ctx.usage.flush();
    // No column of any row holds the secret or a long piece of it...
    for (const table of ['tokens', 'audit_events', 'access_logs'] as const) {
      const rows = JSON.stringify(await h.store.db.selectFrom(table).selectAll().execute());
      expect(rows, table).not.toContain(body.secret.slice(8, 40));
    }
    // ...and on SQLite, no byte of the database files (main file and WAL) does either.
    if (DIALECT === 'sqlite') {
      const files = readdirSync(h.dir).map((f) => readFileSync(join(h.dir, f)).toString('latin1')).join('');
      expect(files.length).toBeGreaterThan(0);
      expect(files).not.toContain(body.secret);
      expect(files).not.toContain(body.secret.slice(8, 40));
    }
  });

  it('mints mcp tokens with their own prefix and scopes', async () => {
    const { secret, token } = await createToken(h, asSession(owner), { name: 'Claude', type: 'mcp', scopes: ['mcp:read', 'mcp:send'] });
    expect(secret).toMatch(/^lk_mcp_/);
    expect(token.scopes).toEqual(['mcp:read', 'mcp:send']);
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'x', type: 'mcp', scopes: ['domains:read'] } }), 400, 'invalid_request');
  });

  it('expands ["*"] to the strongest scope of every resource the plan allows', async () => {
    const { token } = await createToken(h, asSession(owner), { name: 'everything', scopes: ['*'] });
    expect(token.scopes).toContain('domains:full');
    expect(token.scopes).not.toContain('domains:read');
    expect(token.scopes).toContain('tokens:full');
    expect(token.effective_scopes).toContain('domains:read');
  });

  it('applies "requires" rules and drops scopes implied by others', async () => {
    const err = expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'x', scopes: ['submission:full'] } }), 400, 'invalid_request');
    expect(err.details).toMatchObject({ field: 'scopes', scope: 'submission:full', requires: 'messages:read' });
    const { token } = await createToken(h, asSession(owner), { name: 'sender', scopes: ['submission:full', 'messages:full', 'messages:read'] });
    expect(token.scopes).toEqual(['messages:full', 'submission:full']);
  });

  it('accepts expiry as a preset, any duration, a date, or never', async () => {
    const now = h.clock.now();
    const cases: [Record<string, unknown>, number | null][] = [
      [{ expires_in: '7d' }, now + 7 * 86_400_000],
      [{ expires_in: '90d' }, now + 90 * 86_400_000],
      [{ expires_in: '36h' }, now + 36 * 3_600_000],
      [{ expires_at: '2027-01-01T00:00:00Z' }, Date.parse('2027-01-01T00:00:00Z')],
      [{ expires_at: null }, null],
      [{ expires_in: 'never' }, null],
      [{}, null],
    ];
    for (const [expiry, expected] of cases) {
      const { token } = await createToken(h, asSession(owner), { name: 'expiring', scopes: ['domains:read'], ...expiry });
      expect(token.expires_at === null ? null : Date.parse(token.expires_at), JSON.stringify(expiry)).toBe(expected);
    }
  });

  it.each([
    [{ name: '', scopes: ['domains:read'] }, 'name'],
    [{ name: 'x'.repeat(101), scopes: ['domains:read'] }, 'name'],
    [{ name: 'x', description: 'd'.repeat(1001), scopes: ['domains:read'] }, 'description'],
    [{ name: 'x', scopes: [] }, 'scopes'],
    [{ name: 'x', scopes: ['domains:write'] }, 'scopes'],
    [{ name: 'x', scopes: 'domains:read' }, 'scopes'],
    [{ name: 'x', scopes: ['domains:read'], ip_allowlist: ['10.0.0.300'] }, 'ip_allowlist'],
    [{ name: 'x', scopes: ['domains:read'], ip_allowlist: ['10.0.0.0/33'] }, 'ip_allowlist'],
    [{ name: 'x', scopes: ['domains:read'], expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
    [{ name: 'x', scopes: ['domains:read'], expires_at: 'tomorrow' }, 'expires_at'],
    [{ name: 'x', scopes: ['domains:read'], expires_in: '7 days' }, 'expires_in'],
    [{ name: 'x', scopes: ['domains:read'], expires_in: '7d', expires_at: '2030-01-01T00:00:00Z' }, 'expires_in'],
    [{ name: 'x', scopes: ['domains:read'], domains: ['dom_nonexistent'] }, 'domains'],
    [{ name: 'x', scopes: ['domains:read'], domains: [] }, 'domains'],
    [{ name: 'x', scopes: ['domains:read'], account_id: 'acc_other' }, 'account_id'],
    [{ name: 'x', scopes: ['domains:read'], hash: 'abc' }, 'hash'],
    [{ name: 'x', scopes: ['domains:read'], status: 'active' }, 'status'],
    [{ name: 'x', scopes: ['domains:read'], created_by: 'me' }, 'created_by'],
    [{ name: 'x', scopes: ['domains:read'], type: 'root' }, 'type'],
  ])('refuses bad input %j with 400 naming %s, and writes nothing', async (payload, field) => {
    const before = await h.store.db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const err = expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload }), 400, 'invalid_request');
    expect(err.details?.field).toBe(field);
    const after = await h.store.db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('refuses a scope the plan lacks with plan_restricted, and any token on a plan without API access', async () => {
    const starter = await ownerSession(h, 'starter');
    const err = expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(starter), payload: { name: 'x', scopes: ['domains:full'] } }), 403, 'plan_restricted');
    expect(err.details).toMatchObject({ scope: 'domains:full', plan: 'starter', unlocked_by: 'pro' });
    const { token } = await createToken(h, asSession(starter), { name: 'reader', scopes: ['*'] });
    expect(token.scopes).toContain('domains:read');
    expect(token.scopes.every((s: string) => s.endsWith(':read') || s.startsWith('email_verification:'))).toBe(true);

    const nano = await ownerSession(h, 'nano');
    const { token: nanoToken } = await createToken(h, asSession(nano), { name: 'verify', scopes: ['*'] });
    expect(nanoToken.scopes).toEqual(['email_verification:full']);

    const basic = await ownerSession(h, 'basic');
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(basic), payload: { name: 'x', scopes: ['domains:read'] } }), 403, 'plan_restricted');
  });
});

describe('listing tokens', () => {
  it('filters by domain: the tokens whose constraint names it, not those of every domain', async () => {
    const me = await ownerSession(h);
    const auth = asSession(me);
    const shop = await createDomain(h, auth, 'shop.example.com');
    const blog = await createDomain(h, auth, 'blog.example.com');
    const both = await createToken(h, auth, { name: 'both', scopes: ['domains:read'], domains: [shop.id, blog.id] });
    await createToken(h, auth, { name: 'everywhere', scopes: ['domains:read'] });
    const names = async (id: string) => (expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?domain_id=${id}`, headers: auth }), 200).data as { name: string }[]).map((t) => t.name).sort();
    expect(await names(shop.id)).toEqual(['both', 'shop.example.com token 1']);
    expect(await names(blog.id)).toEqual(['blog.example.com token 1', 'both']);
    expect(await names('dom_%')).toEqual([]);
    expect(both.token.domains).toHaveLength(2);
  });

  it('filters by status, type and text, and pages with a cursor', async () => {
    const me = await ownerSession(h);
    const auth = asSession(me);
    const made = [];
    for (let i = 0; i < 5; i += 1) made.push((await createToken(h, auth, { name: `batch ${i}`, scopes: ['domains:read'] })).token);
    await createToken(h, auth, { name: 'agent', type: 'mcp', scopes: ['mcp:read'] });
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${made[0].id}/revoke`, headers: auth, payload: {} }), 200);
    await createToken(h, auth, { name: 'short-lived', scopes: ['domains:read'], expires_in: '1h' });
    h.clock.advance(2 * 3_600_000);

    const list = async (query: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?${query}`, headers: auth }), 200);
    expect((await list('status=revoked')).data.map((t: any) => t.id)).toEqual([made[0].id]);
    expect((await list('status=expired')).data.map((t: any) => t.name)).toEqual(['short-lived']);
    expect((await list('status=active')).data).toHaveLength(5);
    expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${made[1].id}/pause`, headers: auth, payload: {} }), 200);
    // Live: active and paused, neither revoked nor expired.
    expect((await list('status=live')).data.map((t: any) => t.status).sort()).toEqual(['active', 'active', 'active', 'active', 'paused']);
    expect((await list('status=active')).data).toHaveLength(4);
    expect((await list('type=mcp')).data.map((t: any) => t.name)).toEqual(['agent']);
    expect((await list('q=BATCH')).data).toHaveLength(5);
    expect((await list('q=50%25')).data).toHaveLength(0);

    const first = await list('limit=2');
    expect(first.data).toHaveLength(2);
    const second = await list(`limit=2&cursor=${first.next_cursor}`);
    const rest = await list(`limit=100&cursor=${second.next_cursor}`);
    const ids = [...first.data, ...second.data, ...rest.data].map((t: any) => t.id);
    expect(new Set(ids).size).toBe(7);
    expect(rest.next_cursor).toBeNull();
    expectError(await h.request({ method: 'GET', url: '/v1/tokens?limit=1000', headers: auth }), 400, 'invalid_request');
    expectError(await h.request({ method: 'GET', url: '/v1/tokens?status=sleeping', headers: auth }), 400, 'invalid_request');
  });

  it('finds names in any script whatever their case, on either store', async () => {
    const auth = asSession(await ownerSession(h));
    for (const name of ['Équipe Déploiement', 'ΔΕΛΤΑ sync', 'plain']) await createToken(h, auth, { name, scopes: ['domains:read'] });
    const names = async (q: string) => expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?q=${encodeURIComponent(q)}`, headers: auth }), 200).data.map((t: any) => t.name);
    for (const q of ['équipe', 'ÉQUIPE', 'déploie']) expect(await names(q)).toEqual(['Équipe Déploiement']);
    for (const q of ['δέλτα', 'δελτα', 'ΔΕΛΤΑ']) expect(await names(q)).toEqual(q === 'δέλτα' ? [] : ['ΔΕΛΤΑ sync']);
  });
});

describe('changing a token', () => {
  // The listing test moves the clock past the re-auth window; sign in afresh.
  beforeAll(async () => {
    owner = await ownerSession(h);
  });

  it('edits name, description, allowlist and expiry, and records what changed', async () => {
    const { token } = await createToken(h, asSession(owner), { name: 'before', scopes: ['domains:read'] });
    const patched = expectStatus(await h.request({
      method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner),
      payload: { name: 'after', description: 'nightly job', ip_allowlist: ['192.0.2.0/24', '2001:db8::1'], expires_in: '30d' },
    }), 200).token;
    expect(patched).toMatchObject({ name: 'after', description: 'nightly job', ip_allowlist: ['192.0.2.0/24', '2001:db8::1'] });
    expect(Date.parse(patched.expires_at)).toBe(h.clock.now() + 30 * 86_400_000);
    const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.updated', headers: asSession(owner) }), 200);
    expect(audit.data[0].details.changes.name).toEqual({ from: 'before', to: 'after' });
  });

  it('edits scopes unless the deployment switches scope edits off', async () => {
    const { token } = await createToken(h, asSession(owner), { name: 'scoped', scopes: ['domains:read'] });
    const patched = expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { scopes: ['domains:full'] } }), 200);
    expect(patched.token.scopes).toEqual(['domains:full']);

    const locked = await startHarness({ LATCHKEY_ALLOW_SCOPE_EDITS: 'false' });
    try {
      const s = await ownerSession(locked);
      const { token: t } = await createToken(locked, asSession(s), { name: 'fixed', scopes: ['domains:read'] });
      const err = expectError(await locked.request({ method: 'PATCH', url: `/v1/tokens/${t.id}`, headers: asSession(s), payload: { scopes: ['domains:full'] } }), 403, 'forbidden');
      expect(err.details?.field).toBe('scopes');
      expectStatus(await locked.request({ method: 'PATCH', url: `/v1/tokens/${t.id}`, headers: asSession(s), payload: { name: 'renamed' } }), 200);
    } finally {
      await locked.close();
    }
  });

  it('revokes immediately and permanently: the next request is 401 token_revoked', async () => {
    const domain = await createDomain(h, asSession(owner));
    const { token, secret } = await createToken(h, asSession(owner), { name: 'doomed', scopes: ['domains:read'] });
    expectStatus(await h.request({ method: 'GET', url: `/v1/domains/${domain.id}`, headers: bearer(secret) }), 200);
    const revoked = expectStatus(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(owner), payload: { reason: 'leaked in a gist' } }), 200);
    expect(revoked.token).toMatchObject({ status: 'revoked', revoke_reason: 'leaked in a gist' });
    expectError(await h.request({ method: 'GET', url: `/v1/domains/${domain.id}`, headers: bearer(secret) }), 401, 'token_revoked');
    // Terminal: a new name is all it still takes; nothing that would make it work again.
    expectStatus(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { name: 'zombie' } }), 200);
    expectError(await h.request({ method: 'PATCH', url: `/v1/tokens/${token.id}`, headers: asSession(owner), payload: { scopes: ['domains:full'] } }), 409, 'conflict');
    expectError(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(owner), payload: {} }), 409, 'conflict');
    expectError(await h.request({ method: 'GET', url: `/v1/domains/${domain.id}`, headers: bearer(secret) }), 401, 'token_revoked');
  });

  it('deletes: gone from lists and lookups, refused on use, kept in the audit log', async () => {
    const { token, secret } = await createToken(h, asSession(owner), { name: 'to delete', scopes: ['domains:read'] });
    const response = await h.request({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: asSession(owner) });
    expect(response.statusCode).toBe(204);
    expectError(await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: asSession(owner) }), 404, 'not_found');
    const all = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?limit=100', headers: asSession(owner) }), 200);
    expect(all.data.map((t: any) => t.id)).not.toContain(token.id);
    expectError(await h.request({ method: 'GET', url: '/v1/domains', headers: bearer(secret) }), 401, 'token_revoked');
    const audit = expectStatus(await h.request({ method: 'GET', url: '/v1/audit-log?action=token.deleted', headers: asSession(owner) }), 200);
    expect(audit.data.map((e: any) => e.target.id)).toContain(token.id);
  });
});

describe('bounds on volume', () => {
  it('caps live tokens per account and below each token, with a 409 that names the limit; a revoked token frees its place', async () => {
    await withHarness({ LATCHKEY_MAX_TOKENS_PER_ACCOUNT: '4', LATCHKEY_MAX_DESCENDANTS_PER_TOKEN: '2' }, async (capped) => {
      const s = asSession(await ownerSession(capped));
      const parent = await createToken(capped, s, { name: 'parent', scopes: ['tokens:full', 'domains:read'] });
      const mint = (secret: string) => capped.request({ method: 'POST', url: '/v1/tokens', headers: bearer(secret), payload: { name: 'child', scopes: ['tokens:full', 'domains:read'] } });
      const child = expectStatus(await mint(parent.secret), 201);
      expectStatus(await mint(parent.secret), 201);
      // Two live tokens below the parent: neither it nor its child may mint another.
      expect(expectError(await mint(parent.secret), 409, 'conflict').details).toMatchObject({ limit: 'descendants_per_token', max: 2 });
      expect(expectError(await mint(child.secret), 409, 'conflict').details).toMatchObject({ limit: 'descendants_per_token' });
      await createToken(capped, s, { name: 'fourth', scopes: ['domains:read'] });
      expect(expectError(await capped.request({ method: 'POST', url: '/v1/tokens', headers: s, payload: { name: 'fifth', scopes: ['domains:read'] } }), 409, 'conflict').details)
        .toMatchObject({ limit: 'tokens_per_account', max: 4 });
      expectStatus(await capped.request({ method: 'POST', url: `/v1/tokens/${child.token.id}/revoke`, headers: s, payload: {} }), 200);
      expectStatus(await capped.request({ method: 'POST', url: '/v1/tokens', headers: s, payload: { name: 'fifth', scopes: ['domains:read'] } }), 201);
    });
  });
});
