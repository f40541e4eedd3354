/**
 * Typed errors of the test harness. Each has a stable `code` so a test (or CI log reader) can tell
 * "no ZooKeeper on this machine" from "the server crashed on start" without parsing messages.
 */

export type HarnessErrorCode =
  /** No source (external, local, maven, testcontainers) could provide a server. */
  | "ZK_NOT_FOUND"
  /** stop/kill/restart on a server the harness did not start (ZK_CONNECT, testcontainers restart). */
  | "ZK_NOT_OWNED"
  /** A server process exited or did not serve within the start timeout. */
  | "ZK_START_FAILED"
  /** Maven could not resolve a ZooKeeper version and its jars. */
  | "ZK_RESOLVE_FAILED"
  /** A four-letter word got no answer (refused, reset, timed out). */
  | "ZK_FOUR_LETTER_WORD"
  /** Waiting for a state (a leader, a mode) took longer than allowed. */
  | "ZK_TIMEOUT"
  /** An option has a value the harness cannot use. */
  | "ZK_BAD_OPTION";

export class HarnessError extends Error {
  override name = "HarnessError";
  readonly code: HarnessErrorCode;

  constructor(code: HarnessErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** One source that was considered and why it was not used. */
export interface SourceAttempt {
  readonly source: string;
  readonly reason: string;
}

export class ZooKeeperNotFoundError extends HarnessError {
  override name = "ZooKeeperNotFoundError";
  readonly attempts: readonly SourceAttempt[];

  constructor(attempts: readonly SourceAttempt[]) {
    const tried = attempts.map((a) => `  - ${a.source}: ${a.reason}`).join("\n");
    super(
      "ZK_NOT_FOUND",
      `no ZooKeeper server available for tests; tried:\n${tried}\n` +
        "To get one: install Java 11+ and Maven (the harness then fetches ZooKeeper from Maven Central), " +
        "or set ZOOKEEPER_HOME to an unpacked ZooKeeper release, or `apt-get install zookeeper`, " +
        "or set ZK_CONNECT=host:port to use a running server, " +
        "or run a Docker engine with `npm i -D testcontainers`. Run .ci/install-zookeeper to pre-fetch.",
    );
    this.attempts = attempts;
  }
}

/** stop/kill/restart need a process this harness owns; an external server cannot be controlled. */
export class NotOwnedServerError extends HarnessError {
  override name = "NotOwnedServerError";

  constructor(operation: string, connectString: string, why: string) {
    super(
      "ZK_NOT_OWNED",
      `cannot ${operation} ${connectString}: ${why}. ` +
        "Tests that stop, kill or restart servers need a harness-started server (unset ZK_CONNECT).",
    );
  }
}

export class ServerStartError extends HarnessError {
  override name = "ServerStartError";
  readonly serverId: number;
  readonly logFile: string;
  readonly logTail: string;

  constructor(serverId: number, why: string, logFile: string, logTail: string, options?: ErrorOptions) {
    super(
      "ZK_START_FAILED",
      `ZooKeeper server ${serverId} did not start: ${why}\n--- last lines of ${logFile} ---\n${logTail}`,
      options,
    );
    this.serverId = serverId;
    this.logFile = logFile;
    this.logTail = logTail;
  }
}

export class MavenResolveError extends HarnessError {
  override name = "MavenResolveError";
  readonly version: string;

  constructor(version: string, detail: string, options?: ErrorOptions) {
    super("ZK_RESOLVE_FAILED", `could not resolve ZooKeeper ${version} from Maven: ${detail}`, options);
    this.version = version;
  }
}

export class FourLetterWordError extends HarnessError {
  override name = "FourLetterWordError";

  constructor(host: string, port: number, command: string, why: string, options?: ErrorOptions) {
    super("ZK_FOUR_LETTER_WORD", `four-letter word '${command}' to ${host}:${port} failed: ${why}`, options);
  }
}
