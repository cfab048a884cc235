/**
 * A bounded soak: a real process on the store under test takes mixed traffic at a steady rate for
 * LATCHKEY_SOAK_SECONDS (default 180) and then stops by itself. Every answer must be the expected
 * one (refusals included), nothing may fail or time out, and the heap must stay flat. Used heap
 * between collections is mostly garbage, so what is compared is its floor: the lowest sample of
 * the last third against the lowest of the first, within 25 MB. The server also runs with old
 * space capped at 160 MB, so a leak of any size that matters ends the soak with a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { mintSecret } from '../../src/core/token-format.js';
import { PASSWORD } from '../helpers/actors.js';
import { call, processStore, signUpOwner, startService } from '../helpers/process.js';

const SECONDS = Number(process.env.LATCHKEY_SOAK_SECONDS ?? 180);
const RATE_PER_SECOND = 200;
/**
 * Five seconds of backlog. The soak shares two cores with the rest of the suite, so a stall of a
 * second happens (seen once on PostgreSQL, during the crash tests); that is reported, not failed.
 * A backlog this deep means the server stopped answering.
 */
const MAX_IN_FLIGHT = 1000;
const OPERATOR = 'soak-operator-token-0123456789abcdefghijklmno';


it(`stays correct and flat under ${SECONDS} s of mixed traffic at ${RATE_PER_SECOND} requests/s`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-soak-'));
  const store = await processStore(dir);
  const server = await startService(dir, { ...store.env, LATCHKEY_ADMIN_TOKEN: OPERATOR, LATCHKEY_DEMO_ACCOUNT: 'false' }, undefined, ['--max-old-space-size=160']);
  const operator = { authorization: `Bearer ${OPERATOR}` };
  try {
    const session = await signUpOwner(server.base, OPERATOR, PASSWORD);
    const reader = (await call(server.base, 'POST', '/v1/tokens', { name: 'reader', scopes: ['domains:read'] }, session)).body.secret as string;

    /** Each kind of request, and the one status it must get. */
    const mix: (() => Promise<boolean>)[] = [
      async () => (await call(server.base, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${reader}` })).status === 200,
      async () => (await call(server.base, 'POST', '/v1/verify', { token: reader, scope: 'domains:read' }, operator)).body.valid === true,
      async () => (await call(server.base, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${mintSecret('lk', 'live').secret}` })).status === 401,
      async () => (await call(server.base, 'POST', '/v1/domains', {}, { authorization: `Bearer ${reader}` })).status === 403,
      async () => {
        const created = await call(server.base, 'POST', '/v1/tokens', { name: 'churn', scopes: ['domains:read'] }, session);
        if (created.status !== 201) return false;
        const used = await call(server.base, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${created.body.secret}` });
        const revoked = await call(server.base, 'POST', `/v1/tokens/${created.body.token.id}/revoke`, {}, session);
        const refused = await call(server.base, 'GET', '/v1/domains', undefined, { authorization: `Bearer ${created.body.secret}` });
        return used.status === 200 && revoked.status === 200 && refused.status === 401;
      },
      async () => (await call(server.base, 'GET', '/v1/access-logs?limit=20', undefined, session)).status === 200,
      async () => (await call(server.base, 'GET', '/v1/tokens?limit=20', undefined, session)).status === 200,
    ];

    const heap: number[] = [];
    const sampleHeap = async () => {
      const metrics = await (await fetch(`${server.base}/metrics`)).text();
      heap.push(Number(/^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(metrics)![1]));
    };

    let sent = 0;
    let wrong = 0;
    let failed = 0;
    let skipped = 0;
    let inFlight = 0;
    let peakInFlight = 0;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = (Date.now() - started) / 1000;
        if (elapsed >= SECONDS) {
          clearInterval(tick);
          const drain = setInterval(() => inFlight === 0 && (clearInterval(drain), resolve()), 20);
          return;
        }
        // Steady: as many as the clock says should have been sent by now.
        while (sent + skipped < elapsed * RATE_PER_SECOND) {
          if (inFlight >= MAX_IN_FLIGHT) {
            skipped += 1;
            continue;
          }
          const request = mix[(sent + skipped) % mix.length]!;
          sent += 1;
          inFlight += 1;
          peakInFlight = Math.max(peakInFlight, inFlight);
          request().then(
            (ok) => (wrong += ok ? 0 : 1),
            () => (failed += 1),
          ).finally(() => (inFlight -= 1));
        }
      }, 10);
      const sampler = setInterval(() => (Date.now() - started) / 1000 >= SECONDS ? clearInterval(sampler) : void sampleHeap(), 3000);
    });
    await sampleHeap();

    const third = Math.max(1, Math.floor(heap.length / 3));
    const before = Math.min(...heap.slice(0, third));
    const after = Math.min(...heap.slice(-third));
    const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
    console.info(`soak: ${sent} requests in ${SECONDS} s (${Math.round(sent / SECONDS)}/s), ${wrong} wrong answers, ${failed} failures, ${skipped} skipped (peak ${peakInFlight} in flight); heap floor ${mb(before)} MB → ${mb(after)} MB, peak ${mb(Math.max(...heap))} MB`);
    expect({ wrong, failed, skipped }).toEqual({ wrong: 0, failed: 0, skipped: 0 });
    expect(after - before).toBeLessThan(25 * 1048576);
  } finally {
    await server.stop();
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}, (SECONDS + 60) * 1000);
