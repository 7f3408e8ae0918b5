import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** `protocol` → packages/protocol/src/index.ts; `protocol/api` → packages/protocol/src/api/index.ts. */
const src = (entry: string) => {
  const [pkg, ...sub] = entry.split('/');
  return fileURLToPath(new URL(`./packages/${pkg}/src/${[...sub, 'index.ts'].join('/')}`, import.meta.url));
};

/**
 * System tests: real processes killed with -9, a fleet on PostgreSQL, a browser, a latency bound.
 * They run one file at a time, after the rest, so that no two of them fight for this machine's
 * two cores and a timing bound measures the code, not the neighbours.
 */
const SYSTEM = [
  'packages/server/test/system-*.test.ts',
  'packages/server/test/jobs-system.test.ts',
  'packages/server/test/scale-postgres.test.ts',
  'packages/server/test/postgres-restart.test.ts',
  'packages/server/test/postgres-worker-crash.test.ts',
  'packages/server/test/postgres-claim-plan.test.ts',
  'packages/server/test/fleet-coordination.test.ts',
  'packages/server/test/cli-system.test.ts',
  'packages/server/test/listen-system.test.ts',
  'packages/server/test/soak.test.ts',
  'packages/receiver/test/crash.test.ts',
  'packages/receiver/test/latency.test.ts',
  'packages/receiver/test/package.test.ts',
  'packages/receiver/test/order-sender.test.ts',
  'packages/receiver/test/polling-start.test.ts',
  'packages/receiver/test/postgres-outage.test.ts',
  'packages/receiver/test/readonly-inbox.test.ts',
  'packages/receiver/test/sqlite-inbox-start.test.ts',
  'packages/dashboard/test/e2e.test.ts',
  'packages/server/test/docs-reference.test.ts',
  'packages/dashboard/test/portal-e2e.test.ts',
];

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources; system tests spawn the built `herald` (npm test builds first).
    // An array, in order: the subpath `@herald/protocol/api` before the package it is under.
    alias: [
      { find: /^@herald\/protocol\/api$/, replacement: src('protocol/api') },
      { find: /^@herald\/protocol$/, replacement: src('protocol') },
      { find: /^@herald\/server$/, replacement: src('server') },
      { find: /^@herald\/receiver$/, replacement: src('receiver') },
      { find: /^@herald\/client$/, replacement: src('client') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...SYSTEM],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: SYSTEM,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
