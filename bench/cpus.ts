/**
 * Where the server and the clients run (BENCH_CPUS for `npm run bench`, COST_CPUS for
 * `bench/server-cost/run.ts`):
 *   shared  (default) wherever the scheduler puts them: the server and the clients share every core
 *   split   the server on the last core; the harness, its clients and everything it starts on the first
 *   one     everything on the first core
 * Processes are pinned with `taskset -a -p` (every thread; threads started later inherit it) after they
 * start, so the JVM sizes its thread pools for every core in each placement. What the harness starts
 * after it is pinned (client workers, peers, the idle fill's loops) inherits its core.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

export type Placement = "shared" | "split" | "one";

export interface Cpus {
  readonly placement: Placement;
  /** Pins the server's process (all its threads) where the placement puts it. */
  server(pid: number): void;
  /** Pins a client's process, or the harness, where the placement puts it. */
  client(pid: number): void;
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
    server: (pid) => pin(pid, serverCpu),
    client: (pid) => pin(pid, clientCpu),
  };
}
