/**
 * CPU time of the ZooKeeper server process, so that a run's figures say where the machine's time went:
 * on 2 cores the server and the client share them, and a client that spends less CPU per operation
 * leaves more to the server.
 *
 * Linux only: the sum over the server's threads of /proc/<pid>/task/<tid>/schedstat's first field
 * (nanoseconds on a CPU). That is exact to the nanosecond, where /proc/<pid>/stat counts 10 ms ticks.
 * A thread that exits between two readings takes its time with it; ZooKeeper's request threads live as
 * long as the server.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A reader of the server's CPU time in µs, or null when it cannot be read (not Linux, not our process). */
export function serverCpuReader(pid: number | undefined): (() => number) | null {
  if (pid === undefined || process.platform !== "linux") return null;
  const read = (): number => {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ", 1)[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1000;
  };
  try {
    read();
    return read;
  } catch {
    return null;
  }
}
