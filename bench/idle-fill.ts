/**
 * Idle fill: one busy-looping process per core at the lowest scheduling priority, for the length of the
 * measured runs (on unless BENCH_IDLE_FILL=0).
 *
 * Why: on this kind of machine (a 2-core VM) the CPU time an operation costs depends on how idle the
 * cores are around it. A core that goes idle between two requests wakes up slower and colder, and the
 * time is charged to whoever runs next. A client that spends little CPU leaves the cores idle more
 * often, so the server's CPU per operation under its load rises although the server does the same work.
 * Measured with `bench/server-cost/run.ts` (ZooKeeper 3.9.5, 12,000 getData/s from each client, 5 rounds,
 * 2026-12-02): the server made about the same system calls and wake-ups per operation under zkwire's load
 * as under node-zookeeper-client's (reads 0.99x, epoll_wait 1.00x, wake-ups 1.05x) yet spent 1.09x the
 * CPU, the difference in system time (1.15x); with the idle time filled it spent 0.92x.
 * The fill takes idle time only: at nice 19 the scheduler gives it about 1.5% of a core that
 * anything else wants.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism, constants, setPriority } from "node:os";

export interface IdleFill {
  stop(): Promise<void>;
}

export function startIdleFill(cores = availableParallelism()): IdleFill {
  const children: ChildProcess[] = [];
  for (let i = 0; i < cores; i++) {
    const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    if (child.pid !== undefined) setPriority(child.pid, constants.priority.PRIORITY_LOW);
    children.push(child);
  }
  return {
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
