/**
 * The benchmark's knobs, all environment variables (undici's habit: a run is reproduced by its command
 * line alone, and CI can turn any knob without a code change). Every value is validated here, so a typo
 * fails before a server is started rather than after minutes of measuring the wrong thing.
 */
import { defaultPlacement, isPlacement, type Placement } from "./cpus.js";

export interface Knobs {
  /** Measured rounds per scenario; each figure is the median over them. */
  readonly rounds: number;
  /** Rounds run first and thrown away (JIT, server caches, TCP windows). */
  readonly warmup: number;
  /** The same for the lock scenarios, whose server paths take longer to reach their steady cost. */
  readonly lockWarmup: number;
  /** Length of one client's run in one round, when `ops` is not set. */
  readonly durationMs: number;
  /** Operations per run instead of a duration (BENCH_OPS); 0 means "use the duration". */
  readonly ops: number;
  /** Depths of the pipelined scenarios. */
  readonly depths: readonly number[];
  /** Scenario filter: exact names or patterns with `*`; empty means the default set. */
  readonly scenarios: readonly string[];
  /** Client filter; empty means every client. */
  readonly clients: readonly string[];
  /** Bytes of node data read and written. */
  readonly dataBytes: number;
  /** Requests issued at once by the memory scenario. */
  readonly memoryRequests: number;
  /** Pause between two runs, so the server's background work of one run does not land in the next. */
  readonly pauseMs: number;
  /** ms of load before the first measured scenario, so that the server's JIT is warm (0: none). */
  readonly serverWarmupMs: number;
  /** Length of one codec sample and the number of samples per round. */
  readonly codecSampleMs: number;
  readonly codecSamples: number;
  /** Clients whose worker is profiled (inspector CPU profile of the measured runs only). */
  readonly cpuProf: readonly string[];
  /** Where profiles go. */
  readonly profDir: string;
  /** Extra JVM flags for a server the benchmark starts itself. */
  readonly serverJvmArgs: readonly string[];
  /** The ZooKeeper line or release to start (BENCH_ZK_VERSION, else ZK_VERSION, else 3.9). */
  readonly zkVersion: string;
  /**
   * BENCH_IDLE_FILL=1: lowest-priority busy loops on every core while the network scenarios run, so that
   * CPU per operation does not depend on how much idle time a client leaves (idle-fill.ts says why). Off
   * by default: on this machine it did not make runs steadier (see bench/README.md).
   */
  readonly idleFill: boolean;
  /**
   * BENCH_CPUS: where the server and the clients run (cpus.ts): split (the server on a core of its own;
   * the default on two cores or more), shared (the default on one core or with ZK_CONNECT), one. split
   * and one need a server the benchmark starts.
   */
  readonly cpus: Placement;
}

type Env = Readonly<Record<string, string | undefined>>;

export class KnobError extends Error {
  override readonly name = "KnobError";
}

function int(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new KnobError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "0") return false;
  if (raw === "1") return true;
  throw new KnobError(`${name} must be 0 or 1, got "${raw}"`);
}

/** The placement (cpus.ts) a knob names; empty or unset: `fallback`. */
export function parsePlacement(raw: string | undefined, knob: string, fallback: Placement): Placement {
  const spec = raw || fallback;
  if (!isPlacement(spec)) throw new KnobError(`${knob} must be shared, split or one, got "${spec}"`);
  return spec;
}

function placement(env: Env): Placement {
  // A server the benchmark did not start cannot be pinned: shared, unless a knob insists (refused below).
  const raw = parsePlacement(env.BENCH_CPUS, "BENCH_CPUS", env.ZK_CONNECT ? "shared" : defaultPlacement());
  if (raw !== "shared" && env.ZK_CONNECT)
    throw new KnobError(`BENCH_CPUS=${raw} needs a server the benchmark starts, not ZK_CONNECT`);
  return raw;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export const DEFAULT_DEPTHS = [1, 10, 100, 1000] as const;

/**
 * Defaults keep a full run near 4 minutes on a 2-core machine (10 network scenarios x 4 clients x
 * (1 warm-up + 7 rounds) x 400 ms, plus memory and codec). On a shared machine other work comes and goes
 * within seconds, so more short rounds beat fewer long ones: a median of 7 shrugs off two disturbed
 * rounds on either side, and 400 ms still holds a few thousand sequential operations.
 */
export function readKnobs(env: Env = process.env): Knobs {
  const depths = list(env, "BENCH_DEPTHS").map((d) => {
    const n = Number(d);
    if (!Number.isInteger(n) || n < 1)
      throw new KnobError(`BENCH_DEPTHS entries must be integers >= 1, got "${d}"`);
    return n;
  });
  return {
    rounds: int(env, "BENCH_ROUNDS", 7, 1),
    warmup: int(env, "BENCH_WARMUP", 1, 0),
    lockWarmup: int(env, "BENCH_LOCK_WARMUP", 4, 0),
    durationMs: int(env, "BENCH_DURATION_MS", 400, 10),
    ops: int(env, "BENCH_OPS", 0, 0),
    depths: depths.length > 0 ? depths : DEFAULT_DEPTHS,
    scenarios: list(env, "BENCH_SCENARIOS"),
    clients: list(env, "BENCH_CLIENTS"),
    dataBytes: int(env, "BENCH_DATA_BYTES", 100, 0),
    memoryRequests: int(env, "BENCH_MEMORY_REQUESTS", 10_000, 1),
    pauseMs: int(env, "BENCH_PAUSE_MS", 50, 0),
    serverWarmupMs: int(env, "BENCH_SERVER_WARMUP_MS", 10_000, 0),
    codecSampleMs: int(env, "BENCH_CODEC_SAMPLE_MS", 10, 1),
    codecSamples: int(env, "BENCH_CODEC_SAMPLES", 7, 1),
    cpuProf: list(env, "BENCH_CPU_PROF"),
    profDir: env.BENCH_PROF_DIR || "bench/profiles",
    zkVersion: env.BENCH_ZK_VERSION || env.ZK_VERSION || DEFAULT_ZK_VERSION,
    idleFill: flag(env, "BENCH_IDLE_FILL", false),
    cpus: placement(env),
    serverJvmArgs: (env.BENCH_SERVER_JVM_ARGS ?? DEFAULT_SERVER_JVM_ARGS.join(" "))
      .split(/\s+/)
      .filter((s) => s !== ""),
  };
}

/**
 * The server line a run measures against, whatever else is installed (the harness's rule): a figure means
 * little without the server it was taken against, and a machine's own package (Debian's 3.8.0) must not
 * be measured by accident. BENCH_ZK_VERSION=3.8 (or an exact release) for another.
 */
export const DEFAULT_ZK_VERSION = "3.9";

/**
 * The test harness runs servers with C1 only and a 256 MB heap so that test JVMs start fast and stay
 * small. A benchmark wants the opposite: the server is the bottleneck on this machine, so it gets the
 * C2 compiler back (a later -XX flag wins) and room for 10,000 requests in flight.
 */
export const DEFAULT_SERVER_JVM_ARGS = ["-XX:TieredStopAtLevel=4", "-Xms256m", "-Xmx512m"] as const;

/** `*` matches any run of characters; everything else is literal. */
export function matches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
  return re.test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** The knobs that differ from their defaults, as `NAME=value` words for the command line in results. */
export function knobsSet(env: Env = process.env): string[] {
  return Object.keys(env)
    .filter(
      (k) =>
        (k.startsWith("BENCH_") || k === "ZK_CONNECT" || k === "ZK_VERSION" || k === "ZK_SOURCES") &&
        env[k] !== "",
    )
    .sort()
    .map((k) => `${k}=${shellQuote(env[k]!)}`);
}

function shellQuote(s: string): string {
  return /^[\w,.:/=*-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
