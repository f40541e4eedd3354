/**
 * Test harness: real ZooKeeper servers on loopback. startZooKeeper (zookeeper.ts) is the entry point;
 * sources.ts says where servers come from. Environment:
 *   ZK_CONNECT      host:port,... of running servers to use instead of starting any
 *   ZK_VERSION      "3.9" (newest patch that resolves) or "3.8.4"; default the newest 3.9
 *   ZK_SOURCES      order of sources, default external,maven,testcontainers; add local to use an
 *                   installed server (ZOOKEEPER_HOME, else Debian's package in /usr/share/java)
 *   ZOOKEEPER_HOME  an unpacked ZooKeeper release to run; setting it asks for it (local comes first)
 *   ZKWIRE_CACHE    cache root for Maven-fetched servers, default ~/.cache/zkwire
 *   ZKWIRE_JAVA / JAVA_HOME, ZKWIRE_MVN   the java and mvn executables
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
export type { StartOptions, StopOptions, WaitFor, ZooKeeperServer } from "./server.js";
export { defaultSources, jvmSources, type ServerNeed, SOURCE_NAMES, type SourceName } from "./sources.js";
export {
  compareVersions,
  DEFAULT_VERSION_LINE,
  KNOWN_GOOD_VERSIONS,
  SUPPORTED_VERSION_LINES,
  type VersionLine,
} from "./versions.js";
export { startZooKeeper, type ZooKeeperOptions } from "./zookeeper.js";
