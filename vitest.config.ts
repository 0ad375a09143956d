import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fails any non-loopback connection or DNS lookup (issue 13: no network in tests).
    setupFiles: ["test/setup/no-network.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
