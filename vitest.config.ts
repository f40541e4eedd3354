import { defineConfig } from "vitest/config";

/**
 * The suite runs once per ZooKeeper release line, as one vitest project each (`zk-3.9`, `zk-3.8`): each
 * project starts its own shared server of that line (test/support/global-setup.ts) and passes the line
 * to the tests as ZK_VERSION, so servers the tests start themselves are of that line too.
 *
 *   npm test                    every line in ZK_LINES (default "3.9,3.8": both maintained lines)
 *   ZK_LINES=3.9 npm test       one line
 *   ZK_VERSION=3.8.4 npm test   one exact release (ZK_VERSION wins over ZK_LINES)
 *
 * Files whose outcome cannot depend on the line (the codec, the harness's own tests, the end-to-end test
 * that starts every line itself) run in the first project only.
 */
const lines = (process.env.ZK_VERSION || process.env.ZK_LINES || "3.9,3.8")
  .split(",")
  .map((line) => line.trim())
  .filter(Boolean);

const LINE_INDEPENDENT = [
  "test/protocol/**/*.test.ts",
  "test/sasl/**/*.test.ts",
  "test/session/paths.test.ts",
  "test/testing.test.ts",
  "test/proxy.test.ts",
  "test/e2e/**/*.test.ts",
  "test/conformance/old-servers.test.ts",
  "test/package/**/*.test.ts",
];

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/skip-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: lines.map((line, i) => ({
      extends: true,
      test: {
        name: `zk-${line}`,
        include: ["test/**/*.test.ts"],
        exclude: i === 0 ? [] : LINE_INDEPENDENT,
        env: { ZK_VERSION: line },
        globalSetup: ["./test/support/global-setup.ts"],
      },
    })),
  },
});
