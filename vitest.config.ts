import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no servers; `integration` runs against the real test world
// (private dockerd, distribution registries, token services) started once per run by
// test/world/global-setup.ts and torn down afterwards.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
          // Unit tests run first; a separate group lets the integration project use its own
          // worker count.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/world/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // The world is shared; keep parallelism modest on 2-core machines.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
