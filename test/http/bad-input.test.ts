import { describe, expect, it } from 'vitest';
import { asSession, createToken, expectError, expectStatus, operator, PASSWORD, type Session } from '../helpers/actors.js';
import type { Harness } from '../helpers/harness.js';
import { shareApp } from '../helpers/fixtures.js';

let h: Harness;
let owner: Session;
shareApp({ app: (app) => (h = app), owner: (signedIn) => (owner = signedIn) });

describe('malformed requests', () => {
  it.each([
    ['malformed JSON', { 'content-type': 'application/json' }, '{"name": "x", '],
    ['a JSON array', { 'content-type': 'application/json' }, '[1,2]'],
    ['a JSON string', { 'content-type': 'application/json' }, '"hello"'],
    ['text/plain', { 'content-type': 'text/plain' }, 'name=x'],
    ['form encoding', { 'content-type': 'application/x-www-form-urlencoded' }, 'name=x&scopes=domains:read'],
    ['an empty body', { 'content-type': 'application/json' }, ''],
    ['deep nesting', { 'content-type': 'application/json' }, `{"name":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ])('answers %s with 400 invalid_request in the error shape', async (_label, headers, payload) => {
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: { ...asSession(owner), ...headers }, payload }), 400, 'invalid_request');
  });

  it('answers an oversized body with 400, not 413 or a crash', async () => {
    const payload = JSON.stringify({ name: 'x', scopes: ['domains:read'], description: 'x'.repeat(2 * 1024 * 1024) });
    expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: { ...asSession(owner), 'content-type': 'application/json' }, payload }), 400, 'invalid_request');
  });

  it('answers unknown routes and ids with 404 in the error shape', async () => {
    expectError(await h.request({ method: 'GET', url: '/v1/nothing-here' }), 404, 'not_found');
    expectError(await h.request({ method: 'GET', url: `/v1/tokens/${'x'.repeat(65)}`, headers: asSession(owner) }), 400, 'invalid_request');
    expectError(await h.request({ method: 'GET', url: '/v1/tokens/tok_nonexistent', headers: asSession(owner) }), 404, 'not_found');
  });

  it('answers every request with its id, in the error body and in the log lines too', async () => {
    const ok = await h.request({ method: 'GET', url: '/healthz' });
    expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const refused = await h.request({ method: 'GET', url: '/v1/tokens/tok_nonexistent', headers: asSession(owner) });
    const id = refused.headers['x-request-id'];
    expect(refused.json().error.request_id).toBe(id);
    expect(h.logs.some((line) => line.includes(`"request_id":"${id}"`))).toBe(true);
    // A caller's own id is kept when it is plainly one; anything else is replaced.
    expect((await h.request({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-42.a:b' } })).headers['x-request-id']).toBe('trace-42.a:b');
    for (const given of ['has space', 'x'.repeat(65), '"quoted"', 'line\nbreak']) {
      expect((await h.request({ method: 'GET', url: '/healthz', headers: { 'x-request-id': given } })).headers['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    }
  });

  it('names the field for type errors in nested and query input', async () => {
    const err = expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'x', scopes: ['domains:read'], ip_allowlist: [42] } }), 400, 'invalid_request');
    expect(err.details?.field).toBe('ip_allowlist.0');
    expect(expectError(await h.request({ method: 'GET', url: '/v1/tokens?limit=abc', headers: asSession(owner) }), 400, 'invalid_request').details).toMatchObject({ field: 'limit', location: 'querystring' });
    for (const limit of ['1e309', '-1e309', 'Infinity']) {
      const refused = expectError(await h.request({ method: 'GET', url: `/v1/tokens?limit=${limit}`, headers: asSession(owner) }), 400, 'invalid_request');
      expect(refused.details).toMatchObject({ field: 'limit', location: 'querystring' });
    }
    expect(expectError(await h.request({ method: 'GET', url: '/v1/tokens?admin=1', headers: asSession(owner) }), 400, 'invalid_request').details?.field).toBe('admin');
  });

  it('refuses a page cursor no page handed out, rather than answering an empty or a first page', async () => {
    const { domain } = expectStatus(await h.request({ method: 'POST', url: '/v1/domains', headers: asSession(owner), payload: { name: `cursors-${Date.now()}.example.com` } }), 201);
    for (const url of ['/v1/tokens', '/v1/domains', '/v1/activity', '/v1/access-logs', `/v1/domains/${domain.id}/mailboxes`]) {
      for (const cursor of ['abc', 'zzzz', 'tok_short', 'tok_01ARZ3NDEKTSV4RRFFQ69G5FAI']) {
        expectError(await h.request({ method: 'GET', url: `${url}?cursor=${cursor}`, headers: asSession(owner) }), 400, 'invalid_request');
      }
    }
    const first = expectStatus(await h.request({ method: 'GET', url: '/v1/tokens?limit=1', headers: asSession(owner) }), 200);
    if (first.next_cursor) expectStatus(await h.request({ method: 'GET', url: `/v1/tokens?limit=1&cursor=${first.next_cursor}`, headers: asSession(owner) }), 200);
  });

  it('refuses an expiry on a day or at a time that does not exist, rather than rolling it over', async () => {
    for (const expires_at of ['2030-02-30T00:00:00Z', '2030-04-31T00:00:00Z', '2030-01-01T24:00:00Z', '2030-13-01T00:00:00Z', '2030-01-01']) {
      const err = expectError(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'x', scopes: ['domains:read'], expires_at } }), 400, 'invalid_request');
      expect(err.details?.field, expires_at).toBe('expires_at');
    }
    expectStatus(await h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { name: 'leap day', scopes: ['domains:read'], expires_at: '2032-02-29T12:00:00+02:00' } }), 201);
  });

  it('refuses names that would not read as stored, or show nothing, naming the field', async () => {
    const post = (payload: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/tokens', headers: asSession(owner), payload: { scopes: ['domains:read'], ...payload } });
    for (const name of ['ci-deploy-\u202edaer-ylno', 'a\u2066b\u2069', 'x\u200fy', '\u061cz', '\u202a']) {
      const err = expectError(await post({ name }), 400, 'invalid_request');
      expect(err.details?.field).toBe('name');
      expect(err.message).toMatch(/bidirectional/);
    }
    for (const name of ['\u200b', '\u3164', '\u2060', '\u00ad', '\u180e', '\u2800', ' \t\n', '\u200b\u200b\ufe0f', '\ufff9\ufffa\ufffb', '\ufffc', '\u0301', '\u{13430}\u{13431}', '\u{16fe4}', '\u{1d159}', '\u{e0041}', '\u0378']) {
      const err = expectError(await post({ name }), 400, 'invalid_request');
      expect(err.details?.field, JSON.stringify(name)).toBe('name');
      expect(err.message).toMatch(/visible/);
    }
    expect(expectError(await post({ name: 'ok', description: 'reads \u202eotherwise' }), 400, 'invalid_request').details?.field).toBe('description');
    const admin = (name: string) => h.request({ method: 'POST', url: '/admin/v1/accounts', headers: operator(h), payload: { name, plan: 'pro', owner: { email: `bidi-${Date.now()}@example.com`, password: PASSWORD } } });
    expect(expectError(await admin('Acme \u202e'), 400, 'invalid_request').details?.field).toBe('name');
    expect(expectError(await admin('\u3164'), 400, 'invalid_request').details?.field).toBe('name');
    const { token } = await createToken(h, asSession(owner), { name: 'العربية mixed עברית 名前', scopes: ['domains:read'] });
    expect(token.name).toBe('العربية mixed עברית 名前');
    expect(expectError(await h.request({ method: 'POST', url: `/v1/tokens/${token.id}/revoke`, headers: asSession(owner), payload: { reason: '\u202eleaked' } }), 400, 'invalid_request').details?.field).toBe('reason');
  });

  it('stores names with control characters and markup as given, and returns them as JSON text', async () => {
    const name = '<img src=x onerror=alert(1)>\u001b[31m\nnext';
    const { token } = await createToken(h, asSession(owner), { name, scopes: ['domains:read'] });
    expect(token.name).toBe(name);
    const fetched = await h.request({ method: 'GET', url: `/v1/tokens/${token.id}`, headers: asSession(owner) });
    expect(fetched.headers['content-type']).toMatch(/^application\/json/);
    expect(expectStatus(fetched, 200).token.name).toBe(name);
  });
});
