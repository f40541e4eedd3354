/**
 * Where the server and the clients run (BENCH_CPUS for `npm run bench`, COST_CPUS for
 * `bench/server-cost/run.ts`):
 *   split   (the default on two cores or more) the server on the last core; the harness, its clients and
 *           everything it starts on the first
 *   shared  (the default on one core, or with a server the benchmark did not start) wherever the
 *           scheduler puts them: the server and the clients share every core
 *   one     everything on the first core
 * Split is the default because it is how ZooKeeper runs in production, on cores no client shares, and
 * because sharing them measures the scheduler more than the client: on two shared cores the server spent
 * less CPU per operation the more CPU the client spent (a client made 30 µs slower per answer cost the
 * server a fifth less per operation; bench/README.md, "What a client's load costs the server").
 * Processes are pinned with `taskset -a -p` (every thread; threads started later inherit it) after they
 * start, so the JVM sizes its thread pools for every core in each placement. What the harness starts
 * after it is pinned (client workers, peers, the idle fill's loops) inherits its core.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

export type Placement = "shared" | "split" | "one";

export interface Cpus {
  readonly placement: Placement;
  /** The core the server is pinned to, and the one the clients are; null where the placement pins nothing. */
  readonly serverCore: number | null;
  readonly clientCore: number | null;
  /** Pins the server's process (all its threads) where the placement puts it. */
  server(pid: number): void;
  /** Pins a client's process, or the harness, where the placement puts it. */
  client(pid: number): void;
}

/** Where the processes run when no knob says: split where there is a second core, else shared. */
export function defaultPlacement(): Placement {
  return availableParallelism() >= 2 ? "split" : "shared";
}

export function isPlacement(s: string): s is Placement {
  return s === "shared" || s === "split" || s === "one";
}

/** `knob` names the variable the placement came from (parsed by knobs.ts's parsePlacement), for errors. */
export function cpus(spec: Placement, knob: string): Cpus {
  const last = availableParallelism() - 1;
  if (spec === "split" && last < 1) throw new Error(`${knob}=split needs two cores`);
  const pin = (pid: number, cpu: number | null) => {
    if (cpu === null) return;
    const r = spawnSync("taskset", ["-a", "-p", "-c", `${cpu}`, `${pid}`], { encoding: "utf8" });
    if (r.error !== undefined || r.status !== 0) {
      throw new Error(`${knob}=${spec}: taskset could not pin ${pid}: ${r.error?.message ?? r.stderr}`);
    }
  };
  const serverCpu = spec === "shared" ? null : spec === "split" ? last : 0;
  const clientCpu = spec === "shared" ? null : 0;
  return {
    placement: spec,
    serverCore: serverCpu,
    clientCore: clientCpu,
    server: (pid) => pin(pid, serverCpu),
    client: (pid) => pin(pid, clientCpu),
  };
}
