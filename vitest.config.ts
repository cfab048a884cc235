import { defineConfig } from 'vitest/config';

const shared = { testTimeout: 30_000, hookTimeout: 60_000, pool: 'forks' } as const;

/**
 * Two groups, run one after the other. The reliability tests hold a real process to a steady rate
 * (the soak) or kill one mid-load and count what survived; on two cores, running them beside the
 * rest of the suite measures the neighbours (a browser test or an Argon2 burst can starve the soak's
 * server for seconds), so they run last, one file at a time.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/reliability/**'], sequence: { groupOrder: 0 } } },
      { test: { ...shared, name: 'reliability', include: ['test/reliability/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
