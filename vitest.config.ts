import { defineConfig } from 'vitest/config';

// Unit tests exercise the pure core and need no peers; e2e tests start real local peers
// (kinesalite, dynalite, DuckDB, Kafka, protocol endpoints) on free ports.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // A real Kafka broker (bin/localStack/kafkaBroker.ts), started once for the project.
          globalSetup: ['test/support/kafkaGlobalSetup.ts'],
        },
      },
    ],
  },
});
