import { defineConfig } from 'vitest/config';

/*
 * Two projects: `unit` (test/unit, pure: no Postgres, no global setup; `npm run test:unit`)
 * and `integration` (everything else, on one Postgres the global setup provides).
 * `npm test` runs both.
 */
const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  setupFiles: ['test/helpers/file-setup.ts'],
};

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
