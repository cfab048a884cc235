import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The tests mutation testing runs (`npm run mutation`): the unit tests of `src/core` and of the
 * rule modules of `src/services`, which need no database, no server and no network, so each
 * mutant is judged in well under a second.
 */
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/core/**/*.test.ts', 'test/services/**/*.test.ts', 'test/store/token-codec.test.ts'],
    testTimeout: 120_000,
    // Read by the tests that instrumented code, many times slower, would keep waiting: the
    // redactor's time budget is skipped and the digest map's growth test adds fewer digests.
    env: { LATCHKEY_MUTATION: '1' },
  },
});
