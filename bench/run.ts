/**
 * `npm run bench`: zkwire side by side with node-zookeeper-client, the native `zookeeper` package and a
 * raw-socket floor, against a throwaway local ZooKeeper (or ZK_CONNECT). See bench/README.md.
 *
 *   parent (this file)                      one worker process per client (worker.ts)
 *   ------------------                      -----------------------------------------
 *   server, nodes, order of runs   --run--> drive the client, time it, cpuUsage() of its own process
 *   medians, ratios, tables       <--result--
 *
 * Runs are interleaved: every round runs each client once, the order rotating from round to round
 * (A B C D, B C D A, ...), so slow drift (server GC, JIT in the server, a noisy neighbour) spreads over
 * all clients instead of landing on whoever runs last. Warm-up rounds come first and are dropped.
 *
 *   npm run bench                       markdown tables on stdout, progress on stderr
 *   npm run bench -- --json             one JSON object per line instead
 *   npm run bench -- --out FILE         also write the report with machine and command (RESULTS.md)
 */
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { ZooKeeper } from "../src/index.js";
import { srvr, startZooKeeper, type ZooKeeperCluster } from "../src/testing/index.js";
import { lineOf } from "../src/testing/versions.js";
import { CLIENT_NAMES, type ClientName, isClientName, OPT_IN_CLIENTS } from "./clients/client.js";
import {
  CODEC_CASES,
  CODEC_IMPLS,
  type CodecImpl,
  type CodecOp,
  type CodecRecord,
  codecScenarioName,
} from "./codec/cases.js";
import type { FromCodecWorker, ToCodecWorker } from "./codec/worker.js";
import { cpus } from "./cpus.js";
import { startIdleFill } from "./idle-fill.js";
import type { FromWorker, Paths, RunResult, ToWorker } from "./ipc.js";
import { KnobError, type Knobs, knobsSet, matches, readKnobs } from "./knobs.js";
import {
  cpuClock,
  describeMachine,
  disturbedRounds,
  loadAverage,
  machineMarkdown,
  percent,
  stolenShare,
} from "./machine.js";
import { type CacheBenchReport, runCacheScenarios, selectCacheScenarios } from "./recipes/cache/run.js";
import * as failover from "./recipes/election-failover.js";
import {
  REBALANCE_SCENARIO,
  type RebalanceResult,
  readRebalanceKnobs,
  rebalanceJson,
  rebalanceMarkdown,
  runPartitionRebalance,
} from "./recipes/partition-rebalance.js";
import {
  type CodecResults,
  codecRows,
  jsonLines,
  markdown,
  memoryRows,
  type NetworkResults,
  networkRows,
  type Skips,
} from "./report.js";
import { allScenarios, type Scenario, selectScenarios } from "./scenarios.js";
import { serverCpuReader } from "./server-cpu.js";
import { rotate } from "./stats.js";

const SESSION_TIMEOUT_MS = 30_000;
/** How long a codec batch keeps running before it is timed, so the timed batches run optimised code. */
const CODEC_WARMUP_MS = 300;
/** Above this share of CPU time stolen by other virtual machines, the run warns that it is noisy. */
const STOLEN_WARNING = 0.05;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A forked worker answering one request at a time. */
class Worker<In, Out extends { type: string }> {
  private readonly child: ChildProcess;
  private waiting: { resolve: (m: Out) => void; reject: (e: Error) => void } | null = null;
  private exited = false;

  constructor(
    readonly label: string,
    file: string,
    execArgv: string[],
  ) {
    // The child's stdout goes to our stderr: stdout is the report's (JSON lines must stay clean).
    this.child = fork(file, [], { execArgv, stdio: ["ignore", 2, 2, "ipc"] });
    this.child.on("message", (m: Out) => {
      const w = this.waiting;
      this.waiting = null;
      w?.resolve(m);
    });
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(new Error(`${label} worker exited (${signal ?? code})`));
    });
  }

  request(message: In): Promise<Out> {
    if (this.exited) return Promise.reject(new Error(`${this.label} worker has exited`));
    if (this.waiting !== null) throw new Error("one request at a time");
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.send(message as object);
    });
  }

  /** Ends the worker we started (by its own handle; never anything else). */
  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}

type ClientWorker = Worker<ToWorker, FromWorker>;
type CodecWorker = Worker<ToCodecWorker, FromCodecWorker>;

/**
 * The workers run JavaScript compiled by tsc, as the published package is, not TypeScript through tsx:
 * tsx compiles with esbuild's keepNames, which wraps every function expression in a `__name()` call
 * that runs each time a closure is created, a cost zkwire's users never pay and its peers (plain
 * JavaScript) never pay here. The output goes under node_modules/.cache, where the repository's own
 * `node_modules` still resolves and no linter or type check looks.
 */
const BUILD_DIR = fileURLToPath(new URL("../node_modules/.cache/zkwire-bench/", import.meta.url));

function compileWorkers(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const r = spawnSync(
    process.execPath,
    [tsc, "-p", fileURLToPath(new URL("tsconfig.workers.json", import.meta.url))],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`compiling the workers failed:\n${r.stdout}${r.stderr}`);
  // Outside the repository's package scope (node_modules ends it), so say what the .js files are.
  mkdirSync(BUILD_DIR, { recursive: true });
  writeFileSync(`${BUILD_DIR}package.json`, '{ "type": "module" }\n');
}

const workerFile = (path: string) => `${BUILD_DIR}bench/${path}`;

function workerArgs(profile: boolean): string[] {
  // Source maps only when profiling: they locate profile samples in the TypeScript, and otherwise
  // only slow down stack traces.
  return ["--expose-gc", ...(profile ? ["--enable-source-maps"] : [])];
}

function commandLine(args: readonly string[]): string {
  const base = process.env.npm_lifecycle_event === "bench" ? "npm run bench" : "npx tsx bench/run.ts";
  const rest =
    args.length > 0 ? (base.startsWith("npm") ? ` -- ${args.join(" ")}` : ` ${args.join(" ")}`) : "";
  return [...knobsSet(), `${base}${rest}`].join(" ");
}

interface Options {
  json: boolean;
  out: string | undefined;
}

function parseArgs(args: readonly string[]): Options {
  const options: Options = { json: false, out: undefined };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--json") options.json = true;
    else if (a === "--out" && args[i + 1] !== undefined) options.out = args[++i];
    else throw new KnobError(`unknown argument "${a}"; known: --json, --out FILE`);
  }
  return options;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const options = parseArgs(args);
  const knobs = readKnobs();
  for (const c of knobs.clients) {
    if (!isClientName(c))
      throw new KnobError(`BENCH_CLIENTS: unknown client "${c}"; known: ${CLIENT_NAMES.join(", ")}`);
  }
  const clients = CLIENT_NAMES.filter((c) =>
    knobs.clients.length === 0 ? !OPT_IN_CLIENTS.includes(c) : knobs.clients.includes(c),
  );
  const scenarios = selectScenarios(allScenarios(knobs), knobs.scenarios);
  const codecCases = CODEC_CASES.flatMap((record) =>
    (["encode", "decode"] as const).map((op) => ({ record, op, name: codecScenarioName(record, op) })),
  ).filter((c) => knobs.scenarios.length === 0 || knobs.scenarios.some((p) => matches(p, c.name)));
  const codecImpls = CODEC_IMPLS.filter((i) => clients.includes(i));
  const cacheScenarios = selectCacheScenarios(knobs.scenarios);
  // The recipe benchmarks run member processes of their own (bench/recipes/), not the client workers.
  const rebalance =
    knobs.scenarios.length === 0 || knobs.scenarios.some((p) => matches(p, REBALANCE_SCENARIO))
      ? readRebalanceKnobs()
      : null;
  let rebalanced: RebalanceResult | null = null;
  const wantsFailover = failover.wantsElectionFailover(knobs);
  let failoverResults: failover.FailoverResults | null = null;
  if (
    scenarios.length === 0 &&
    cacheScenarios.length === 0 &&
    rebalance === null &&
    !wantsFailover &&
    (codecCases.length === 0 || codecImpls.length === 0)
  ) {
    throw new KnobError("BENCH_SCENARIOS and BENCH_CLIENTS select nothing to run");
  }

  const skips: Skips = { clients: new Map(), pairs: [] };
  const network: NetworkResults = new Map();
  /** Each network scenario's measured rounds: the share of the CPU time stolen during each. */
  const stolenRounds = new Map<string, number[]>();
  const codec: CodecResults = new Map();
  let zookeeper = "not started (codec only)";
  /** The release line measured ("3.9"), which names the run's section of the results file. */
  let serverLine = "codec only";
  let cacheReport: CacheBenchReport | null = null;

  const workers = new Map<ClientName, ClientWorker>();
  /** Why a ready client cannot run the lock scenarios (as its worker reports), or null. */
  const lockSupport = new Map<ClientName, string | null>();
  let cluster: ZooKeeperCluster | null = null;
  let setup: ZooKeeper | null = null;
  let root = "";
  const started = new Date();
  // Read before anything runs: the commit and versions are those the run starts with.
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const clockBefore = cpuClock();
  const cores = availableParallelism();
  if (loadBefore > cores / 2) {
    log(
      `warning: load average ${loadBefore.toFixed(2)} on ${cores} cores; other work will make the figures noisy`,
    );
  }
  process.once("SIGINT", () => {
    // Exit handlers (the harness stops its JVM there) run on process.exit, not on a signal death.
    for (const w of workers.values()) w.kill();
    process.exit(130);
  });

  try {
    log("compiling the workers...");
    compileWorkers();
    if (scenarios.length > 0 || cacheScenarios.length > 0 || rebalance !== null || wantsFailover) {
      log("starting ZooKeeper...");
      cluster = await startZooKeeper({ version: knobs.zkVersion, jvmArgs: knobs.serverJvmArgs });
      zookeeper = `${cluster.version} (${cluster.source}${cluster.source === "external" ? `, ${cluster.connectString}` : `, asked for ${knobs.zkVersion}`})`;
      serverLine = lineOf(cluster.version);
      log(`ZooKeeper ${zookeeper} at ${cluster.connectString}`);
      const serverPid = cluster.servers[0]?.pid;
      if (knobs.cpus !== "shared") {
        if (serverPid === undefined)
          throw new Error(`BENCH_CPUS=${knobs.cpus}: the server's process id is unknown`);
        const placement = cpus(knobs.cpus, "BENCH_CPUS");
        placement.server(serverPid);
        placement.client(process.pid); // the workers and peers started from here inherit its core
        log(`BENCH_CPUS=${knobs.cpus}: the server and the clients pinned (bench/cpus.ts)`);
      }
      const serverCpu = serverCpuReader(serverPid);
      const first = cluster.servers[0];
      const serverRequests =
        cluster.source === "external" || first === undefined
          ? null
          : async () => (await srvr(first.host, first.clientPort, 5_000))?.received ?? Number.NaN;
      setup = await ZooKeeper.connect(cluster.connectString);
      root = `/zkwire-bench-${process.pid}`;
      await setup.create(root);
      await setup.create(`${root}/data`, Buffer.alloc(knobs.dataBytes, 0x61));
      await setup.create(`${root}/set`, Buffer.alloc(knobs.dataBytes, 0x61));
      for (const client of clients) await setup.create(`${root}/lock-${client}`);

      await Promise.all(
        clients.map(async (client) => {
          const profile = knobs.cpuProf.includes(client) || knobs.cpuProf.includes("all");
          const w: ClientWorker = new Worker(client, workerFile("worker.js"), workerArgs(profile));
          const paths: Paths = {
            root,
            data: `${root}/data`,
            set: `${root}/set`,
            createDelete: `${root}/cd-${client}`,
            lock: `${root}/lock-${client}`,
          };
          const answer = await w.request({
            type: "start",
            client,
            connectString: cluster!.connectString,
            sessionTimeoutMs: SESSION_TIMEOUT_MS,
            paths,
            dataBytes: knobs.dataBytes,
            profileDir: profile ? knobs.profDir : null,
          });
          if (answer.type === "ready") {
            workers.set(client, w);
            lockSupport.set(client, answer.lock);
          } else {
            skips.clients.set(
              client,
              answer.type === "unavailable" ? answer.reason : `unexpected ${answer.type}`,
            );
            w.kill();
          }
        }),
      );
      for (const [client, reason] of skips.clients) log(`skipping ${client}: ${reason}`);
      const ready = clients.filter((c) => workers.has(c));
      const fill = knobs.idleFill && scenarios.length > 0 ? startIdleFill() : null;
      try {
        await warmServer(scenarios, ready, workers, lockSupport, knobs);
        for (const scenario of scenarios) {
          const stolen: number[] = [];
          stolenRounds.set(scenario.name, stolen);
          await runScenario(scenario, ready, workers, lockSupport, knobs, network, skips, stolen, {
            cpu: serverCpu,
            requests: serverRequests,
          });
        }
      } finally {
        await fill?.stop();
      }
      if (rebalance !== null)
        rebalanced = await runPartitionRebalance(cluster.connectString, root, rebalance, log);
      if (wantsFailover)
        failoverResults = await failover.runElectionFailover(cluster.connectString, root, knobs, log);
      if (cacheScenarios.length > 0) {
        cacheReport = await runCacheScenarios({
          connectString: cluster.connectString,
          scenarios: cacheScenarios,
          rounds: knobs.rounds,
          warmup: knobs.warmup,
          dataBytes: knobs.dataBytes,
          log,
        });
      }
    }
    if (codecCases.length > 0 && codecImpls.length > 0) {
      await runCodec(codecCases, codecImpls, knobs, codec);
    }
  } finally {
    const profiles = await Promise.all(
      [...workers.values()].map(async (w) => {
        const answer = await w.request({ type: "close" }).catch(() => null);
        w.kill();
        return answer?.type === "closed" ? answer.profile : null;
      }),
    );
    for (const dir of new Set(profiles.filter((p): p is string => p !== null))) {
      log(`CPU profiles and summaries written to ${dir}/`);
    }
    if (setup !== null) {
      await setup.deleteRecursive(root).catch((err: unknown) => log(`cleanup of ${root} failed: ${err}`));
      await setup.close();
    }
    await cluster?.close();
  }

  const stolen = stolenShare(clockBefore, cpuClock());
  const disturbed = `Rounds with more than ${percent(STOLEN_WARNING)} of the CPU time stolen: ${disturbedRounds(stolenRounds, STOLEN_WARNING)}`;
  if (stolen !== null && stolen > STOLEN_WARNING) {
    log(`warning: ${percent(stolen)} of the CPU time went to other virtual machines; the figures are noisy`);
  }
  const rows = networkRows(network);
  const memory = memoryRows(network, knobs.memoryRequests);
  const codecTable = codecRows(codec);
  if (options.json) {
    for (const line of jsonLines(rows, memory, codecTable, skips)) process.stdout.write(`${line}\n`);
    for (const line of rebalanced === null ? [] : rebalanceJson(rebalanced))
      process.stdout.write(`${line}\n`);
    for (const line of failoverResults ? failover.failoverJson(failoverResults) : [])
      process.stdout.write(`${line}\n`);
    for (const line of cacheReport?.json ?? []) process.stdout.write(`${line}\n`);
  } else {
    process.stdout.write(
      `ZooKeeper: ${zookeeper}\nCPU time stolen by other virtual machines: ${percent(stolen)}\n${disturbed}\n\n`,
    );
    process.stdout.write(
      markdown(rows, memory, knobs.memoryRequests, codecTable, skips, {
        serverLine,
        idleFill: knobs.idleFill,
        cpus: knobs.cpus,
      }),
    );
    if (rebalanced !== null) process.stdout.write(`\n${rebalanceMarkdown(rebalanced)}`);
    if (failoverResults) process.stdout.write(`\n${failover.failoverMarkdown(failoverResults)}`);
    if (cacheReport !== null) process.stdout.write(`\n${cacheReport.markdown}`);
  }
  if (options.out !== undefined) {
    machine.zookeeper = zookeeper;
    const report = [
      machineMarkdown(machine, commandLine(args), started, [loadBefore, loadAverage()], stolen),
      `- ${disturbed}`,
      `- Knobs: ${knobs.rounds} rounds after ${knobs.warmup} warm-up (the locks: ${knobs.lockWarmup}), ${
        knobs.ops > 0 ? `${knobs.ops} ops` : `${knobs.durationMs} ms`
      } per run; BENCH_CPUS=${knobs.cpus}; server JVM flags ${knobs.serverJvmArgs.join(" ")}`,
      "",
      markdown(rows, memory, knobs.memoryRequests, codecTable, skips, {
        serverLine,
        idleFill: knobs.idleFill,
        cpus: knobs.cpus,
      }),
      ...(rebalanced === null ? [] : [rebalanceMarkdown(rebalanced)]),
      failoverResults ? failover.failoverMarkdown(failoverResults) : "",
      cacheReport?.markdown ?? "",
    ].join("\n");
    writeFileSync(options.out, withSection(existing(options.out), serverLine, report));
    // The recipe scenarios' tables are not column-aligned; biome (which CI runs on markdown too) aligns them.
    const formatted = spawnSync("npx", ["--no-install", "biome", "format", "--write", options.out], {
      encoding: "utf8",
    });
    if (formatted.status !== 0)
      log(`biome format ${options.out} failed: ${formatted.stderr || formatted.error}`);
    log(`report written to ${options.out}, section "ZooKeeper ${serverLine}"`);
  }
}

async function runScenario(
  scenario: Scenario,
  ready: readonly ClientName[],
  workers: Map<ClientName, ClientWorker>,
  lockSupport: Map<ClientName, string | null>,
  knobs: Knobs,
  results: NetworkResults,
  skips: Skips,
  stolenRounds: number[],
  server: { cpu: (() => number) | null; requests: (() => Promise<number>) | null },
): Promise<void> {
  const serverCpu = server.cpu;
  const runnable = ready.filter((client) => {
    if (scenario.workload.kind !== "lock") return true;
    const reason = lockSupport.get(client) ?? null;
    if (reason !== null) skips.pairs.push({ scenario: scenario.name, client, reason });
    return reason === null;
  });
  if (runnable.length === 0) return;
  const byClient = new Map<ClientName, (RunResult | null)[]>(runnable.map((c) => [c, []]));
  results.set(scenario.name, byClient);
  const warmups = scenario.workload.kind === "lock" ? knobs.lockWarmup : knobs.warmup;
  const total = warmups + knobs.rounds;
  for (let round = 0; round < total; round++) {
    const warmup = round < warmups;
    const figures: string[] = [];
    const clock = cpuClock();
    for (const client of rotate(runnable, round)) {
      const requestsBefore = await server.requests?.();
      const serverBefore = serverCpu?.();
      const answer = await workers.get(client)!.request({
        type: "run",
        id: round,
        scenario: scenario.name,
        workload: scenario.workload,
        limit: { durationMs: knobs.durationMs, ops: knobs.ops },
        warmup,
      });
      let result: RunResult | null = null;
      if (answer.type === "result") {
        result = answer.result;
        if (serverCpu !== null) result.serverCpuUs = serverCpu() - serverBefore!;
        // Read after the CPU: the srvr connection's own work is not the client's load.
        if (server.requests !== null) result.serverRequests = (await server.requests()) - requestsBefore!;
        figures.push(`${client} ${summary(result)}`);
      } else {
        figures.push(`${client} failed: ${answer.type === "failed" ? answer.error : answer.type}`);
      }
      if (!warmup) byClient.get(client)!.push(result);
      if (knobs.pauseMs > 0) await sleep(knobs.pauseMs);
    }
    const stolen = stolenShare(clock, cpuClock());
    if (!warmup && stolen !== null) stolenRounds.push(stolen);
    log(
      `${scenario.name} ${warmup ? "warm-up" : `round ${round - warmups + 1}/${knobs.rounds}`}: ${figures.join(", ")}${stolen === null ? "" : ` (stolen ${percent(stolen)})`}`,
    );
  }
}

/**
 * Load before the first measured scenario, so that every scenario meets a server whose JIT is warm:
 * a fresh server's C2 compiler takes about ten seconds of load to reach its steady speed (measured on
 * 3.8: a contended lock ran at 230 acquisitions/s in its first second and 2,200/s after twelve), so a
 * run of a few scenarios alone would measure the warm-up and a full run would not. The turns go round
 * the selected scenarios, each turn the next scenario's workload with the next of its clients, until the
 * time is spent, so that every scenario's server paths are warmed however many there are (taken
 * scenario after scenario, the default 10 s ended before the last ones); nothing is kept. The lock
 * scenarios are left out when others are selected: a lock run connects the contending sessions, which
 * would stay open through every scenario after it. They run last and warm in their own warm-up rounds.
 */
async function warmServer(
  scenarios: readonly Scenario[],
  ready: readonly ClientName[],
  workers: Map<ClientName, ClientWorker>,
  lockSupport: Map<ClientName, string | null>,
  knobs: Knobs,
): Promise<void> {
  const network = scenarios.filter((s) => s.workload.kind !== "memory");
  const others = network.filter((s) => s.workload.kind !== "lock");
  const each = (others.length > 0 ? others : network)
    .map((scenario) => ({
      scenario,
      clients: ready.filter((c) => scenario.workload.kind !== "lock" || lockSupport.get(c) === null),
    }))
    .filter((s) => s.clients.length > 0);
  if (knobs.serverWarmupMs === 0 || each.length === 0) return;
  const started = performance.now();
  log(`warming the server for ${knobs.serverWarmupMs} ms (BENCH_SERVER_WARMUP_MS)`);
  for (let turn = 0; performance.now() - started < knobs.serverWarmupMs; turn++) {
    const { scenario, clients } = each[turn % each.length]!;
    const client = clients[Math.floor(turn / each.length) % clients.length]!;
    await workers.get(client)!.request({
      type: "run",
      id: -1,
      scenario: scenario.name,
      workload: scenario.workload,
      limit: { durationMs: knobs.durationMs, ops: 0 },
      warmup: true,
    });
  }
}

function summary(r: RunResult): string {
  if (r.memory !== undefined) {
    return `heap +${Math.round(r.memory.issued.heapUsed / 1024)} KB at issue, +${Math.round(r.memory.peak.heapUsed / 1024)} KB peak`;
  }
  const ops = Math.round(r.ops / (r.wallMs / 1000));
  const server =
    r.serverCpuUs === undefined ? "" : `, ${(r.serverCpuUs / Math.max(1, r.ops)).toFixed(1)} server`;
  const cpu = `${(r.cpuUs / Math.max(1, r.ops)).toFixed(1)}(${(r.userUs / Math.max(1, r.ops)).toFixed(1)} user${server})`;
  const p50 = r.p50Us === undefined ? "" : ` p50 ${r.p50Us.toFixed(0)}µs`;
  const errors = r.errors > 0 ? ` ${r.errors} errors (${r.firstError})` : "";
  return `${ops} ops/s ${cpu}µs/op${p50}${errors}`;
}

async function runCodec(
  cases: readonly { record: CodecRecord; op: CodecOp; name: string }[],
  impls: readonly CodecImpl[],
  knobs: Knobs,
  results: CodecResults,
): Promise<void> {
  const workers = new Map<CodecImpl, CodecWorker>();
  try {
    const checks = new Map<CodecImpl, Record<string, string>>();
    for (const impl of impls) {
      const w: CodecWorker = new Worker(`codec ${impl}`, workerFile("codec/worker.js"), workerArgs(false));
      workers.set(impl, w);
      const answer = await w.request({ type: "start", impl });
      if (answer.type !== "ready") throw new Error(`codec worker ${impl} did not start`);
      checks.set(impl, answer.checks);
    }
    for (const c of cases) {
      // The same bytes out of every codec, or they are not doing the same work.
      const seen = new Set(impls.map((i) => checks.get(i)![c.name]));
      if (seen.size > 1) throw new Error(`${c.name}: the codecs disagree on the bytes`);
      const byImpl = new Map<CodecImpl, number[]>(impls.map((i) => [i, []]));
      results.set(c.name, byImpl);
      const total = knobs.warmup + knobs.rounds;
      for (let round = 0; round < total; round++) {
        const figures: string[] = [];
        for (const impl of rotate(impls, round)) {
          const answer = await workers.get(impl)!.request({
            type: "sample",
            id: round,
            record: c.record,
            op: c.op,
            sampleMs: knobs.codecSampleMs,
            samples: knobs.codecSamples,
            warmupMs: CODEC_WARMUP_MS,
          });
          if (answer.type !== "result") throw new Error(`${c.name} ${impl}: ${JSON.stringify(answer)}`);
          if (round >= knobs.warmup) byImpl.get(impl)!.push(answer.nsPerOp);
          figures.push(`${impl} ${answer.nsPerOp.toFixed(0)} ns`);
        }
        if (round === total - 1) log(`${c.name}: ${figures.join(", ")}`);
      }
    }
  } finally {
    // Codec workers hold nothing that needs closing.
    for (const w of workers.values()) w.kill();
  }
}

main().catch((err: unknown) => {
  if (err instanceof KnobError) {
    log(`bench: ${err.message}`);
    process.exit(2);
  }
  log(`bench failed: ${(err as Error)?.stack ?? err}`);
  process.exit(1);
});

function existing(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/**
 * The results file holds one full run per server line, each in its own section: a run replaces the
 * section of its line and keeps the others, newest line first.
 */
function withSection(file: string, line: string, report: string): string {
  const sections = new Map<string, string>();
  const marked = /<!-- bench:line=([^ ]+) -->\n([\s\S]*?)<!-- \/bench:line -->/g;
  for (const match of file.matchAll(marked)) sections.set(match[1]!, match[2]!);
  sections.set(line, `## ZooKeeper ${line}\n\n${report.trimEnd()}\n`);
  // What follows the last section (measurements made by other scripts, such as the cache's memory) stays.
  const end = file.lastIndexOf("<!-- /bench:line -->");
  const trailer = end < 0 ? "" : file.slice(end + "<!-- /bench:line -->".length).trim();
  const order = [...sections.keys()].sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  return [
    "# zkwire benchmark results",
    "",
    "One full run per ZooKeeper release line (`BENCH_ZK_VERSION`); `npm run bench -- --out bench/RESULTS.md`",
    "replaces the section of the line it ran against.",
    "",
    ...order.map((key) => `<!-- bench:line=${key} -->\n${sections.get(key)}<!-- /bench:line -->\n`),
    ...(trailer === "" ? [] : [`${trailer}\n`]),
  ].join("\n");
}
