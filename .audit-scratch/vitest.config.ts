import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    root: '/work/main',
    projects: [{ test: { name: 'integration', root: '/work/main', include: ['.audit-scratch/*.test.ts'], globalSetup: ['test/world/global-setup.ts'], hookTimeout: 300_000 } }],
  },
});
