/**
 * Starts real ZooKeeper servers for tests: a standalone server or an ensemble, on loopback, in a temp
 * dir that close() removes.
 *
 *   await using zk = await startZooKeeper({ servers: 3 });
 *   const client = connect(zk.connectString);
 *   await zk.kill((await zk.leader()).id);
 *
 *   <tmp>/zkwire-XXXXXX/server-1/{zoo.cfg, server.log, data/myid}
 *                      /server-2/...
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ZooKeeperCluster } from "./cluster.js";
import {
  type ConfigMap,
  DEFAULT_JVM_ARGS,
  DEFAULT_JVM_PROPERTIES,
  DEFAULT_TICK_TIME,
  defaultJava,
  javaCommand,
  type MemberLayout,
  type PerMember,
  perMember,
  zooCfg,
} from "./config.js";
import { HarnessError, ServerStartError } from "./errors.js";
import { srvr } from "./four-letter-word.js";
import { allocatePorts, releasePorts } from "./ports.js";
import { trackDir, untrackDir } from "./reaper.js";
import {
  ExternalServer,
  ProcessServer,
  parseConnectString,
  type WaitFor,
  type ZooKeeperServer,
} from "./server.js";
import {
  defaultSources,
  findZooKeeper,
  parseSources,
  type Runtime,
  type ServerNeed,
  type SourceName,
} from "./sources.js";
import { startContainer } from "./testcontainers.js";
import { parseVersionSpec } from "./versions.js";

// Re-exported so tests can import the entry point and its result type from one module.
export { ZooKeeperCluster };

export interface ZooKeeperOptions {
  /** Members; 1 (default) is a standalone server, more is an ensemble with ids 1..N. */
  readonly servers?: number;
  /** "3.9" (newest 3.9.x that resolves) or "3.8.4"; default $ZK_VERSION, else the newest 3.9. */
  readonly version?: string;
  /**
   * Sources in order; default $ZK_SOURCES, else external,maven,testcontainers (with local after external
   * when ZOOKEEPER_HOME is set): an installed server is used only when asked for.
   */
  readonly sources?: string | readonly SourceName[];
  /**
   * Use running servers ("host:port,..."), start nothing; default $ZK_CONNECT. Given as an option it
   * also makes `sources` default to ["external"], so an explicit address is never silently replaced.
   */
  readonly connect?: string;
  /** Abilities the server must have, e.g. ["tls"]: a source that cannot provide them is passed over. */
  readonly needs?: readonly ServerNeed[];
  /** zoo.cfg entries over the defaults (null removes one); a function gets each member's ports and dirs. */
  readonly config?: PerMember<ConfigMap>;
  /** -D system properties over the defaults (null removes one), e.g. { "readonlymode.enabled": true }. */
  readonly jvmProperties?: PerMember<ConfigMap>;
  /** JVM flags after the defaults (a later -Xmx wins), e.g. ["-Xmx512m"]. */
  readonly jvmArgs?: readonly string[];
  /** Environment of the JVM over this process's (undefined removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default 250 ms (sessions from 500 ms allowed). */
  readonly tickTime?: number;
  /** Names of more ports to allocate per member, e.g. ["secureClient"], read as member.ports.secureClient. */
  readonly extraPorts?: readonly string[];
  /** What start waits for; default "serving". */
  readonly wait?: WaitFor;
  /** Default 60 s. */
  readonly startTimeoutMs?: number;
  /** java executable; default $ZKWIRE_JAVA, $JAVA_HOME/bin/java, java. */
  readonly java?: string;
  /** zkwire's cache root for Maven-fetched servers; default $ZKWIRE_CACHE or ~/.cache/zkwire. */
  readonly cacheDir?: string;
  /** Maven executable; default $ZKWIRE_MVN or mvn. */
  readonly mvn?: string;
  /** Parent of the temp dir; default os.tmpdir(). */
  readonly tmpDir?: string;
}

export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperCluster> {
  const servers = options.servers ?? 1;
  // With zookeeper.extendedTypesEnabled (a default) server ids must stay below 255 (ZOOKEEPER-2901).
  if (!Number.isInteger(servers) || servers < 1 || servers > 254) {
    throw new HarnessError("ZK_BAD_OPTION", `servers must be an integer from 1 to 254, not ${servers}`);
  }
  const env = process.env;
  const version = options.version ?? (env.ZK_VERSION || undefined);
  // Validated here so a typo fails as a bad option, not as "no source could provide it".
  if (version !== undefined) parseVersionSpec(version);
  const java = options.java ?? defaultJava();
  const runtime = await findZooKeeper({
    servers,
    version,
    connect: options.connect ?? (env.ZK_CONNECT || undefined),
    sources: parseSources(
      options.sources ??
        (options.connect !== undefined ? ["external"] : env.ZK_SOURCES || defaultSources(env)),
    ),
    java,
    needs: options.needs,
    cacheDir: options.cacheDir,
    mvn: options.mvn,
  });
  switch (runtime.source) {
    case "external":
      return externalCluster(runtime.connect);
    case "testcontainers":
      return containerCluster(runtime, options);
    case "local":
    case "maven":
      return processCluster(runtime, servers, options);
  }
}

async function reportedVersion(server: ZooKeeperServer | undefined): Promise<string | undefined> {
  if (server === undefined) return undefined;
  const answer = await srvr(server.host, server.clientPort, 2_000);
  return answer?.version;
}

async function externalCluster(connect: string): Promise<ZooKeeperCluster> {
  const members = parseConnectString(connect).map(
    ({ host, port }, i) => new ExternalServer(i + 1, host, port),
  );
  const version = (await reportedVersion(members[0])) ?? "unknown";
  return new ZooKeeperCluster("external", version, members, undefined, async () => {});
}

async function containerCluster(
  runtime: Extract<Runtime, { source: "testcontainers" }>,
  options: ZooKeeperOptions,
): Promise<ZooKeeperCluster> {
  if (typeof options.config === "function" || typeof options.jvmProperties === "function") {
    throw new HarnessError(
      "ZK_BAD_OPTION",
      "per-member config functions need a JVM source, not testcontainers",
    );
  }
  const server = await startContainer(runtime.module, {
    tag: runtime.tag,
    tickTime: options.tickTime ?? DEFAULT_TICK_TIME,
    config: { maxSessionTimeout: 60_000, ...options.config },
    jvmProperties: { ...DEFAULT_JVM_PROPERTIES, ...options.jvmProperties },
    jvmArgs: options.jvmArgs ?? [],
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
  });
  const version = (await reportedVersion(server)) ?? runtime.tag;
  return new ZooKeeperCluster("testcontainers", version, [server], undefined, () => server.kill());
}

/** Tries with fresh ports when another process took one between probing and the JVM binding it. */
const PORT_ATTEMPTS = 3;

async function processCluster(
  runtime: Extract<Runtime, { source: "local" | "maven" }>,
  count: number,
  options: ZooKeeperOptions,
): Promise<ZooKeeperCluster> {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), "zkwire-"));
  trackDir(dir);
  const removeDir = async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    untrackDir(dir);
  };
  for (let attempt = 1; ; attempt++) {
    const { members, ports } = await layOut(dir, runtime, count, options);
    const stopAll = async () => {
      await Promise.all(members.map((member) => member.kill()));
      releasePorts(ports);
    };
    try {
      const wait = options.wait ?? "serving";
      const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
      // All members first, then wait: an ensemble member serves only once a quorum runs.
      for (const member of members) member.spawn();
      await Promise.all(members.map((member) => member.waitFor(wait, deadline)));
      const version = (wait === "serving" ? await reportedVersion(members[0]) : undefined) ?? runtime.version;
      return new ZooKeeperCluster(runtime.source, version ?? "unknown", members, dir, async () => {
        await stopAll();
        await removeDir();
      });
    } catch (error) {
      await stopAll();
      const portTaken = error instanceof ServerStartError && error.logTail.includes("Address already in use");
      if (portTaken && attempt < PORT_ATTEMPTS) {
        await Promise.all(members.map((member) => rm(member.dir, { recursive: true, force: true })));
        continue;
      }
      await removeDir();
      throw error;
    }
  }
}

/** Allocates ports, writes each member's zoo.cfg and myid, and builds (does not start) the members. */
async function layOut(
  dir: string,
  runtime: Extract<Runtime, { source: "local" | "maven" }>,
  count: number,
  options: ZooKeeperOptions,
): Promise<{ members: ProcessServer[]; ports: number[] }> {
  const names = ["client", "quorum", "election", ...(options.extraPorts ?? [])];
  const ports = await allocatePorts(count * names.length);
  const layouts: MemberLayout[] = Array.from({ length: count }, (_, i) => {
    const memberDir = join(dir, `server-${i + 1}`);
    const own = Object.fromEntries(names.map((name, j) => [name, ports[i * names.length + j] as number]));
    return {
      id: i + 1,
      host: "127.0.0.1",
      dir: memberDir,
      dataDir: join(memberDir, "data"),
      ports: own as MemberLayout["ports"],
    };
  });
  const env = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const members = await Promise.all(
    layouts.map(async (layout) => {
      await mkdir(layout.dataDir, { recursive: true });
      // myid is read only in quorum mode; harmless for a standalone server.
      await writeFile(join(layout.dataDir, "myid"), `${layout.id}\n`);
      const configFile = join(layout.dir, "zoo.cfg");
      const cfg = zooCfg(
        layout,
        layouts,
        options.tickTime ?? DEFAULT_TICK_TIME,
        count > 1,
        perMember(options.config, layout),
      );
      await writeFile(configFile, cfg);
      const properties = { ...DEFAULT_JVM_PROPERTIES, ...perMember(options.jvmProperties, layout) };
      const jvmArgs = [...DEFAULT_JVM_ARGS, ...(options.jvmArgs ?? [])];
      const command = javaCommand(runtime.java, runtime.classpath, configFile, jvmArgs, properties);
      return new ProcessServer(layout, configFile, join(layout.dir, "server.log"), command, env);
    }),
  );
  return { members, ports };
}
