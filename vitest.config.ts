import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Corpus-wide tests parse ~2,750 files; give them room on a 2-core CI machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // skip-reporter: after the default summary, one line per suite skipped for a
    // missing system component (test/support/components.ts), with how to install it.
    reporters: ['default', 'json', './test/support/skip-reporter.ts'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
