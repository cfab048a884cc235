import { test as base } from 'vitest';
import { ownerSession, type Session } from './actors.js';
import { startHarness, type Harness } from './harness.js';

interface PerTest {
  /** An account of its own for this test, and its owner signed in just now (fresh for re-auth). */
  owner: Session;
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
export const test = base.extend<{ $test: PerTest; $file: PerFile }>({
  app: [
    async ({}, use) => {
      const h = await startHarness();
      await use(h);
      await h.close();
    },
    { scope: 'file' },
  ],
  owner: async ({ app }, use) => use(await ownerSession(app)),
});
