import { defineConfig } from 'vitest/config';

/**
 * Shared test settings: tests live in test/, real-data tests may take a while on 2 cores.
 * Each package also writes a JSON report that `tools/test-summary.mjs` totals after `npm test`.
 */
export const packageTests = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.cache/vitest-results.json' },
  },
});
