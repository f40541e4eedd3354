/**
 * One client's worker process, driven by the parent over IPC; it lives for the whole benchmark.
 *
 * Why a process per client, kept alive across rounds:
 * - CPU per operation must be the client's alone. process.cpuUsage() is per process (getrusage of all
 *   its threads, so a native client's threads count too); in a process of its own a client's figure
 *   holds nothing of another client, of the parent's bookkeeping, or of the ZooKeeper JVM that shares
 *   these cores.
 * - Clients sharing one process would share V8's state: garbage one client leaves is collected on
 *   another's time, and shared code (Buffer methods, promise machinery) gets type feedback from both.
 * - Kept alive, a worker keeps its JIT-compiled code and warm connection from round to round, like an
 *   application that has been running for a while; a fresh process per round would measure warm-up.
 * Only one worker runs at a time (the parent waits for each run), so clients never compete for the
 * server or the cores; the idle ones only answer their session's pings.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import {
  type BenchClient,
  type ClientFactory,
  type ClientName,
  type Done,
  loadFactory,
  type Op,
} from "./clients/client.js";
import { type DriveResult, drive, driveLock, type Limit } from "./driver.js";
import type { FromWorker, MemoryDelta, Paths, RunResult, ToWorker } from "./ipc.js";
import { type CpuProfile, summarise } from "./profile.js";
import type { Workload } from "./scenarios.js";
import { percentileSorted } from "./stats.js";

const gc = (globalThis as { gc?: () => void }).gc;

function send(message: FromWorker): void {
  process.send!(message);
}

interface Context {
  name: ClientName;
  factory: ClientFactory;
  connectString: string;
  sessionTimeoutMs: number;
  paths: Paths;
  data: Buffer;
  /** Sessions; [0] runs everything, the others join only for the contended lock scenarios. */
  sessions: BenchClient[];
  profiler: Profiler | null;
  /** Whether the current run is profiled (measured runs only, not warm-ups). */
  profiling: boolean;
}

let ctx: Context | null = null;

process.on("message", (message: ToWorker) => {
  void handle(message).catch((err: unknown) => {
    // A failure outside a run (start, close) ends the worker; the parent sees the exit.
    console.error(`[${ctx?.name ?? "worker"}]`, err);
    process.exit(1);
  });
});
// The parent is gone (interrupted): nothing is left to measure for.
process.on("disconnect", () => process.exit(0));

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case "start": {
      let factory: ClientFactory;
      let first: BenchClient;
      try {
        factory = await loadFactory(message.client);
        first = await factory.connect(message.connectString, message.sessionTimeoutMs);
      } catch (err) {
        send({ type: "unavailable", reason: errorText(err) });
        return;
      }
      ctx = {
        name: message.client,
        factory,
        connectString: message.connectString,
        sessionTimeoutMs: message.sessionTimeoutMs,
        paths: message.paths,
        data: Buffer.alloc(message.dataBytes, 0x61),
        sessions: [first],
        profiler: message.profileDir === null ? null : new Profiler(message.profileDir, message.client),
        profiling: false,
      };
      send({ type: "ready", lock: factory.unsupported("lock") });
      return;
    }
    case "run": {
      try {
        const c = ctx!;
        c.profiling = c.profiler !== null && !message.warmup;
        const result = await run(c, message.scenario, message.workload, message.limit);
        send({ type: "result", id: message.id, result });
      } catch (err) {
        send({ type: "failed", id: message.id, error: errorText(err) });
      }
      return;
    }
    case "close": {
      const c = ctx!;
      const profile = c.profiler === null ? null : await c.profiler.write();
      await Promise.all(c.sessions.map((s) => s.close().catch(() => undefined)));
      send({ type: "closed", profile });
      // Some clients keep timers or native handles alive after close; the worker's job is done.
      setTimeout(() => process.exit(0), 50);
      return;
    }
  }
}

async function run(c: Context, scenario: string, workload: Workload, limit: Limit): Promise<RunResult> {
  const client = c.sessions[0]!;
  let makeIssuer: ((done: Done) => () => void) | null = null;
  let depth = 1;
  switch (workload.kind) {
    case "get-seq":
      makeIssuer = (done) => client.issuer({ kind: "get", path: c.paths.data }, done);
      break;
    case "pipelined": {
      const op: Op =
        workload.op === "get"
          ? { kind: "get", path: c.paths.data }
          : { kind: "set", path: c.paths.set, data: c.data };
      makeIssuer = (done) => client.issuer(op, done);
      depth = workload.depth;
      break;
    }
    case "create-delete":
      makeIssuer = (done) =>
        client.issuer({ kind: "create-delete", path: c.paths.createDelete, data: c.data }, done);
      break;
    case "memory":
      return memory(c, workload.requests);
    case "lock":
      return lockRun(c, scenario, workload.contenders, limit);
  }
  return measure(c, scenario, () =>
    drive(makeIssuer, { depth, limit, latency: workload.kind !== "pipelined" }),
  );
}

/**
 * Runs `body` between two CPU and clock readings. No gc() first: a forced full GC leaves the process
 * slow for the next few hundred milliseconds (measured: with one before every 400 ms run, client CPU per
 * operation was 1.6x (get-seq) to 2.4x (lock-contended-4) what it is without, for every client), so a
 * run after it measures that recovery instead of the client. The garbage a run inherits from the one
 * before is, in steady state, what it leaves to the next.
 */
async function measure(c: Context, scenario: string, body: () => Promise<DriveResult>): Promise<RunResult> {
  const profiler = c.profiling ? c.profiler : null;
  await profiler?.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await body();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await profiler?.stop(scenario);
  const result: RunResult = {
    ops: r.ops,
    errors: r.errors,
    wallMs,
    cpuUs: cpu.user + cpu.system,
    userUs: cpu.user,
  };
  if (r.firstError !== undefined) result.firstError = r.firstError;
  if (r.latencies !== undefined && r.latencies.length > 0) {
    const sorted = Float64Array.from(r.latencies).sort();
    result.p50Us = percentileSorted(sorted, 50) * 1000;
    result.p99Us = percentileSorted(sorted, 99) * 1000;
  }
  return result;
}

/**
 * `requests` getData issued in one go, none awaited, against a baseline taken after two full GCs.
 * Memory is sampled right after issuing (what the client holds for the requests themselves) and then on
 * every event-loop turn until the last reply (frames in flight, replies arriving and their garbage not
 * yet collected); the peak of each figure is kept.
 */
async function memory(c: Context, requests: number): Promise<RunResult> {
  const client = c.sessions[0]!;
  gc?.();
  gc?.();
  const base = process.memoryUsage();
  const delta = (): MemoryDelta => {
    const m = process.memoryUsage();
    return {
      heapUsed: m.heapUsed - base.heapUsed,
      external: m.external - base.external,
      rss: m.rss - base.rss,
    };
  };
  let issued: MemoryDelta = { heapUsed: 0, external: 0, rss: 0 };
  const peak: MemoryDelta = { heapUsed: 0, external: 0, rss: 0 };
  const sample = () => {
    const d = delta();
    peak.heapUsed = Math.max(peak.heapUsed, d.heapUsed);
    peak.external = Math.max(peak.external, d.external);
    peak.rss = Math.max(peak.rss, d.rss);
    return d;
  };
  let sampling = true;
  const tick = () => {
    sample();
    if (sampling) setImmediate(tick);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await drive((done) => client.issuer({ kind: "get", path: c.paths.data }, done), {
    depth: requests,
    limit: { durationMs: 0, ops: requests },
    latency: false,
    afterIssue: () => {
      issued = sample();
      setImmediate(tick);
    },
  });
  sampling = false;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: RunResult = {
    ops: r.ops,
    errors: r.errors,
    wallMs,
    cpuUs: cpu.user + cpu.system,
    userUs: cpu.user,
    memory: { issued, peak },
  };
  if (r.firstError !== undefined) result.firstError = r.firstError;
  return result;
}

async function lockRun(c: Context, scenario: string, contenders: number, limit: Limit): Promise<RunResult> {
  const why = c.factory.unsupported("lock");
  if (why !== null) throw new Error(why);
  // Contenders are sessions of this worker; the extra ones connect outside the measured window.
  while (c.sessions.length < contenders) {
    c.sessions.push(await c.factory.connect(c.connectString, c.sessionTimeoutMs));
  }
  const locks = c.sessions.slice(0, contenders).map((s) => s.lock!(c.paths.lock));
  const count = () => locks.reduce((n, lock) => n + lock.notifications, 0);
  const wakeups = () => locks.reduce((n, lock) => n + (lock.wakeups ?? lock.notifications), 0);
  const before = count();
  const wokenBefore = wakeups();
  const result = await measure(c, scenario, () => driveLock(locks, limit));
  result.notifications = count() - before;
  result.wakeups = wakeups() - wokenBefore;
  return result;
}

/** Inspector CPU profiles of the measured runs only, grouped by scenario, summarised at the end. */
class Profiler {
  private readonly session = new Session();
  private readonly profiles = new Map<string, CpuProfile[]>();
  private enabled = false;

  constructor(
    private readonly dir: string,
    private readonly client: string,
  ) {
    this.session.connect();
  }

  async start(): Promise<void> {
    if (!this.enabled) {
      await this.session.post("Profiler.enable");
      // 100 µs: ten times the default rate, enough samples from a 600 ms run to rank functions.
      await this.session.post("Profiler.setSamplingInterval", { interval: 100 });
      this.enabled = true;
    }
    await this.session.post("Profiler.start");
  }

  async stop(scenario: string): Promise<void> {
    const { profile } = await this.session.post("Profiler.stop");
    const list = this.profiles.get(scenario) ?? [];
    list.push(profile as unknown as CpuProfile);
    this.profiles.set(scenario, list);
  }

  /** Writes each scenario's last profile (for DevTools) and a summary of all its runs; returns the dir. */
  async write(): Promise<string> {
    mkdirSync(this.dir, { recursive: true });
    for (const [scenario, list] of this.profiles) {
      const base = join(this.dir, `${this.client}.${scenario}`);
      writeFileSync(`${base}.cpuprofile`, JSON.stringify(list[list.length - 1]));
      writeFileSync(`${base}.txt`, `${this.client} ${scenario}: ${list.length} runs\n${summarise(list)}`);
    }
    this.session.disconnect();
    return this.dir;
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code === undefined ? err.message : `${err.message} (${String(code)})`;
  }
  return String(err);
}
