import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Lock tests spawn real workers; a deadlock must fail the test, never hang CI.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Stress files oversubscribe the 2 cores on purpose; running files in parallel would only add noise.
    fileParallelism: false,
    pool: 'forks',
  },
});
