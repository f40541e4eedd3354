/** What a result depends on besides the code: the machine, the runtimes, the peers' versions. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import { resolve } from "node:path";

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  node: string;
  java: string;
  zookeeper: string;
  packages: string;
  commit: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {
    // Not Linux: os.cpus() has it too.
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function javaVersion(): string {
  const java =
    process.env.ZKWIRE_JAVA || (process.env.JAVA_HOME ? `${process.env.JAVA_HOME}/bin/java` : "java");
  const r = spawnSync(java, ["-version"], { encoding: "utf8" });
  // `java -version` writes to stderr; the first two lines name the vendor build.
  const lines = (r.stderr || r.stdout || "").split("\n").filter(Boolean);
  return lines.length > 0 ? lines.slice(0, 2).join("; ") : "unknown";
}

/** A package's version, resolved from `from` (the native binding lives in bench/native, see its client). */
function packageVersion(name: string, from: string = import.meta.url): string {
  try {
    const require = createRequire(from);
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function commit(): string {
  const r = spawnSync("git", ["describe", "--always", "--dirty", "--abbrev=12"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

/** Everything but the ZooKeeper version, which is known once a server answers. */
export function describeMachine(zookeeper = "unknown"): Machine {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    java: javaVersion(),
    zookeeper,
    packages: `node-zookeeper-client ${packageVersion("node-zookeeper-client")}, zookeeper ${packageVersion("zookeeper", resolve(process.cwd(), "bench/native/package.json"))}`,
    commit: commit(),
  };
}

/**
 * Other processes on the machine share its cores with the server and the clients: the 1-minute load
 * average before and after the run says how much (the server saturates first, so a busy machine
 * lowers every client's ops/s, and lowers them unevenly).
 */
export function loadAverage(): number {
  return os.loadavg()[0]!;
}

/** The machine's CPU time so far, in ticks: all of it, and what the hypervisor ran other guests in. */
export interface CpuClock {
  total: number;
  stolen: number;
}

/**
 * On a virtual machine the host may run other guests on the cores this one counts as its own: that time
 * is "steal" (the eighth figure of /proc/stat's cpu line), and the load average does not show it. Every
 * client is slowed while it happens, unevenly from one run to the next. null where there is no
 * /proc/stat (not Linux).
 */
export function cpuClock(): CpuClock | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null;
    return { total: ticks.reduce((a, b) => a + b, 0), stolen: ticks[7]! };
  } catch {
    return null;
  }
}

/** The share of the machine's CPU time stolen between two readings, or null when unknown. */
export function stolenShare(from: CpuClock | null, to: CpuClock | null): number | null {
  if (from === null || to === null || to.total <= from.total) return null;
  return (to.stolen - from.stolen) / (to.total - from.total);
}

/**
 * The scenarios with measured rounds above `over` stolen, as "`get-pipelined-100` 5 of 7 rounds (up to
 * 22%)", or "none": their figures are the least to be trusted, even when the whole run's share is low.
 */
export function disturbedRounds(byScenario: ReadonlyMap<string, readonly number[]>, over: number): string {
  const parts: string[] = [];
  for (const [name, shares] of byScenario) {
    const hit = shares.filter((share) => share > over);
    if (hit.length > 0) {
      parts.push(`\`${name}\` ${hit.length} of ${shares.length} rounds (up to ${percent(Math.max(...hit))})`);
    }
  }
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** "12%" for a share, "unknown" for null. */
export function percent(share: number | null): string {
  return share === null ? "unknown" : `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

export function machineMarkdown(
  m: Machine,
  command: string,
  date: Date,
  load: [number, number],
  stolen: number | null,
): string {
  return [
    `- Date: ${date.toISOString()}`,
    `- Command: \`${command}\``,
    `- zkwire: ${m.commit}`,
    `- CPU: ${m.cpu}, ${m.cores} cores available; memory ${m.memory}`,
    `- OS: ${m.os}`,
    `- Node: ${m.node}`,
    `- Java: ${m.java}`,
    `- ZooKeeper: ${m.zookeeper}`,
    `- Peers: ${m.packages}`,
    `- Load average (1 min): ${load[0].toFixed(2)} before, ${load[1].toFixed(2)} after, on ${m.cores} cores`,
    `- CPU time stolen by the host for other virtual machines during the run: ${percent(stolen)}`,
  ].join("\n");
}
