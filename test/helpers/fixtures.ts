import { afterAll, beforeAll, beforeEach, test as base } from 'vitest';
import { asSession, createToken, ownerSession, type Session } from './actors.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

/** A token whose secret a test puts where it does not belong. */
export interface Victim {
  token: { id: string; visible_prefix: string };
  secret: string;
}

interface PerTest {
  /** An account of its own for this test, and its owner signed in just now (fresh for re-auth). */
  owner: Session;
  /** A token of that owner's (domains:read only), made for this test. */
  victim: Victim;
}

interface PerFile {
  /** One app per file (on a real SQLite file or PostgreSQL schema), closed and searched for secrets at the end. */
  app: Harness;
}

/**
 * Tests that share an app but not an account: each test gets its own owner, signed in at its
 * start, so no test depends on what an earlier one did to a session, a clock or a counter, and the
 * file passes in any order.
 */
export const test = testOn({});

/** The same tests, on an app started with these settings (for a file that needs, say, no periodic flush). */
export function testOn(env: Record<string, string>) {
  return base.extend<{ $test: PerTest; $file: PerFile }>({
    app: [
      async ({}, use) => {
        const h = await startHarness(env);
        await use(h);
        await h.close();
      },
      { scope: 'file' },
    ],
    owner: async ({ app }, use) => use(await ownerSession(app)),
    victim: async ({ app, owner }, use) => use(await createToken(app, asSession(owner), { name: 'victim', scopes: ['domains:read'] })),
  });
}

/**
 * The same sharing for a file whose helpers close over the app and the owner rather than taking
 * them from each test: `app` is handed the app before the file's first test (closed after its
 * last), and `owner`, when given, a new account's owner signed in before each test, for the same
 * reason as above.
 */
export function shareApp(set: { app: (h: Harness) => void; owner?: (owner: Session) => unknown; listening?: (base: string) => void; options?: HarnessOptions }): void {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, set.options);
    set.app(h);
    // For clients that need a real socket (the MCP SDK's), the app also listens on loopback.
    if (set.listening) set.listening(await h.app.listen({ port: 0, host: '127.0.0.1' }));
  });
  if (set.owner) beforeEach(async () => void (await set.owner!(await ownerSession(h))));
  afterAll(() => h.close());
}
