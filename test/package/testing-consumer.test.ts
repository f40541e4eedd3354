/**
 * zkwire/testing as a user gets it: the package packed (`npm pack`), installed into a fresh ESM project
 * beside vitest, and a vitest file there that starts a real ZooKeeper with `startZooKeeper`, talks to it
 * with zkwire, and stops it. Proves the subpath export, its types and its runtime, with nothing of this
 * repository on the consumer's import path.
 *
 * The tarball is made from dist/ (`npm test` builds it first). vitest comes from npm's cache (`npm ci`
 * put it there), so this needs no registry.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
let dir: string;
let tarball: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zkwire-consumer-"));
  // --ignore-scripts: the package's `prepare` rebuilds dist/ (removing it first), which would pull it
  // from under the test files running beside this one; dist/ is already built (pretest).
  const packed = await run("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], {
    cwd: ROOT,
  });
  tarball = join(dir, packed.stdout.trim().split("\n").pop()!);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const CONSUMER_TEST = `
import { afterAll, beforeAll, expect, it } from "vitest";
import { ZooKeeper } from "zkwire";
import { startZooKeeper, type ZooKeeperCluster } from "zkwire/testing";

let server: ZooKeeperCluster;
beforeAll(async () => {
  server = await startZooKeeper({ version: process.env.ZK_VERSION || "3.9" });
}, 120_000);
afterAll(() => server?.close());

it("creates and reads a node on a real server", async () => {
  const zk = await ZooKeeper.connect(server.connectString);
  try {
    await zk.create("/hello", "world");
    const { data } = await zk.getData("/hello");
    expect(Buffer.from(data).toString()).toBe("world");
    expect(server.version).toMatch(/^3\\.\\d+\\.\\d+$/);
  } finally {
    await zk.close();
  }
});
`;

describe("zkwire/testing in a fresh consumer project", () => {
  it("installs from the packed tarball and a vitest file there starts a server and passes", async () => {
    const vitest = JSON.parse(await readFile(join(ROOT, "node_modules/vitest/package.json"), "utf8")).version;
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2),
    );
    await run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        tarball,
        `vitest@${vitest}`,
        "@types/node@20",
      ],
      { cwd: dir, timeout: 240_000 },
    );
    await writeFile(join(dir, "zk.test.ts"), CONSUMER_TEST);
    const result = await run("npx", ["vitest", "run", "--reporter=verbose"], {
      cwd: dir,
      timeout: 180_000,
      env: { ...process.env, CI: "true" },
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the consumer's vitest failed:\n${error.stdout ?? ""}\n${error.stderr ?? error.message}`,
      );
    });
    expect(result.stdout).toMatch(/1 passed/);
    // Nothing but zkwire itself in the consumer's dependencies of zkwire: zero runtime dependencies.
    const installed = JSON.parse(await readFile(join(dir, "node_modules/zkwire/package.json"), "utf8"));
    expect(installed.dependencies ?? {}).toEqual({});
  }, 420_000);
});
