// Mutation testing of the rules (`npm run mutation`, see docs/testing.md): not part of `npm test`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'scripts/mutation.vitest.config.ts' },
  mutate: [
    'src/core/**/*.ts',
    // The rule modules of src/services and the store's codecs: no database, no Kysely, no network.
    'src/services/tokens/token-input.ts',
    'src/services/tokens/token-access.ts',
    'src/services/tokens/token-edit.ts',
    'src/store/token-codec.ts',
    'src/store/columns.ts',
    'src/services/grants.ts',
    'src/services/token-rate.ts',
    'src/services/token-gate.ts',
    'src/services/throttle.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // Reruns test only the mutants whose code or covering tests changed; `-- --force` runs them all.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'dashboard', 'bench', 'docs', 'reports', 'coverage', 'data'],
  cleanTempDir: true,
};
