/**
 * zkwire/testing: real ZooKeeper servers for your own tests, the ones zkwire's suite and benchmark use.
 *
 *   import { startZooKeeper, FaultProxy } from "zkwire/testing";
 *
 *   await using zk = await startZooKeeper();                        // the newest 3.9, standalone
 *   await using ensemble = await startZooKeeper({ servers: 3, version: "3.8" });
 *   await ensemble.kill((await ensemble.leader()).id);              // kill -9 the leader
 *   const { host, clientPort } = zk.servers[0]!;
 *   await using proxy = await FaultProxy.start({ target: { host, port: clientPort } }); // cuts, latency
 *
 * Servers are Java processes on loopback in a temp dir that close() removes; a process exit handler
 * kills any this process started. No runtime dependencies: Maven and Java are run as commands.
 * Where a server comes from (the `sources` option or ZK_SOURCES, in order):
 *   external        ZK_CONNECT: servers already running; nothing is started
 *   local           ZOOKEEPER_HOME (an unpacked release; setting it asks for it), or Debian's package
 *                   in /usr/share/java when ZK_SOURCES names `local`; used only if its version matches
 *   maven           `org.apache.zookeeper:zookeeper:<version>` from Maven Central, cached in
 *                   ZKWIRE_CACHE (default ~/.cache/zkwire), run with the machine's java
 *   testcontainers  the official image, where a Docker engine answers and `testcontainers` is installed
 * The version: the `version` option or ZK_VERSION, a line ("3.9": its newest release that resolves) or
 * an exact release ("3.8.4"); default the newest 3.9. Nothing installed is used unless asked for.
 * Other environment: ZKWIRE_JAVA / JAVA_HOME and ZKWIRE_MVN (the executables).
 */

export { type Member, ZooKeeperCluster } from "./cluster.js";
export type { ConfigMap, ConfigValue, MemberLayout, PerMember } from "./config.js";
export { DEFAULT_JVM_ARGS, DEFAULT_JVM_PROPERTIES, DEFAULT_TICK_TIME } from "./config.js";
export {
  FourLetterWordError,
  HarnessError,
  type HarnessErrorCode,
  MavenResolveError,
  NotOwnedServerError,
  ServerStartError,
  type SourceAttempt,
  ZooKeeperNotFoundError,
} from "./errors.js";
export {
  type FourLetterWord,
  fourLetterWord,
  parseSrvr,
  type ServerMode,
  type SrvrAnswer,
  serverMode,
  srvr,
} from "./four-letter-word.js";
export { cacheRoot, type ResolvedServer, resolveFromMaven } from "./maven.js";
export {
  type Direction,
  FaultProxy,
  type FaultProxyOptions,
  type FrameRecord,
  type ProxiedConnection,
  type ProxyStats,
  type RequestInfo,
  type Target,
} from "./proxy.js";
export type { StartOptions, StopOptions, WaitFor, ZooKeeperServer } from "./server.js";
export { defaultSources, jvmSources, type ServerNeed, SOURCE_NAMES, type SourceName } from "./sources.js";
export {
  compareVersions,
  DEFAULT_VERSION_LINE,
  KNOWN_GOOD_VERSIONS,
  lineOf,
  SUPPORTED_VERSION_LINES,
  type VersionLine,
  versionAtLeast,
} from "./versions.js";
export { startZooKeeper, type ZooKeeperOptions } from "./zookeeper.js";
