/**
 * Idle fill: one busy-looping process per core at the lowest scheduling class (SCHED_IDLE), for the
 * length of the measured runs (on unless BENCH_IDLE_FILL=0).
 *
 * Why: on this kind of machine (a 2-core VM) the CPU time an operation costs depends on how idle the
 * cores are around it. A core that goes idle between two requests wakes up slower and colder, and the
 * time is charged to whoever runs next. A client that spends little CPU leaves the cores idle more
 * often, so the server's CPU per operation under its load rises although the server does the same work.
 * `bench/server-cost/run.ts` (clients at one request rate) shows the idle part: with the idle time filled
 * the server's CPU per operation under zkwire's load, divided by that under node-zookeeper-client's, fell
 * from 1.13x to 1.01x in one pair of runs (bench/README.md has the figures).
 * The fill takes idle time only: the scheduler runs a SCHED_IDLE task only when nothing else wants the core.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { availableParallelism, constants, setPriority } from "node:os";

export interface IdleFill {
  /** How the loops are scheduled: "SCHED_IDLE" (chrt), or "nice 19" where chrt is missing. */
  readonly policy: string;
  stop(): Promise<void>;
}

/**
 * SCHED_IDLE where `chrt` runs: the kernel preempts such a task the moment any other task wakes. At nice
 * 19 alone a waking task may wait for the loop's time slice to end (the EEVDF scheduler of Linux 6.6+
 * runs the current task to parity first), which adds latency to every wake-up and slows the
 * latency-bound scenarios (measured: lock-contended-4 fell several-fold).
 */
export function startIdleFill(cores = availableParallelism()): IdleFill {
  const idle = spawnSync("chrt", ["--idle", "0", "true"]).status === 0;
  const children: ChildProcess[] = [];
  for (let i = 0; i < cores; i++) {
    const loop = [process.execPath, "-e", "for (;;) {}"];
    const child = idle
      ? spawn("chrt", ["--idle", "0", ...loop], { stdio: "ignore" })
      : spawn(loop[0]!, loop.slice(1), { stdio: "ignore" });
    // Lowest priority too: under SCHED_IDLE it changes nothing, without it it is the fallback.
    if (child.pid !== undefined) setPriority(child.pid, constants.priority.PRIORITY_LOW);
    children.push(child);
  }
  return {
    policy: idle ? "SCHED_IDLE" : "nice 19",
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGKILL");
            }),
        ),
      );
    },
  };
}
