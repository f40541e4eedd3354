import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One standalone ZooKeeper for the whole run; tests read it with inject("zkConnect").
    globalSetup: ["./test/harness/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
