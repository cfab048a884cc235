/**
 * Latchkey's in-process verification against better-auth's api-key plugin, the library a
 * TypeScript team would reach for instead, on the same file system in the same process.
 * better-auth runs in its best configuration: its rate limit off and `deferUpdates` on, so its
 * bookkeeping write happens after the answer (each round still waits for those writes to finish,
 * or they would pile up unmeasured).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiKey } from '@better-auth/api-key';
import SqliteDatabase from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { log, opsPerSecond, opsPerSecondAsync, report } from './lib/measure.js';
import { benchVerifier, decideCached, seedTokenStore } from './lib/token-store.js';

const KEYS = 1_000;
const PEER_ITERATIONS = 2_000;

const ours = await seedTokenStore(KEYS);
const verifier = benchVerifier(ours.db, KEYS);
const latchkey = opsPerSecond((i) => decideCached(verifier, ours.secrets[i % KEYS]!), 300_000);

const sqlite = new SqliteDatabase(join(ours.dir, 'better-auth.db'));
sqlite.pragma('journal_mode = WAL');
const background = new Set<Promise<unknown>>();
const auth = betterAuth({
  database: sqlite,
  secret: randomBytes(32).toString('hex'),
  baseURL: 'http://127.0.0.1',
  telemetry: { enabled: false },
  logger: { level: 'error' },
  emailAndPassword: { enabled: true },
  advanced: {
    backgroundTasks: {
      handler: (task: Promise<unknown>) => {
        background.add(task);
        void task.finally(() => background.delete(task));
      },
    },
  },
  plugins: [apiKey({ rateLimit: { enabled: false }, deferUpdates: true })],
});
await (await getMigrations(auth.options)).runMigrations();
const { user } = await auth.api.signUpEmail({ body: { email: 'bench@example.com', password: randomBytes(12).toString('hex'), name: 'bench' } });
log(`creating ${KEYS} better-auth keys`);
const keys: string[] = [];
for (let i = 0; i < KEYS; i += 1) keys.push((await auth.api.createApiKey({ body: { userId: user.id } })).key);

const peer = await opsPerSecondAsync(
  async (i) => {
    const result = await auth.api.verifyApiKey({ body: { key: keys[i % KEYS]! } });
    if (!result.valid) throw new Error('better-auth refused its own key');
  },
  PEER_ITERATIONS,
  3,
  () => Promise.all(background),
);
log(`latchkey ${Math.round(latchkey)}/s, better-auth ${Math.round(peer)}/s`);
sqlite.close();
await ours.db.destroy();
rmSync(ours.dir, { recursive: true, force: true });
report({ peer_better_auth_ratio: Math.round(latchkey / peer) }, [
  `better-auth 1.7.5 api-key verifyApiKey: ${Math.round(peer).toLocaleString('en')}/s; Latchkey in-process verify: ${Math.round(latchkey).toLocaleString('en')}/s (${KEYS} keys each, SQLite with WAL)`,
]);
