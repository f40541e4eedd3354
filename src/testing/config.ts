/**
 * What a harness-started server runs with: its zoo.cfg and its java command line. Defaults are tuned for
 * tests (fast start, fast elections, no fsync, every four-letter word allowed, loopback only); every
 * default can be overridden or removed (value null) through the options.
 */
import { join } from "node:path";

/** A zoo.cfg value or JVM property; null or undefined removes a default. */
export type ConfigValue = string | number | boolean | null | undefined;
export type ConfigMap = Readonly<Record<string, ConfigValue>>;

/** Where one member lives; given to option functions so they can refer to its ports and dirs. */
export interface MemberLayout {
  /** The server id (myid), 1-based: server.1 is servers[0]. */
  readonly id: number;
  readonly host: string;
  readonly dir: string;
  readonly dataDir: string;
  /** client, quorum, election, and any names asked for with `extraPorts` (e.g. secureClient). */
  readonly ports: Readonly<Record<string, number>> & {
    readonly client: number;
    readonly quorum: number;
    readonly election: number;
  };
}

/** A value, or a function of the member for per-member values (ports, dirs). */
export type PerMember<T> = T | ((member: MemberLayout) => T);

export function perMember<T>(value: PerMember<T> | undefined, member: MemberLayout): T | undefined {
  return typeof value === "function" ? (value as (member: MemberLayout) => T)(member) : value;
}

/**
 * 250 ms: sessions from 500 ms (minSessionTimeout = 2 ticks) can be negotiated, so tests of session
 * expiry take seconds, and elections (counted in ticks) settle quickly.
 */
export const DEFAULT_TICK_TIME = 250;

export const MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

export function zooCfg(
  member: MemberLayout,
  members: readonly MemberLayout[],
  tickTime: number,
  quorum: boolean,
  overrides: ConfigMap | undefined,
): string {
  const entries: Record<string, ConfigValue> = {
    tickTime,
    // 10 s for a follower to connect and sync; 2.5 s of leader silence before a follower gives up.
    initLimit: Math.max(10, Math.ceil(10_000 / tickTime)),
    syncLimit: Math.max(5, Math.ceil(2_500 / tickTime)),
    dataDir: member.dataDir,
    clientPort: member.ports.client,
    clientPortAddress: member.host,
    // Test data is thrown away; fsync per transaction would dominate test time on slow CI disks.
    forceSync: "no",
    // The AdminServer (Jetty on 8080) is not on the class path of a Maven-fetched server, and would
    // collide between parallel servers.
    "admin.enableServer": false,
    "4lw.commands.whitelist": "*",
    // Default is 60 per client IP; every test client comes from 127.0.0.1.
    maxClientCnxns: 0,
    // Default is 20 ticks (5 s here), which would silently cut the timeout tests ask for.
    maxSessionTimeout: 60_000,
  };
  if (quorum) {
    for (const m of members) entries[`server.${m.id}`] = `${m.host}:${m.ports.quorum}:${m.ports.election}`;
  }
  Object.assign(entries, overrides);
  return `${render(entries)}\n`;
}

function render(entries: Readonly<Record<string, ConfigValue>>): string {
  return Object.entries(entries)
    .filter(
      (entry): entry is [string, string | number | boolean] => entry[1] !== null && entry[1] !== undefined,
    )
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");
}

/**
 * Measured on a 2-CPU machine with Java 17, ZooKeeper 3.9.5, start until `srvr` reports a mode, median
 * of 5: standalone 333 ms with these flags vs 345 ms without; 3-member ensemble 1.30 s vs 1.73 s. They
 * keep three JVMs from competing for CPU and memory: C1 only (no C2 compiler threads), one serial GC
 * thread, a small heap, no perf-data file in /tmp. To pick another GC, turn this one off first
 * (jvmArgs: ["-XX:-UseSerialGC", "-XX:+UseG1GC"]); two selected GCs stop the JVM at start.
 */
export const DEFAULT_JVM_ARGS: readonly string[] = [
  "-Xms32m",
  "-Xmx256m",
  "-XX:TieredStopAtLevel=1",
  "-XX:+UseSerialGC",
  "-Xshare:auto",
  "-XX:-UsePerfData",
];

export const DEFAULT_JVM_PROPERTIES: ConfigMap = {
  // TTL nodes (ZOOKEEPER-2169). The switch exists since 3.5.4 (ZOOKEEPER-2901; 3.5.3 had TTLs always
  // on); servers without it ignore the property. With it on, server ids must stay below 255.
  "zookeeper.extendedTypesEnabled": true,
  // Expired TTL nodes and empty containers are deleted by a sweep every 60 s by default; once a second
  // keeps tests of those node types short.
  "znode.container.checkIntervalMs": 1_000,
  // Timestamps in the log (slf4j-simple binding of Maven-fetched servers; others ignore these).
  "org.slf4j.simpleLogger.showDateTime": true,
  "org.slf4j.simpleLogger.dateTimeFormat": "HH:mm:ss.SSS",
};

export interface JavaCommand {
  readonly java: string;
  readonly args: readonly string[];
}

export function javaCommand(
  java: string,
  classpath: readonly string[],
  configFile: string,
  jvmArgs: readonly string[],
  properties: ConfigMap,
): JavaCommand {
  const defines = Object.entries(properties)
    .filter(
      (entry): entry is [string, string | number | boolean] => entry[1] !== null && entry[1] !== undefined,
    )
    .map(([key, value]) => `-D${key}=${value}`);
  return {
    java,
    args: [
      ...jvmArgs,
      ...defines,
      "-cp",
      classpath.join(process.platform === "win32" ? ";" : ":"),
      MAIN_CLASS,
      configFile,
    ],
  };
}

/** The java executable: $ZKWIRE_JAVA, else $JAVA_HOME/bin/java, else `java` on the PATH. */
export function defaultJava(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZKWIRE_JAVA) return env.ZKWIRE_JAVA;
  if (env.JAVA_HOME) return join(env.JAVA_HOME, "bin", "java");
  return "java";
}
