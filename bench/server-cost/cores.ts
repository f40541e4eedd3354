/**
 * Per-core counters the kernel keeps: how often each core went idle and for how long (cpuidle), and the
 * interrupts one core sends another to wake a thread on it or to run a function there (RES and CAL in
 * /proc/interrupts). Read before and after a batch, they show whether a client's load changes how often
 * the server's core and the clients' core sleep and are woken, which the per-process counts of perf do
 * not. Linux only; `readCores()` gives null where the files are missing.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface CoreCounts {
  /** Times the core entered an idle state (every state, polling included). */
  idleEntries: number;
  /** µs the core spent idle. */
  idleUs: number;
  /** Rescheduling interrupts received (another core woke a thread here). */
  reschedIpis: number;
  /** Function-call interrupts received. */
  callIpis: number;
}

const CPUIDLE = (cpu: number) => `/sys/devices/system/cpu/cpu${cpu}/cpuidle`;

function readNumber(file: string): number {
  return Number(readFileSync(file, "utf8").trim());
}

/** One row of /proc/interrupts ("RES:", "CAL:"): its count on each core; null where the row is missing. */
function interruptRow(text: string, label: string, cores: number): number[] | null {
  const line = text.split("\n").find((l) => l.trimStart().startsWith(`${label}:`));
  if (line === undefined) return null;
  return line
    .trim()
    .split(/\s+/)
    .slice(1, cores + 1)
    .map(Number);
}

/** Every core's counters now, indexed by core number; null where cpuidle, /proc/interrupts or its RES and CAL rows are missing. */
export function readCores(cores: number): CoreCounts[] | null {
  let interrupts: string;
  try {
    interrupts = readFileSync("/proc/interrupts", "utf8");
  } catch {
    return null;
  }
  const res = interruptRow(interrupts, "RES", cores);
  const cal = interruptRow(interrupts, "CAL", cores);
  if (res === null || cal === null) return null;
  const counts: CoreCounts[] = [];
  for (let cpu = 0; cpu < cores; cpu++) {
    let idleEntries = 0;
    let idleUs = 0;
    try {
      for (const state of readdirSync(CPUIDLE(cpu)).filter((s) => s.startsWith("state"))) {
        idleEntries += readNumber(`${CPUIDLE(cpu)}/${state}/usage`);
        idleUs += readNumber(`${CPUIDLE(cpu)}/${state}/time`);
      }
    } catch {
      return null;
    }
    counts.push({ idleEntries, idleUs, reschedIpis: res[cpu]!, callIpis: cal[cpu]! });
  }
  return counts;
}

/** What changed between two readings, per operation, labelled by each core's name ("server's core"). */
export function perOperation(
  before: CoreCounts[],
  after: CoreCounts[],
  names: ReadonlyMap<number, string>,
  ops: number,
): Record<string, number> {
  const row: Record<string, number> = {};
  for (const [cpu, name] of names) {
    const a = after[cpu]!;
    const b = before[cpu]!;
    row[`${name} idle entries/op`] = (a.idleEntries - b.idleEntries) / ops;
    row[`${name} idle µs/op`] = (a.idleUs - b.idleUs) / ops;
    row[`${name} resched IPIs/op`] = (a.reschedIpis - b.reschedIpis) / ops;
    row[`${name} call IPIs/op`] = (a.callIpis - b.callIpis) / ops;
  }
  return row;
}
