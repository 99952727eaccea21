import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['ferry-source'] },
  test: {
    include: ['servers/*/test/**/*.test.ts', 'admin/*/test/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
