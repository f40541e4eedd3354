/**
 * A CommonJS program can load the built package: `require("zkwire")` (Node's require of an ES module,
 * on by default since Node 20.19 and 22.12) and `import("zkwire")` (any Node 20), resolved through
 * package.json "exports" as a dependent application would, and it works against the shared server.
 * dist/ is (re)built first when it is missing or older than src/, so the test never passes on a stale
 * build and never skips for want of one.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SHARED } from "./helpers.js";

const ROOT = join(import.meta.dirname, "..", "..");
const FIXTURE = join(import.meta.dirname, "fixtures", "require-zkwire.cjs");
const ENTRY = join(ROOT, "dist", "index.js");

/** Node versions whose require() loads ES modules without a flag. */
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const requireEsm = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  if (existsSync(ENTRY) && statSync(ENTRY).mtimeMs >= newestMtime(join(ROOT, "src"))) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const build = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 110_000,
  });
  expect(build.status, `npm run build failed:\n${build.stdout}${build.stderr}`).toBe(0);
  expect(existsSync(ENTRY)).toBe(true);
}, 120_000);

function runFixture(how: "require" | "import", connectString?: string): Record<string, unknown> {
  const run = spawnSync(process.execPath, [FIXTURE, how, ...(connectString ? [connectString] : [])], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(run.status, `node ${FIXTURE} ${how} exited ${run.status}:\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

const EXPECTED = {
  ZooKeeper: "function",
  connect: "function",
  ZooKeeperError: "function",
  ZkArgumentError: "function",
  TransactionError: "function",
  digestAcl: "function",
  OPEN_ACL_UNSAFE: true,
  errorName: "NoNode",
  protocolOpCodeGetData: 4,
};

describe("CommonJS callers", () => {
  it("package.json exports point at files the build produced", () => {
    const pkg = createRequire(import.meta.url)(join(ROOT, "package.json")) as {
      exports: Record<string, { types: string; default: string } | string>;
    };
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === "string") continue;
      expect(existsSync(join(ROOT, target.default)), `${subpath} -> ${target.default}`).toBe(true);
      expect(existsSync(join(ROOT, target.types)), `${subpath} -> ${target.types}`).toBe(true);
    }
  });

  it.runIf(requireEsm)("require('zkwire') loads the package and it talks to a server", () => {
    expect(runFixture("require", SHARED)).toEqual({ ...EXPECTED, rootExists: true });
  });

  it("import('zkwire') from CommonJS loads the package", () => {
    expect(runFixture("import")).toEqual(EXPECTED);
  });
});
