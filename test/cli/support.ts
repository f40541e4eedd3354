/**
 * Driving the built `zkwire` command as a child process, and the reference zkCli
 * (org.apache.zookeeper.ZooKeeperMain) on the same server for side-by-side comparisons.
 *
 * The tests run dist/ as a user gets it: `npm test` builds it first (pretest). A file run on its own
 * needs `npm run build` first; the check below says so instead of testing stale code (the tests never
 * build themselves: parallel files would delete dist/ under each other).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot } from "../../src/testing/maven.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(REPO, "dist", "cli", "main.js");

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Throws unless dist/ exists and is newer than every file of src/. */
export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
  if (newest(join(REPO, "src")) > newest(join(REPO, "dist"))) {
    throw new Error('dist/ is older than src/: run "npm run build" (npm test does it first)');
  }
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded), optionally feeding stdin; the environment gets TZ=UTC. */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, TZ: "UTC", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not end within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** `zkwire -server <server> ...args`. */
export function zkwire(
  server: string,
  args: readonly string[],
  options: { input?: string } = {},
): Promise<Run> {
  return run(process.execPath, [BIN, "-server", server, ...args], options);
}

export function uniqueRoot(prefix: string): string {
  return `/${prefix}-${randomBytes(6).toString("hex")}`;
}

// -------------------------------------------------------------------------------------------------
// zkCli

/**
 * zkCli needs commons-cli, which the server's runtime classpath does not include (the server does not
 * use it). Fetched once with Maven beside the server jars, like the harness fetches the server.
 */
const COMMONS_CLI = "commons-cli:commons-cli:1.5.0";

async function commonsCliJar(): Promise<string> {
  const dir = join(cacheRoot(), "..", "zkcli");
  const jar = join(dir, "commons-cli-1.5.0.jar");
  if (existsSync(jar)) return jar;
  await mkdir(dir, { recursive: true });
  const temp = await mkdtemp(join(dir, ".fetch-"));
  try {
    const r = await run(
      "mvn",
      [
        "-B",
        "-q",
        "-Dstyle.color=never",
        "dependency:copy",
        `-Dartifact=${COMMONS_CLI}`,
        `-DoutputDirectory=${temp}`,
      ],
      { timeoutMs: 300_000 },
    );
    const files = await readdir(temp);
    if (r.code !== 0 || !files.includes("commons-cli-1.5.0.jar")) {
      throw new Error(`mvn dependency:copy ${COMMONS_CLI} failed: ${r.stdout}${r.stderr}`.slice(0, 500));
    }
    // A rename, so a concurrent reader sees the jar whole or not at all.
    await rename(join(temp, "commons-cli-1.5.0.jar"), jar);
    return jar;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * The class path to run zkCli, or the reason it cannot run here (no cached server jars, no java, no
 * Maven): the comparison then skips with it. zkCli of the shared server's version when the harness
 * cached it from Maven, else of the newest version cached (the shared server may be a local install;
 * zkCli of one 3.x prints the same layouts against any 3.5+ server).
 */
export async function zkCliClasspath(
  version: string,
): Promise<{ classpath: string; version: string } | { reason: string }> {
  const root = cacheRoot();
  const cached = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "classpath.json")))
        .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    : [];
  const chosen = cached.includes(version) ? version : cached[0];
  if (chosen === undefined)
    return { reason: `no ZooKeeper jars cached in ${root} (the harness fills it from Maven)` };
  const dir = join(root, chosen);
  const listing = join(dir, "classpath.json");
  const jars = (JSON.parse(readFileSync(listing, "utf8")) as string[]).map((j) => join(dir, "lib", j));
  try {
    jars.push(await commonsCliJar());
  } catch (err) {
    return { reason: `commons-cli for zkCli is not available: ${(err as Error).message}` };
  }
  const java = await run("java", ["-version"]).catch((err: Error) => ({ code: -1, stderr: err.message }));
  if (java.code !== 0) return { reason: `java does not run: ${java.stderr}` };
  return { classpath: jars.join(":"), version: chosen };
}

/**
 * zkCli's output of one command, without its connection chatter ("Connecting to" and the WATCHER::
 * blocks, wherever they fall) and the log lines on stderr.
 */
export async function zkCli(classpath: string, server: string, args: readonly string[]): Promise<Run> {
  const r = await run(
    "java",
    ["-cp", classpath, "org.apache.zookeeper.ZooKeeperMain", "-server", server, ...args],
    {
      timeoutMs: 60_000,
    },
  );
  return { ...r, stdout: withoutChatter(r.stdout) };
}

/**
 * zkCli's stdout without its connection chatter. The chatter comes from its event thread while the main
 * thread prints the command's output, so it can land anywhere, even inside a line the main thread writes
 * in pieces ("[B, " of a listing, the chatter, then the rest). Each piece of chatter is one atomic
 * println of "\n" + message (ZooKeeperMain.printMessage): cut each out whole, its leading newline with
 * it, and what is left is the command's output in order.
 */
export function withoutChatter(stdout: string): string {
  return stdout
    .replace(/^Connecting to \S+\n/m, "")
    .replaceAll(/\nWATCHER::\n/g, "")
    .replaceAll(/\nWatchedEvent state:\w+ type:None path:null( zxid: -?\d+)?\n/g, "");
}
