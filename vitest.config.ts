import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // clients/typescript/test: the TypeScript client (@themis-ts/client) against a started server.
    include: ['test/**/*.test.ts', 'clients/typescript/test/**/*.test.ts'],
    // Black-box tests spawn real servers; keep parallelism modest on 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
