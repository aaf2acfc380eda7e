import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Pulumi's runtime settings are process-global; each test file runs in its own fork.
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
