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

export function machineMarkdown(m: Machine, command: string, date: Date, load: [number, number]): string {
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
  ].join("\n");
}
