/**
 * The cache scenarios (issue 12, section 7): zkwire's TreeCache beside Curator's CuratorCache, each in a
 * process of its own (bench/recipes/cache/program.ts, test/peers/curator/CacheBench.java) driven over one
 * line protocol, against the run's server, rounds interleaved as in the rest of the benchmark.
 *
 *   cache-initial-10k   a cache on a 10,000-node tree (100 directories of 99 leaves, BENCH_DATA_BYTES
 *                       each), from start to initialized; reported in ms, with the cache process's CPU
 *   cache-events        a cache on that tree, initialized; then one writer (a zkwire client in the
 *                       parent, transactions of 100 setData, 10 in flight) sets every leaf once. Reported: changes applied
 *                       per second, 9,900 over the ms from arming the count to the cache's 9,900th
 *                       "changed" event (each leaf changes once, so no cache can fold two changes into one)
 *
 * CPU of each cache process comes from /proc/<pid>/stat (utime + stime, clock ticks of 10 ms: coarse,
 * but the same for the JVM and node). Curator's JVM runs with its default JIT (C2) and a 512 MB heap: the
 * peer tests' short-lived flags (C1 only) would handicap it here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ZooKeeper } from "../../../src/index.js";
import { CURATOR_VERSION, installCurator } from "../../../test/peers/peers.js";
import { matches } from "../../knobs.js";
import { median, medianRatio } from "../../stats.js";

export const CACHE_SCENARIOS = ["cache-initial-10k", "cache-events"] as const;
export type CacheScenario = (typeof CACHE_SCENARIOS)[number];
type Peer = "zkwire" | "curator";

const DIRS = 100;
const LEAVES = 99; // 1 + 100 + 9,900 = 10,001 nodes
const BUILD_DIR = fileURLToPath(new URL("../../../node_modules/.cache/zkwire-bench/", import.meta.url));

/** The cache scenarios BENCH_SCENARIOS selects (all of them when it is empty: they are in the default set). */
export function selectCacheScenarios(filter: readonly string[]): CacheScenario[] {
  if (filter.length === 0) return [...CACHE_SCENARIOS];
  return CACHE_SCENARIOS.filter((s) => filter.some((pattern) => matches(pattern, s)));
}

export interface CacheBenchOptions {
  connectString: string;
  scenarios: readonly CacheScenario[];
  rounds: number;
  warmup: number;
  dataBytes: number;
  log: (line: string) => void;
}

export interface CacheBenchReport {
  markdown: string;
  json: string[];
}

interface Measure {
  /** ms (initial) or changes per second (events). */
  value: number;
  cpuMs: number;
  /** events: ms the writer took for its setData calls (the floor of any cache's time). */
  writerMs?: number;
}

/** One cache process speaking the protocol. */
class CacheProcess {
  readonly #child: ChildProcess;
  readonly #events: Record<string, unknown>[] = [];
  #wake: (() => void) | null = null;
  #exited = false;

  constructor(
    readonly peer: Peer,
    command: string,
    args: string[],
  ) {
    this.#child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      try {
        this.#events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return; // not ours
      }
      this.#wake?.();
    });
    this.#child.on("exit", () => {
      this.#exited = true;
      this.#wake?.();
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** The next event named `name` (an "error" event or the process's exit rejects). */
  async next(name: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#events.findIndex((e) => e.event === name || e.event === "error");
      if (i >= 0) {
        const [e] = this.#events.splice(i, 1);
        if (e!.event === "error") throw new Error(`${this.peer}: ${String(e!.message)}`);
        return e!;
      }
      if (this.#exited) throw new Error(`${this.peer} exited before "${name}"`);
      if (Date.now() > deadline) throw new Error(`${this.peer}: no "${name}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 1_000);
      });
      this.#wake = null;
    }
  }

  send(line: string): void {
    this.#child.stdin!.write(`${line}\n`);
  }

  /** CPU time of the process so far, in ms (utime + stime; Linux). */
  cpuMs(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 10; // fields 14 and 15; USER_HZ 100
    } catch {
      return Number.NaN;
    }
  }

  async quit(): Promise<void> {
    if (this.#exited) return;
    this.send("quit");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await new Promise<void>((resolve) =>
      this.#exited ? resolve() : this.#child.once("exit", () => resolve()),
    );
    clearTimeout(timer);
  }
}

async function startPeer(peer: Peer, connect: string): Promise<CacheProcess> {
  let p: CacheProcess;
  if (peer === "zkwire") {
    p = new CacheProcess(peer, process.execPath, [`${BUILD_DIR}bench/recipes/cache/program.js`, connect]);
  } else {
    const curator = await installCurator();
    p = new CacheProcess(peer, curator.java, [
      "-Xms256m",
      "-Xmx512m",
      "-XX:-UsePerfData",
      "-cp",
      [curator.classesDir, ...curator.classpath].join(":"),
      "CacheBench",
      connect,
    ]);
  }
  await p.next("ready", 60_000);
  return p;
}

async function initialRound(p: CacheProcess, tree: string, nodes: number): Promise<Measure> {
  const cpu = p.cpuMs();
  p.send(`initial ${tree}`);
  const e = await p.next("initial");
  if (e.nodes !== nodes)
    throw new Error(`${p.peer}: initialized with ${String(e.nodes)} nodes, not ${nodes}`);
  return { value: e.ms as number, cpuMs: p.cpuMs() - cpu };
}

async function eventsRound(
  p: CacheProcess,
  writer: ZooKeeper,
  tree: string,
  leaves: string[],
  round: number,
  dataBytes: number,
): Promise<Measure> {
  p.send(`watch ${tree}`);
  await p.next("watching");
  const cpu = p.cpuMs();
  p.send(`expect ${leaves.length}`);
  await p.next("armed");
  const data = Buffer.alloc(dataBytes, 0x61 + (round % 26));
  // Transactions of 100 setData each, 10 in flight: the server applies changes faster than one client
  // sends single writes, so the cache, not the writer, is what is measured.
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < leaves.length) {
        const tx = writer.transaction();
        for (const leaf of leaves.slice(next, next + 100)) tx.setData(leaf, data);
        next += 100;
        await tx.commit();
      }
    }),
  );
  const writerMs = performance.now() - t0;
  const e = await p.next("applied");
  const cpuMs = p.cpuMs() - cpu;
  p.send("unwatch");
  await p.next("closed");
  return { value: (leaves.length / (e.ms as number)) * 1000, cpuMs, writerMs };
}

export async function runCacheScenarios(options: CacheBenchOptions): Promise<CacheBenchReport> {
  const { log } = options;
  const writer = await ZooKeeper.connect(options.connectString, { sessionTimeout: 30_000 });
  const root = `/zkwire-bench-cache-${process.pid}`;
  const tree = `${root}/tree`;
  const results = new Map<CacheScenario, Map<Peer, Measure[]>>();
  const skipped: string[] = [];
  const peers: CacheProcess[] = [];
  try {
    log(`cache scenarios: building a ${1 + DIRS + DIRS * LEAVES}-node tree...`);
    const data = Buffer.alloc(options.dataBytes, 0x61);
    await writer.create(tree, data, { createParents: true });
    const leaves: string[] = [];
    await Promise.all(Array.from({ length: DIRS }, (_, d) => writer.create(`${tree}/d${d}`, data)));
    const creates: Promise<unknown>[] = [];
    for (let d = 0; d < DIRS; d++) {
      for (let n = 0; n < LEAVES; n++) {
        const leaf = `${tree}/d${d}/n${n}`;
        leaves.push(leaf);
        creates.push(writer.create(leaf, data));
      }
    }
    await Promise.all(creates);
    const nodes = 1 + DIRS + leaves.length;

    for (const peer of ["zkwire", "curator"] as const) {
      try {
        peers.push(await startPeer(peer, options.connectString));
      } catch (err) {
        skipped.push(`${peer}: ${(err as Error).message}`);
        log(`cache scenarios: skipping ${peer}: ${(err as Error).message}`);
      }
    }
    for (const scenario of options.scenarios) {
      const byPeer = new Map<Peer, Measure[]>(peers.map((p) => [p.peer, []]));
      results.set(scenario, byPeer);
      const total = options.warmup + options.rounds;
      // A failed round (a peer that died or hung) ends this scenario, not the whole benchmark run.
      try {
        for (let round = 0; round < total; round++) {
          const warmup = round < options.warmup;
          const figures: string[] = [];
          const k = round % Math.max(1, peers.length);
          for (const p of [...peers.slice(k), ...peers.slice(0, k)]) {
            const m =
              scenario === "cache-initial-10k"
                ? await initialRound(p, tree, nodes)
                : await eventsRound(p, writer, tree, leaves, round, options.dataBytes);
            if (!warmup) byPeer.get(p.peer)!.push(m);
            const unit = scenario === "cache-initial-10k" ? "ms" : "changes/s";
            const wrote = m.writerMs === undefined ? "" : `, writer ${Math.round(m.writerMs)} ms`;
            figures.push(`${p.peer} ${Math.round(m.value)} ${unit} (CPU ${Math.round(m.cpuMs)} ms${wrote})`);
          }
          log(
            `${scenario} ${warmup ? "warm-up" : `round ${round - options.warmup + 1}/${options.rounds}`}: ${figures.join(", ")}`,
          );
        }
      } catch (err) {
        skipped.push(
          `${scenario} after ${byPeer.get("zkwire")?.length ?? 0} rounds: ${(err as Error).message}`,
        );
        log(`${scenario} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await Promise.all(peers.map((p) => p.quit()));
    await writer.deleteRecursive(root).catch((err: unknown) => log(`cleanup of ${root} failed: ${err}`));
    await writer.close();
  }
  return report(results, skipped, options);
}

function report(
  results: Map<CacheScenario, Map<Peer, Measure[]>>,
  skipped: string[],
  options: CacheBenchOptions,
): CacheBenchReport {
  const rows: string[] = [];
  const json: string[] = [];
  for (const [scenario, byPeer] of results) {
    const z = byPeer.get("zkwire") ?? [];
    const c = byPeer.get("curator") ?? [];
    const values = (ms: Measure[]) => ms.map((m) => m.value);
    const cpus = (ms: Measure[]) => ms.map((m) => m.cpuMs);
    const unit = scenario === "cache-initial-10k" ? "ms" : "changes/s";
    const cell = (ms: Measure[]) =>
      ms.length === 0
        ? "skipped"
        : `${Math.round(median(values(ms))).toLocaleString("en-US")} ${unit} (CPU ${Math.round(median(cpus(ms)))} ms)`;
    // Better is lower time for the initial load, more changes per second for events: the ratio is
    // said so that above 1 favours zkwire in both.
    const ratio =
      z.length > 0 && c.length > 0
        ? scenario === "cache-initial-10k"
          ? medianRatio(values(c), values(z))
          : medianRatio(values(z), values(c))
        : Number.NaN;
    rows.push(
      `| \`${scenario}\` | ${cell(z)} | ${cell(c)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "-"} | ${
        Number.isFinite(ratio) ? medianRatio(cpus(z), cpus(c)).toFixed(2) : "-"
      } |`,
    );
    for (const [peer, ms] of byPeer) {
      json.push(
        JSON.stringify({
          type: "cache",
          scenario,
          client: peer,
          [scenario === "cache-initial-10k" ? "ms" : "changesPerSec"]: median(values(ms)),
          cpuMs: median(cpus(ms)),
          rounds: ms.length,
        }),
      );
    }
  }
  const markdown = [
    "### Cache scenarios",
    "",
    `zkwire's TreeCache beside Curator ${CURATOR_VERSION}'s CuratorCache, each in its own process, medians over ` +
      `${options.rounds} rounds (bench/recipes/cache/run.ts). \`cache-initial-10k\`: start to initialized on a ` +
      `10,001-node tree of ${options.dataBytes}-byte nodes. \`cache-events\`: 9,900 leaves set once each by ` +
      "another client, changes applied per second. CPU is the cache process's (utime + stime, 10 ms ticks). " +
      "Speed-up: Curator's time ÷ zkwire's (initial), zkwire's rate ÷ Curator's (events), the median of " +
      "per-round ratios; above 1 favours zkwire. CPU ratio: zkwire's ÷ Curator's.",
    "",
    "| scenario | zkwire TreeCache | Curator CuratorCache | speed-up | CPU ratio |",
    "| :-- | --: | --: | --: | --: |",
    ...rows,
    ...(skipped.length > 0 ? ["", ...skipped.map((s) => `- skipped ${s}`)] : []),
    "",
  ].join("\n");
  return { markdown, json };
}
