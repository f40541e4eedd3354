/**
 * The other ZooKeeper clients zkwire's lock must coexist with: Apache Curator's InterProcessMutex (Java)
 * and kazoo's Lock (Python), installed into zkwire's cache and run as contender processes.
 *
 *   $ZKWIRE_CACHE/peers/                  ($ZKWIRE_CACHE defaults to ~/.cache/zkwire, as for servers)
 *     curator-5.9.0-<pom>/pom.xml, lib/   curator-recipes, curator-x-discovery and their runtime jars,
 *                                         from Maven Central; <pom> is a hash of the pom, so a changed
 *                                         dependency list installs into a new dir (a running JVM of
 *                                         another checkout keeps its jars)
 *     curator-5.9.0-<pom>/classpath.json  written last: its presence means lib/ is complete
 *     curator-5.9.0-<pom>/classes-<hash>/ the programs in curator/ compiled once per source version
 *     kazoo-2.11.0/venv/                  a virtualenv with kazoo from PyPI
 *     kazoo-2.11.0/peer.json              written last: which python to run (the venv's, or a system one
 *                                         with Debian's python3-kazoo when pip could not install kazoo)
 *     .lock-<name>/                       held while one process installs <name>
 *
 * Both contenders speak one protocol (see the header of curator/LockContender.java): positional
 * CONNECT LOCK_PATH COUNTER_PATH ITERATIONS ID [HOLD_MS], JSON lines on stdout, exit 0 after "done".
 * The counter is the proof of mutual exclusion: every critical section does a version-checked
 * read-increment-write, so an overlap shows up as a BadVersion ("conflict") or a final count short of the
 * number of acquisitions. The enter/exit times (the monotonic clock) are a second, weaker check.
 *
 * The JVM runs a precompiled class rather than the single-file source launcher, which compiles the file
 * in memory at every start. Measured on a 2-core box, whole run of 5 iterations: source launcher ~1.35 s,
 * precompiled ~0.9 s, precompiled with C1 only and the serial GC ~0.45 s (spawn to "ready": ~1.25 s vs
 * ~0.5 s; kazoo ~0.06 s). Tests start several JVMs at once, so the last is the default. An AppCDS
 * archive would save another ~0.1 s but needs a jar and a dump run per install: not worth it yet.
 *
 * Other recipes' peer programs (a Curator LeaderLatch, a kazoo Election, ...) live beside the lock
 * contenders: every `curator/*.java` is compiled together into one classes dir, and spawnCuratorProgram /
 * spawnKazooProgram run any of them with the same JSON-lines plumbing (`waitForEvent`, `send`, `kill`).
 * Each program's header comment is its protocol.
 *
 * Run as a script it installs: `npx tsx test/peers/peers.ts install [curator] [kazoo]` (.ci/install-peers).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { copyDependenciesArgs, exclusive, writeAtomically } from "../../src/testing/cache-lock.js";
import { cacheRoot } from "../../src/testing/maven.js";
import { trackChild } from "../../src/testing/reaper.js";

/** "zkwire": zkwire's own programs in child Node processes, with the same plumbing. */
export type PeerName = "curator" | "kazoo" | "zkwire";

/** curator-recipes 5.9.0 brings the ZooKeeper 3.9.3 client, which speaks to 3.5-3.9 servers. */
export const CURATOR_VERSION = process.env.ZKWIRE_CURATOR_VERSION ?? "5.9.0";
export const KAZOO_VERSION = process.env.ZKWIRE_KAZOO_VERSION ?? "2.11.0";

const CURATOR_DIR = fileURLToPath(new URL("./curator/", import.meta.url));
const CURATOR_SOURCE = join(CURATOR_DIR, "LockContender.java");
const KAZOO_DIR = fileURLToPath(new URL("./kazoo/", import.meta.url));
const KAZOO_SCRIPT = join(KAZOO_DIR, "lock_contender.py");

/** Every Java peer program, compiled together (one javac, one classes dir per set of sources). */
async function curatorSources(): Promise<string[]> {
  return (await readdir(CURATOR_DIR))
    .filter((name) => name.endsWith(".java"))
    .sort()
    .map((name) => join(CURATOR_DIR, name));
}

/** Startup flags for short-lived JVMs: C2 and a parallel GC only compete with the others for the cores. */
const JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData"];
const INSTALL_TIMEOUT_MS = 10 * 60_000;

export type PeerErrorCode =
  /** Maven, javac, venv or pip failed, so a peer cannot be run. */
  | "PEER_INSTALL_FAILED"
  /** A contender exited before the event a caller was waiting for. */
  | "PEER_EXITED"
  /** A contender said nothing expected within the time allowed. */
  | "PEER_TIMEOUT";

export class PeerError extends Error {
  override name = "PeerError";
  readonly code: PeerErrorCode;

  constructor(code: PeerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export interface InstallOptions {
  /** Root of zkwire's cache; default $ZKWIRE_CACHE or ~/.cache/zkwire. */
  readonly cacheDir?: string;
  /** Peer version; default CURATOR_VERSION / KAZOO_VERSION. */
  readonly version?: string;
}

export interface CuratorInstall {
  readonly version: string;
  readonly dir: string;
  /** Curator's runtime jars (absolute paths). */
  readonly classpath: readonly string[];
  /** Directory holding the compiled LockContender classes. */
  readonly classesDir: string;
  readonly java: string;
}

export interface KazooInstall {
  /** The kazoo version the chosen python imports (a system package may differ from the one asked for). */
  readonly version: string;
  readonly python: string;
  /** "pip": a venv in the cache; "system": an interpreter that already has kazoo (python3-kazoo). */
  readonly via: "pip" | "system";
  readonly dir: string;
}

/** The cache dir of the peers, a sibling of the harness's zookeeper/ dir. */
export function peersRoot(cacheDir?: string): string {
  return join(dirname(cacheRoot(cacheDir)), "peers");
}

function javaExecutable(name: "java" | "javac"): string {
  const env = process.env;
  if (env.ZKWIRE_JAVA) return name === "java" ? env.ZKWIRE_JAVA : join(dirname(env.ZKWIRE_JAVA), name);
  if (env.JAVA_HOME) return join(env.JAVA_HOME, "bin", name);
  return name;
}

const installs = new Map<string, Promise<unknown>>();

/** One install per key per process; a failure is not memoized, so a later call may succeed. */
function once<T>(key: string, install: () => Promise<T>): Promise<T> {
  let pending = installs.get(key) as Promise<T> | undefined;
  if (pending === undefined) {
    pending = install();
    pending.catch(() => installs.delete(key));
    installs.set(key, pending);
  }
  return pending;
}

// --- Curator ------------------------------------------------------------------------------------------

/**
 * Resolves curator-recipes and its runtime jars with Maven and compiles the contender, unless the cache
 * already has both. Safe to call from several processes at once.
 */
export function installCurator(options: InstallOptions = {}): Promise<CuratorInstall> {
  const version = options.version ?? CURATOR_VERSION;
  const root = peersRoot(options.cacheDir);
  return once(`curator\0${root}\0${version}`, () => installCuratorNow(root, version));
}

async function installCuratorNow(root: string, version: string): Promise<CuratorInstall> {
  const pomHash = createHash("sha256").update(curatorPom(version)).digest("hex").slice(0, 8);
  const dir = join(root, `curator-${version}-${pomHash}`);
  const sources = await curatorSources();
  const hash = createHash("sha256");
  for (const source of sources) hash.update(source).update(await readFile(source));
  const classesDir = join(dir, `classes-${hash.digest("hex").slice(0, 12)}`);
  // The classes dir appears whole (renamed from a temp dir once javac succeeded) or not at all.
  const ready = () => existsSync(join(dir, "classpath.json")) && existsSync(classesDir);
  if (!ready()) {
    await exclusive(join(root, `.lock-curator-${version}`), ready, async () => {
      if (!existsSync(join(dir, "classpath.json"))) await resolveCurator(dir, version);
      if (!existsSync(classesDir)) await compilePrograms(dir, classesDir, sources);
    });
  }
  return { version, dir, classpath: await curatorJars(dir), classesDir, java: javaExecutable("java") };
}

async function curatorJars(dir: string): Promise<string[]> {
  const jars = JSON.parse(await readFile(join(dir, "classpath.json"), "utf8")) as string[];
  return jars.map((jar) => join(dir, "lib", jar));
}

/**
 * The pom Maven resolves. slf4j-simple is pinned together with slf4j-api because Curator pins api 1.7.25
 * and a binding of another line is ignored with a warning; its output goes to stderr (the contender
 * configures that), keeping stdout for the protocol.
 */
export function curatorPom(version: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by zkwire's test/peers/peers.ts to fetch Apache Curator ${version} for the interop tests. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>zkwire.peers</groupId>
  <artifactId>curator</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.curator</groupId><artifactId>curator-recipes</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.apache.curator</groupId><artifactId>curator-x-discovery</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;
}

async function resolveCurator(dir: string, version: string): Promise<void> {
  // A dir without classpath.json is a crashed attempt: start over.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "pom.xml"), curatorPom(version));
  const mvn = process.env.ZKWIRE_MVN ?? "mvn";
  const result = await run(mvn, copyDependenciesArgs(dir));
  if (result.code !== 0) {
    // Maven's first [ERROR] lines say what went wrong (no network, unknown version).
    const reasons = result.output
      .split("\n")
      .filter((line) => /^\[(FATAL|ERROR)\] \S/.test(line))
      .slice(0, 3)
      .join("\n");
    throw new PeerError(
      "PEER_INSTALL_FAILED",
      `Curator ${version}: ${mvn} exited with ${result.code}: ${reasons || result.output.slice(-2_000)}`,
    );
  }
  const jars = (await readdir(join(dir, "lib"))).filter((name) => name.endsWith(".jar")).sort();
  for (const expected of [
    `curator-recipes-${version}.jar`,
    `curator-x-discovery-${version}.jar`,
    "slf4j-simple-1.7.36.jar",
  ]) {
    if (!jars.includes(expected))
      throw new PeerError("PEER_INSTALL_FAILED", `Curator ${version}: Maven brought no ${expected}`);
  }
  if (!jars.some((jar) => /^zookeeper-3\.\d+\.\d+\.jar$/.test(jar)))
    throw new PeerError("PEER_INSTALL_FAILED", `Curator ${version}: Maven brought no ZooKeeper client jar`);
  await writeAtomically(join(dir, "classpath.json"), `${JSON.stringify(jars, null, 2)}\n`);
}

async function compilePrograms(dir: string, classesDir: string, sources: readonly string[]): Promise<void> {
  const temp = `${classesDir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const javac = javaExecutable("javac");
  try {
    const result = await run(javac, [
      "-cp",
      (await curatorJars(dir)).join(":"),
      "-d",
      temp,
      "-nowarn",
      ...sources,
    ]);
    if (result.code !== 0)
      throw new PeerError(
        "PEER_INSTALL_FAILED",
        `${javac} failed (${result.code}): ${result.output.slice(-2_000)}`,
      );
    await rename(temp, classesDir);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

// --- kazoo --------------------------------------------------------------------------------------------

/**
 * Makes a venv with kazoo from PyPI, or, when that fails (no venv module, no PyPI), settles for a system
 * python that already imports kazoo, e.g. after `apt-get install python3-kazoo` (.ci/install-peers does
 * that; a test never installs system packages).
 */
export function installKazoo(options: InstallOptions = {}): Promise<KazooInstall> {
  const version = options.version ?? KAZOO_VERSION;
  const root = peersRoot(options.cacheDir);
  return once(`kazoo\0${root}\0${version}`, () => installKazooNow(root, version));
}

async function installKazooNow(root: string, version: string): Promise<KazooInstall> {
  const dir = join(root, `kazoo-${version}`);
  const marker = join(dir, "peer.json");
  const cached = async (): Promise<KazooInstall | undefined> => {
    try {
      const found = JSON.parse(await readFile(marker, "utf8")) as Omit<KazooInstall, "dir">;
      return existsSync(found.python) || found.via === "system" ? { ...found, dir } : undefined;
    } catch {
      return undefined;
    }
  };
  const hit = await cached();
  if (hit !== undefined) return hit;
  await exclusive(
    join(root, `.lock-kazoo-${version}`),
    () => existsSync(marker),
    async () => {
      if ((await cached()) !== undefined) return;
      const failures: string[] = [];
      let found: Omit<KazooInstall, "dir"> | undefined;
      // ZKWIRE_KAZOO_PIP=0 skips pip, for .ci/install-peers after its apt fallback: an offline pip can
      // spend minutes in retries before failing again.
      if (process.env.ZKWIRE_KAZOO_PIP !== "0") {
        try {
          found = await pipInstall(dir, version);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
      found ??= await systemKazoo(failures);
      if (found === undefined) {
        throw new PeerError(
          "PEER_INSTALL_FAILED",
          `kazoo ${version}: no python with kazoo (run .ci/install-peers, which falls back to apt-get ` +
            `install python3-kazoo):\n  ${failures.join("\n  ")}`,
        );
      }
      await writeAtomically(marker, `${JSON.stringify(found, null, 2)}\n`);
    },
  );
  const installed = await cached();
  if (installed === undefined)
    throw new PeerError("PEER_INSTALL_FAILED", `kazoo ${version}: ${marker} is unreadable`);
  return installed;
}

async function pipInstall(dir: string, version: string): Promise<Omit<KazooInstall, "dir">> {
  const venv = join(dir, "venv");
  // A venv without peer.json is a crashed attempt: start over.
  await rm(venv, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const base = process.env.ZKWIRE_PYTHON ?? "python3";
  const created = await run(base, ["-m", "venv", venv]);
  if (created.code !== 0)
    throw new Error(`${base} -m venv failed (${created.code}): ${created.output.slice(-1_000)}`);
  const python = join(venv, "bin", "python");
  const pip = await run(python, [
    "-m",
    "pip",
    "install",
    "-q",
    "--disable-pip-version-check",
    `kazoo==${version}`,
  ]);
  if (pip.code !== 0)
    throw new Error(`pip install kazoo==${version} failed (${pip.code}): ${pip.output.slice(-1_000)}`);
  const imported = await kazooVersion(python);
  if (imported === undefined) throw new Error(`pip installed kazoo, but ${python} cannot import it`);
  return { version: imported, python, via: "pip" };
}

async function systemKazoo(failures: string[]): Promise<Omit<KazooInstall, "dir"> | undefined> {
  // /usr/bin/python3 first: that is the interpreter Debian's python3-kazoo installs for, while "python3"
  // on the PATH may be a pyenv or venv one that cannot see dist-packages.
  const candidates = [process.env.ZKWIRE_PYTHON, "/usr/bin/python3", "python3"].filter(
    (python): python is string => python !== undefined,
  );
  for (const python of new Set(candidates)) {
    const version = await kazooVersion(python);
    if (version !== undefined) return { version, python, via: "system" };
    failures.push(`${python}: cannot import kazoo`);
  }
  return undefined;
}

async function kazooVersion(python: string): Promise<string | undefined> {
  const result = await run(python, [
    "-c",
    "import kazoo.client, kazoo.recipe.lock, kazoo.version; print(kazoo.version.__version__)",
  ]);
  return result.code === 0 ? result.output.trim().split("\n").pop() : undefined;
}

// --- install plumbing ---------------------------------------------------------------------------------

interface RunResult {
  readonly code: number | string;
  /** stdout and stderr interleaved, the last 64 kB. */
  readonly output: string;
}

function run(command: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    let output = "";
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-64_000);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), INSTALL_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: (error as NodeJS.ErrnoException).code ?? "spawn failed", output: error.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? "killed", output });
    });
  });
}

// --- contenders ---------------------------------------------------------------------------------------

export interface ContenderOptions {
  /** host:port,... of the server(s). */
  readonly connect: string;
  /** The lock's path; its children are the contenders' sequential nodes. */
  readonly lockPath: string;
  /** A node holding a decimal integer, NOT under lockPath (Curator orders every child of lockPath). */
  readonly counterPath: string;
  /** Acquisitions to make (ignored with `manual`). */
  readonly iterations: number;
  readonly id: string;
  /** Sleep inside the critical section between reading and writing the counter. */
  readonly holdMs?: number;
  /** Wait for go() after "ready", so contenders that start at different speeds really contend. */
  readonly gate?: boolean;
  /** Take commands instead: acquire(), release(), quit(). */
  readonly manual?: boolean;
  readonly sessionTimeoutMs?: number;
  /** The contender gives up (an error event, exit 1) when one acquisition takes longer; default 30 s. */
  readonly acquireTimeoutMs?: number;
  /** The process is killed after this long; default 120 s. */
  readonly timeoutMs?: number;
}

export interface KazooContenderOptions extends ContenderOptions {
  /** kazoo's Lock(extra_lock_patterns=...): other implementations' node names it should wait for. */
  readonly extraLockPatterns?: readonly string[];
}

export interface CuratorContenderOptions extends ContenderOptions {
  /** "compiled" (default, fast) or "source": the single-file source launcher, kept to compare. */
  readonly launcher?: "compiled" | "source";
}

interface EventBase {
  readonly id: string;
}
export interface ReadyEvent extends EventBase {
  readonly event: "ready";
  readonly peer: PeerName;
  readonly pid: number;
  readonly sessionId: string;
}
export interface EnterEvent extends EventBase {
  readonly event: "enter";
  /** 1-based acquisition number of this contender. */
  readonly n: number;
  /** The lock child this acquisition created, relative to the lock path. */
  readonly node: string;
  /** Its 10-digit sequence suffix as a number. */
  readonly seq: number;
  /** Counter value and version read inside the critical section. */
  readonly value: number;
  readonly version: number;
  /** Microseconds of the machine's monotonic clock (CLOCK_MONOTONIC), comparable across its processes. */
  readonly t: number;
}
export interface ConflictEvent extends EventBase {
  readonly event: "conflict";
  readonly n: number;
  readonly value: number;
  readonly version: number;
  readonly t: number;
}
export interface ExitEvent extends EventBase {
  readonly event: "exit";
  readonly n: number;
  readonly node: string;
  /** The value written, or -1 after a conflict. */
  readonly value: number;
  readonly t: number;
}
export interface DoneEvent extends EventBase {
  readonly event: "done";
  readonly acquired: number;
  readonly conflicts: number;
  readonly ms: number;
}
export interface ErrorEvent extends EventBase {
  readonly event: "error";
  readonly message: string;
}
export type ContenderEvent = ReadyEvent | EnterEvent | ConflictEvent | ExitEvent | DoneEvent | ErrorEvent;

export interface ContenderResult {
  readonly peer: PeerName;
  readonly id: string;
  /** Exit code, or the signal's name if it was killed. */
  readonly exit: number | string;
  readonly events: readonly ContenderEvent[];
  readonly done: DoneEvent | undefined;
  readonly error: ErrorEvent | undefined;
  /** The last 64 kB of stderr (Curator/ZooKeeper/kazoo warnings, stack traces). */
  readonly stderr: string;
  /** stdout lines that were not protocol JSON; should stay empty. */
  readonly noise: readonly string[];
  readonly timedOut: boolean;
}

export interface ContenderHandle extends AsyncDisposable {
  readonly peer: PeerName;
  readonly id: string;
  readonly pid: number;
  /** Events so far, in arrival order. */
  readonly events: readonly ContenderEvent[];
  /** Resolves on "ready"; rejects if the process ends first. */
  readonly ready: Promise<ReadyEvent>;
  /** Resolves when the process has exited (never rejects). */
  readonly result: Promise<ContenderResult>;
  /** The first event (from the start) that matches, waiting for it if need be. */
  waitFor<E extends ContenderEvent>(
    match: (event: ContenderEvent) => event is E,
    timeoutMs?: number,
  ): Promise<E>;
  /** With `gate`: start the iterations. */
  go(): void;
  /** With `manual`: take the lock and read the counter; resolves with the enter event. */
  acquire(timeoutMs?: number): Promise<EnterEvent>;
  /** With `manual`: write the counter and release; resolves with the exit event. */
  release(timeoutMs?: number): Promise<ExitEvent>;
  /** With `manual`: finish (releasing if held); resolves with the result. */
  quit(): Promise<ContenderResult>;
  /** Signals the process (default SIGKILL) if it still runs. */
  kill(signal?: NodeJS.Signals): void;
  /** Writes one command line to the program's stdin (any peer program's protocol). */
  send(line: string): void;
  /** The first event named `name` (from the start) that `match` accepts, waiting for it if need be. */
  waitForEvent(name: string, match?: (event: PeerEvent) => boolean, timeoutMs?: number): Promise<PeerEvent>;
}

/** An event of any peer program: one JSON object per stdout line, with an `event` name. */
export interface PeerEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

const running = new Set<ContenderHandle>();

/** Kills every contender this module started that still runs, and waits for them to exit. */
export async function killAllContenders(): Promise<void> {
  const handles = [...running];
  for (const handle of handles) handle.kill();
  await Promise.all(handles.map((handle) => handle.result));
}

function protocolArgs(options: ContenderOptions): string[] {
  const args = [
    options.connect,
    options.lockPath,
    options.counterPath,
    String(options.iterations),
    options.id,
  ];
  if (options.holdMs !== undefined) args.push(String(options.holdMs));
  if (options.gate) args.push("--gate");
  if (options.manual) args.push("--manual");
  if (options.sessionTimeoutMs !== undefined) args.push(`--session-timeout-ms=${options.sessionTimeoutMs}`);
  if (options.acquireTimeoutMs !== undefined) args.push(`--acquire-timeout-ms=${options.acquireTimeoutMs}`);
  return args;
}

/** Starts a Curator InterProcessMutex contender (installs Curator first if needed). */
export async function spawnCuratorContender(
  options: CuratorContenderOptions,
  install: InstallOptions = {},
): Promise<ContenderHandle> {
  const curator = await installCurator(install);
  const jvm =
    options.launcher === "source"
      ? [...JVM_FLAGS, "-cp", curator.classpath.join(":"), CURATOR_SOURCE]
      : [...JVM_FLAGS, "-cp", [curator.classesDir, ...curator.classpath].join(":"), "LockContender"];
  return start("curator", curator.java, [...jvm, ...protocolArgs(options)], options);
}

/** Starts a kazoo Lock contender (installs kazoo first if needed). */
export async function spawnKazooContender(
  options: KazooContenderOptions,
  install: InstallOptions = {},
): Promise<ContenderHandle> {
  const kazoo = await installKazoo(install);
  const extra = (options.extraLockPatterns ?? []).map((pattern) => `--extra-lock-pattern=${pattern}`);
  // -u: unbuffered stdio, belt and braces next to the script's own flush per line.
  return start("kazoo", kazoo.python, ["-u", KAZOO_SCRIPT, ...protocolArgs(options), ...extra], options);
}

export interface ProgramOptions {
  /** Names the process in messages and in its events' `id`. */
  readonly id: string;
  /** The process is killed after this long; default 120 s. */
  readonly timeoutMs?: number;
}

/**
 * Runs the Java peer program `mainClass` (a class in test/peers/curator/) on Curator's classpath, with
 * the flags of a short-lived JVM. Its stdout is JSON lines; read them with waitForEvent.
 */
export async function spawnCuratorProgram(
  mainClass: string,
  args: readonly string[],
  options: ProgramOptions,
  install: InstallOptions = {},
): Promise<ContenderHandle> {
  const curator = await installCurator(install);
  const jvm = [...JVM_FLAGS, "-cp", [curator.classesDir, ...curator.classpath].join(":"), mainClass];
  return start("curator", curator.java, [...jvm, ...args], options);
}

/** Runs the Python peer program `script` (a file in test/peers/kazoo/) with kazoo's interpreter. */
export async function spawnKazooProgram(
  script: string,
  args: readonly string[],
  options: ProgramOptions,
  install: InstallOptions = {},
): Promise<ContenderHandle> {
  const kazoo = await installKazoo(install);
  return start("kazoo", kazoo.python, ["-u", join(KAZOO_DIR, script), ...args], options);
}

/**
 * Runs a zkwire program (a TypeScript file, through tsx) in a child Node process with the same JSON-lines
 * plumbing as the peers, so that zkwire's side of an interop test can be killed like any other process.
 */
export function spawnZkwireProgram(
  file: string,
  args: readonly string[],
  options: ProgramOptions,
): ContenderHandle {
  return start("zkwire", process.execPath, ["--import", "tsx", file, ...args], options);
}

interface Waiter {
  readonly match: (event: ContenderEvent) => boolean;
  readonly resolve: (event: ContenderEvent) => void;
  readonly reject: (error: Error) => void;
}

function start(
  peer: PeerName,
  command: string,
  args: string[],
  options: Pick<ContenderOptions, "id" | "timeoutMs">,
): ContenderHandle {
  const child: ChildProcess = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  // The harness's reaper SIGKILLs it if this process exits or dies first; it only ever signals pids it
  // was given, i.e. processes we started.
  trackChild(child);
  const events: ContenderEvent[] = [];
  const noise: string[] = [];
  const waiters = new Set<Waiter>();
  let stderr = "";
  let exited: ContenderResult | undefined;
  let timedOut = false;
  let manualCount = 0;

  const onEvent = (event: ContenderEvent) => {
    events.push(event);
    for (const waiter of waiters) {
      if (waiter.match(event)) {
        waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  };

  let buffered = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line === "") continue;
      const event = parseEvent(line);
      if (event === undefined) noise.push(line);
      else onEvent(event);
    }
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-64_000);
  });
  // A contender that exits while we write a command must not crash the test with EPIPE.
  child.stdin?.on("error", () => {});

  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 120_000);

  const result = new Promise<ContenderResult>((resolve) => {
    const finish = (exit: number | string) => {
      clearTimeout(timer);
      exited = {
        peer,
        id: options.id,
        exit,
        events,
        done: events.find((event): event is DoneEvent => event.event === "done"),
        error: events.find((event): event is ErrorEvent => event.event === "error"),
        stderr,
        noise,
        timedOut,
      };
      running.delete(handle);
      const why = describeExit(exited);
      for (const waiter of waiters) waiter.reject(new PeerError("PEER_EXITED", why));
      waiters.clear();
      resolve(exited);
    };
    child.on("error", (error) => {
      stderr += `\nspawn ${command}: ${error.message}`;
      finish((error as NodeJS.ErrnoException).code ?? "spawn failed");
    });
    // "close", not "exit": by then stdout is drained, so "done" is never lost to a race.
    child.on("close", (code, signal) => finish(code ?? signal ?? "unknown"));
  });

  const waitFor = <E extends ContenderEvent>(
    match: (event: ContenderEvent) => event is E,
    timeoutMs = 60_000,
  ): Promise<E> => {
    const seen = events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    if (exited !== undefined) return Promise.reject(new PeerError("PEER_EXITED", describeExit(exited)));
    return new Promise<E>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (event) => {
          clearTimeout(deadline);
          resolve(event as E);
        },
        reject: (error) => {
          clearTimeout(deadline);
          reject(error);
        },
      };
      const deadline = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new PeerError(
            "PEER_TIMEOUT",
            `${peer} contender ${options.id}: nothing matched in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const send = (line: string) => {
    if (exited === undefined) child.stdin?.write(`${line}\n`);
  };

  const handle: ContenderHandle = {
    peer,
    id: options.id,
    pid: child.pid ?? -1,
    events,
    ready: waitFor((event): event is ReadyEvent => event.event === "ready"),
    result,
    waitFor,
    send,
    waitForEvent: (name, match = () => true, timeoutMs) =>
      waitFor(
        (event): event is ContenderEvent => event.event === name && match(event as unknown as PeerEvent),
        timeoutMs,
      ) as unknown as Promise<PeerEvent>,
    go: () => send("go"),
    acquire: (timeoutMs) => {
      const n = ++manualCount;
      send("acquire");
      return waitFor((event): event is EnterEvent => event.event === "enter" && event.n === n, timeoutMs);
    },
    release: (timeoutMs) => {
      const n = manualCount;
      send("release");
      return waitFor((event): event is ExitEvent => event.event === "exit" && event.n === n, timeoutMs);
    },
    quit: () => {
      send("quit");
      child.stdin?.end();
      return result;
    },
    kill: (signal = "SIGKILL") => {
      // ChildProcess.kill is a no-op once Node has seen the exit, so a recycled pid is never hit.
      if (exited === undefined) child.kill(signal);
    },
    [Symbol.asyncDispose]: async () => {
      handle.kill();
      await result;
    },
  };
  // A caller that never awaits `ready` must not get an unhandled rejection when the process fails early.
  handle.ready.catch(() => {});
  running.add(handle);
  void result.then(() => child.stdin?.destroy());
  return handle;
}

function parseEvent(line: string): ContenderEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    if (
      typeof value === "object" &&
      value !== null &&
      typeof (value as { event?: unknown }).event === "string"
    )
      return value as ContenderEvent;
  } catch {
    // Not JSON: reported as noise.
  }
  return undefined;
}

function describeExit(result: ContenderResult): string {
  const how = result.timedOut ? "was killed after its timeout" : `exited with ${result.exit}`;
  const error = result.error !== undefined ? `: ${result.error.message}` : "";
  const tail = result.stderr.trim().split("\n").slice(-5).join("\n  ");
  return `${result.peer} contender ${result.id} ${how}${error}${tail ? `\n  ${tail}` : ""}`;
}

// --- running and judging a round -----------------------------------------------------------------------

/**
 * Runs contenders started with `gate: true` as one round: waits until every one is connected, lets them
 * all go at once, and returns their results. The start gate matters: a JVM needs ~0.5 s more than Python
 * to connect, enough for a kazoo contender to finish 50 iterations alone.
 */
export async function runGated(handles: readonly ContenderHandle[]): Promise<ContenderResult[]> {
  try {
    await Promise.all(handles.map((handle) => handle.ready));
  } catch (error) {
    for (const handle of handles) handle.kill();
    await Promise.all(handles.map((handle) => handle.result));
    throw error;
  }
  for (const handle of handles) handle.go();
  return Promise.all(handles.map((handle) => handle.result));
}

/** Two critical sections whose logged [enter, exit] intervals intersect. */
export interface Overlap {
  readonly a: { readonly id: string; readonly n: number; readonly enter: number; readonly exit: number };
  readonly b: { readonly id: string; readonly n: number; readonly enter: number; readonly exit: number };
}

export interface RoundSummary {
  /** Acquisitions reported by "done" events. */
  readonly acquired: number;
  /** BadVersion on the counter inside a critical section: proof that exclusion failed. */
  readonly conflicts: number;
  /** Intersecting critical sections by their times: a second, weaker sign of the same. */
  readonly overlaps: readonly Overlap[];
  /** Every lock node name an acquisition reported, in sequence order. */
  readonly nodes: readonly string[];
  /**
   * Whether the counter values read on entry rise strictly with the lock nodes' sequence numbers: both
   * peers grant the lock first-come first-served by sequence, so a sound round is in this order.
   */
  readonly inSequenceOrder: boolean;
}

/**
 * Judges a round from the contenders' events (these are plain data, so zkwire's own contenders can
 * produce them in-process and be judged together with the peers).
 */
export function summarize(rounds: readonly (readonly ContenderEvent[])[]): RoundSummary {
  let acquired = 0;
  let conflicts = 0;
  const intervals: Overlap["a"][] = [];
  const enters: EnterEvent[] = [];
  for (const events of rounds) {
    const open = new Map<number, EnterEvent>();
    for (const event of events) {
      if (event.event === "done") {
        acquired += event.acquired;
        conflicts += event.conflicts;
      } else if (event.event === "enter") {
        open.set(event.n, event);
        enters.push(event);
      } else if (event.event === "exit") {
        const enter = open.get(event.n);
        if (enter !== undefined) intervals.push({ id: event.id, n: event.n, enter: enter.t, exit: event.t });
      }
    }
  }
  // Sweep in start order, keeping the interval that reaches furthest: any later start before its end is
  // an intersection (each overlapping interval is reported at least once, which is all a test needs).
  intervals.sort((x, y) => x.enter - y.enter);
  const overlaps: Overlap[] = [];
  let reach: Overlap["a"] | undefined;
  for (const interval of intervals) {
    if (reach !== undefined && interval.enter < reach.exit) overlaps.push({ a: reach, b: interval });
    if (reach === undefined || interval.exit > reach.exit) reach = interval;
  }
  enters.sort((x, y) => x.seq - y.seq);
  const inSequenceOrder = enters.every((enter, i) => i === 0 || enter.value > enters[i - 1]!.value);
  return { acquired, conflicts, overlaps, nodes: enters.map((enter) => enter.node), inSequenceOrder };
}

/** Curator's protected-mode mutex child: "_c_" + UUID + "-" + "lock-" + 10-digit sequence. */
export const CURATOR_LOCK_NODE =
  /^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lock-\d{10}$/;
/** kazoo's Lock child: uuid4().hex + "__lock__" + 10-digit sequence. */
export const KAZOO_LOCK_NODE = /^[0-9a-f]{32}__lock__\d{10}$/;

// --- script entry -------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  if (command !== "install") {
    console.error("usage: tsx test/peers/peers.ts install [curator] [kazoo]");
    return 2;
  }
  let failed = false;
  for (const name of names.length > 0 ? names : ["curator", "kazoo"]) {
    const started = Date.now();
    try {
      if (name === "curator") {
        const curator = await installCurator();
        console.log(`curator ${curator.version} ${curator.dir} (${Date.now() - started} ms)`);
      } else if (name === "kazoo") {
        const kazoo = await installKazoo();
        console.log(`kazoo ${kazoo.version} via ${kazoo.via}: ${kazoo.python} (${Date.now() - started} ms)`);
      } else {
        console.error(`unknown peer ${name}; known: curator, kazoo`);
        failed = true;
      }
    } catch (error) {
      console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolvePath(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
