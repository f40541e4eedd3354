/**
 * What one client's load costs the ZooKeeper server, client beside client, at the same request rate.
 *
 * `npm run bench` measures each client flat out, so a faster client also loads the server harder; here
 * every client issues the same operations at the same rate (COST_RATE per second, COST_DEPTH at most in
 * flight), each from a process of its own, interleaved round by round, the order rotating. Per operation
 * the report gives the server's CPU (user and system, from /proc) and, where `perf` can attach, the
 * system calls the server made and the wake-ups it caused (kernel tracepoints, counted in the server's
 * threads), and the same of the client's process ("client read/op", ...). Where the kernel keeps them,
 * it also gives per core how often the core went idle, for how long, and the interrupts that woke it
 * (cores.ts): in split, the clients' core and the server's.
 *
 *   npx tsx bench/server-cost/run.ts
 *   COST_RATE=0 COST_DEPTH=100 npx tsx bench/server-cost/run.ts      flat out instead of paced
 *   BENCH_IDLE_FILL=1 npx tsx bench/server-cost/run.ts               with the idle time filled (idle-fill.ts)
 *   COST_BURN=zkwire:35 npx tsx bench/server-cost/run.ts            zkwire 35 µs of CPU slower per answer
 *   COST_CPUS=shared npx tsx bench/server-cost/run.ts               no pinning (../cpus.ts)
 *   COST_PROFILE_DIR=/tmp/p npx tsx bench/server-cost/run.ts        a perf profile of the server per client and round
 *
 * Knobs: COST_CLIENTS (zkwire,node-zookeeper-client), COST_OP (get|set), COST_DEPTH (1000), COST_OPS per
 * run (60000), COST_RATE (12000; 0 for flat out), COST_ROUNDS (5), BENCH_ZK_VERSION (3.9),
 * BENCH_IDLE_FILL (0), COST_BURN (none; client:µs, see burn.ts), COST_CPUS (split on two cores or
 * more, else shared; one: see ../cpus.ts), COST_PROFILE_DIR (none: `perf record` of the server into
 * <dir>/<client>-round<n>.data; read with `perf report -i <file> --no-children --sort sym`. It doubles
 * the server's CPU per operation here, so its runs' figures are not comparable with others').
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { ZooKeeper } from "../../src/index.js";
import { startZooKeeper } from "../../src/testing/index.js";
import { CLIENT_NAMES, isClientName } from "../clients/client.js";
import { cpus, defaultPlacement } from "../cpus.js";
import { startIdleFill } from "../idle-fill.js";
import { DEFAULT_SERVER_JVM_ARGS, DEFAULT_ZK_VERSION, parsePlacement } from "../knobs.js";
import { serverCpuReader } from "../server-cpu.js";
import { median, medianRatio, rotate } from "../stats.js";
import { burns } from "./burn.js";
import { perOperation, readCores } from "./cores.js";

const env = process.env;
const clients = (env.COST_CLIENTS ?? "zkwire,node-zookeeper-client").split(",").map((s) => s.trim());
for (const c of clients)
  if (!isClientName(c)) throw new Error(`COST_CLIENTS: ${c} is not one of ${CLIENT_NAMES}`);
const opKind = env.COST_OP ?? "get";
if (opKind !== "get" && opKind !== "set") throw new Error(`COST_OP must be get or set, got ${opKind}`);
const depth = positive("COST_DEPTH", 1000);
const ops = positive("COST_OPS", 60_000);
const rate = Number(env.COST_RATE ?? 12_000);
const rounds = positive("COST_ROUNDS", 5);
const idleFill = env.BENCH_IDLE_FILL === "1";
const cores = availableParallelism(); // read before the harness is pinned to one of them
const placement = cpus(parsePlacement(env.COST_CPUS, "COST_CPUS", defaultPlacement()), "COST_CPUS");
const profileDir = env.COST_PROFILE_DIR || null;
const burn = burns(env.COST_BURN ?? ""); // checked here; each client process reads it again
for (const c of burn.keys())
  if (!clients.includes(c)) throw new Error(`COST_BURN: ${c} is not one of COST_CLIENTS (${clients})`);

function positive(name: string, fallback: number): number {
  const n = Number(env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

/** Tracepoints counted in the server's threads: what it asked of the kernel, and whom it woke. */
const SYSCALLS = ["read", "write", "epoll_wait", "epoll_ctl", "futex"];
const EVENTS = [...SYSCALLS.map((s) => `syscalls:sys_enter_${s}`), "sched:sched_wakeup"];
/** The same of the client's process (libuv waits in epoll_pwait; a stream may write with writev). */
const CLIENT_SYSCALLS = ["read", "write", "writev", "epoll_pwait", "epoll_ctl", "futex"];
const CLIENT_EVENTS = [...CLIENT_SYSCALLS.map((s) => `syscalls:sys_enter_${s}`), "sched:sched_wakeup"];
const perfWorks =
  spawnSync("perf", ["stat", "-x", ",", "-e", [...EVENTS, ...CLIENT_EVENTS].join(","), "true"]).status === 0;
if (profileDir !== null) {
  if (!perfWorks) throw new Error("COST_PROFILE_DIR needs perf, which cannot attach here");
  mkdirSync(profileDir, { recursive: true });
}

/** `perf <args>` running until stop(), which interrupts it and gives what it wrote to stderr. */
function perfUntilStopped(args: readonly string[]) {
  const perf = spawn("perf", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  perf.stderr.on("data", (d) => (stderr += d));
  return {
    async stop(): Promise<string> {
      perf.kill("SIGINT");
      await new Promise((resolve) => perf.once("exit", resolve));
      return stderr;
    },
  };
}

/** `perf stat` attached to a process until stop(); then the count of each event. */
function countEvents(pid: number, events: readonly string[]) {
  const perf = perfUntilStopped(["stat", "-x", ",", "-e", events.join(","), "-p", `${pid}`]);
  return {
    async stop(): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      for (const l of (await perf.stop()).split("\n")) {
        const [count, , event] = l.split(",");
        if (event?.includes(":")) counts.set(event, Number(count));
      }
      return counts;
    },
  };
}

/** A figure's label: "read/op", "wake-ups/op", with `who` before it ("client ") when given. */
function eventLabel(event: string, who = ""): string {
  return event.startsWith("sched:")
    ? `${who}wake-ups/op`
    : `${who}${event.replace("syscalls:sys_enter_", "")}/op`;
}

/** The server's user and system CPU in µs, from /proc/<pid>/stat (10 ms ticks). */
function serverUserSystem(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const tickUs = 1_000_000 / 100;
  return { user: Number(fields[11]) * tickUs, system: Number(fields[12]) * tickUs };
}

/**
 * `perf record` of the server's threads (call graphs, kernel and JVM-native frames; JIT-compiled Java
 * shows as unresolved addresses) until stop(): where its CPU goes under one client's load.
 */
function recordProfile(pid: number, file: string) {
  return perfUntilStopped(["record", "-q", "-F", "2999", "-g", "-p", `${pid}`, "-o", file]);
}

interface Peer {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

const cluster = await startZooKeeper({
  version: env.BENCH_ZK_VERSION || DEFAULT_ZK_VERSION,
  jvmArgs: [...DEFAULT_SERVER_JVM_ARGS],
});
const pid = cluster.servers[0]?.pid;
if (pid === undefined) throw new Error("the server's process id is unknown (an external server?)");
placement.server(pid);
placement.client(process.pid);
const serverTotal = serverCpuReader(pid); // every thread, exact (schedstat); the benchmark's own reader
if (serverTotal === null) throw new Error("the server's CPU cannot be read here (Linux /proc only)");
const serverCpu = (id: number) => ({ total: serverTotal(), ...serverUserSystem(id) });
const setup = await ZooKeeper.connect(cluster.connectString);
const path = `/zkwire-server-cost-${process.pid}`;
await setup.create(path, Buffer.alloc(100, 0x61));
const peers = new Map<string, Peer>();
const fill = idleFill ? startIdleFill() : null;
/** The cores whose counters are reported: by role where the placement splits them, else every core by number. */
const coreNames = new Map<number, string>(
  placement.placement === "split" && placement.clientCore !== null && placement.serverCore !== null
    ? [
        [placement.clientCore, "clients' core"],
        [placement.serverCore, "server's core"],
      ]
    : Array.from({ length: cores }, (_, i) => [i, `core ${i}`]),
);
const figures = new Map<string, Record<string, number>[]>(clients.map((c) => [c, []]));
try {
  for (const name of clients) {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/server-cost/client.ts",
        cluster.connectString,
        name,
        path,
        opKind,
        `${depth}`,
        `${ops}`,
        `${rate}`,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    placement.client(child.pid!);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.value !== "ready") throw new Error(`${name} did not start: ${first.value}`);
    peers.set(name, { child, lines });
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(clients, round)) {
      const peer = peers.get(name)!;
      const serverPerf = perfWorks ? countEvents(pid, EVENTS) : null;
      const clientPerf = perfWorks ? countEvents(peer.child.pid!, CLIENT_EVENTS) : null;
      const profile = profileDir ? recordProfile(pid, `${profileDir}/${name}-round${round + 1}.data`) : null;
      if (perfWorks) await sleep(300); // perf attaches to every thread before the run starts
      const before = serverCpu(pid);
      const coresBefore = readCores(cores);
      peer.child.stdin!.write("go\n");
      const line = await peer.lines.next();
      const after = serverCpu(pid);
      const coresAfter = readCores(cores);
      const serverCounts = (await serverPerf?.stop()) ?? new Map<string, number>();
      const clientCounts = (await clientPerf?.stop()) ?? new Map<string, number>();
      const profileErrors = await profile?.stop();
      if (profileErrors) process.stderr.write(profileErrors);
      const r = JSON.parse(line.value as string) as {
        ops: number;
        errors: number;
        wallMs: number;
        clientCpuUs: number;
      };
      const row: Record<string, number> = {
        "ops/s": r.ops / (r.wallMs / 1000),
        "client µs/op": r.clientCpuUs / r.ops,
        "server µs/op": (after.total - before.total) / r.ops,
        "server user µs/op": (after.user - before.user) / r.ops,
        "server system µs/op": (after.system - before.system) / r.ops,
        errors: r.errors,
      };
      if (coresBefore !== null && coresAfter !== null)
        Object.assign(row, perOperation(coresBefore, coresAfter, coreNames, r.ops));
      for (const [event, count] of serverCounts) row[eventLabel(event)] = count / r.ops;
      for (const [event, count] of clientCounts) row[eventLabel(event, "client ")] = count / r.ops;
      figures.get(name)!.push(row);
      process.stderr.write(
        `round ${round + 1}/${rounds} ${name}: ${Math.round(row["ops/s"]!)} ops/s, server ${row["server µs/op"]!.toFixed(1)} µs/op\n`,
      );
      await sleep(200);
    }
  }
} finally {
  for (const peer of peers.values()) peer.child.kill();
  await fill?.stop();
  await setup.close();
  await cluster.close();
}

const others = clients.filter((c) => c !== "zkwire");
const keys = Object.keys(figures.get(clients[0]!)![0]!);
const header = ["figure (median of rounds)", ...clients, ...others.map((o) => `zkwire ÷ ${o}`)];
const lines = [
  `| ${header.join(" | ")} |`,
  `| ${header.map((_, i) => (i === 0 ? ":--" : "--:")).join(" | ")} |`,
];
for (const key of keys) {
  const per = (c: string) => figures.get(c)!.map((row) => row[key] ?? Number.NaN);
  const cells = clients.map((c) => median(per(c)).toFixed(key === "ops/s" ? 0 : 2));
  const ratios = clients.includes("zkwire")
    ? others.map((o) => {
        const ratio = medianRatio(per("zkwire"), per(o));
        return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "—";
      })
    : [];
  lines.push(`| ${[key, ...cells, ...ratios].join(" | ")} |`);
}
console.log(
  `ZooKeeper ${cluster.version}; ${opKind}, ${rate > 0 ? `${rate} ops/s paced` : "flat out"}, at most ${depth} in flight, ${ops} ops per run, ${rounds} rounds${idleFill ? ", idle time filled" : ""}, COST_CPUS=${placement.placement}${[...burn].map(([c, us]) => `, ${c} burning ${us} µs per answer`).join("")}${perfWorks ? "" : " (perf unavailable: no system call counts)"}\n`,
);
console.log(lines.join("\n"));
process.exit(0);
