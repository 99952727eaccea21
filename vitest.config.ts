import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Tests run on the sources of every @ferry/* package, not on a possibly stale dist/.
  resolve: { conditions: ['ferry-source'] },
  ssr: { resolve: { conditions: ['ferry-source'] } },
  test: {
    include: ['servers/*/test/**/*.test.ts', 'transaction-manager/test/**/*.test.ts', 'admin/*/test/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
