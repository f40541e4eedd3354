/**
 * A running set of ZooKeeper servers as tests see it: members by id, their roles, and control of each
 * member's process. Built by startZooKeeper (zookeeper.ts).
 */
import { HarnessError } from "./errors.js";
import type { ServerMode } from "./four-letter-word.js";
import { ProcessServer, type StartOptions, type StopOptions, type ZooKeeperServer } from "./server.js";
import type { SourceName } from "./sources.js";

/** A member, or its server id (1-based). */
export type Member = ZooKeeperServer | number;

export class ZooKeeperCluster implements AsyncDisposable {
  readonly source: SourceName;
  /** The version the servers report, e.g. "3.9.5" ("unknown" if an external server hides it). */
  readonly version: string;
  readonly servers: readonly ZooKeeperServer[];
  /** Every member, "127.0.0.1:p1,127.0.0.1:p2,...". */
  readonly connectString: string;
  /** The temp dir holding all members (undefined for external servers and containers). */
  readonly dir: string | undefined;
  #closed = false;
  readonly #cleanup: () => Promise<void>;

  constructor(
    source: SourceName,
    version: string,
    servers: readonly ZooKeeperServer[],
    dir: string | undefined,
    cleanup: () => Promise<void>,
  ) {
    this.source = source;
    this.version = version;
    this.servers = servers;
    this.connectString = servers.map((server) => server.connectString).join(",");
    this.dir = dir;
    this.#cleanup = cleanup;
  }

  /** The member with this server id (1-based, as in server.N and myid). */
  server(id: number): ZooKeeperServer {
    const found = this.servers.find((server) => server.id === id);
    if (found === undefined) {
      throw new HarnessError("ZK_BAD_OPTION", `no server with id ${id}; ids are 1..${this.servers.length}`);
    }
    return found;
  }

  #member(member: Member): ZooKeeperServer {
    return typeof member === "number" ? this.server(member) : member;
  }

  start(member: Member, options?: StartOptions): Promise<void> {
    return this.#member(member).start(options);
  }

  stop(member: Member, options?: StopOptions): Promise<void> {
    return this.#member(member).stop(options);
  }

  kill(member: Member): Promise<void> {
    return this.#member(member).kill();
  }

  restart(member: Member, options?: StartOptions): Promise<void> {
    return this.#member(member).restart(options);
  }

  /** The role `srvr` reports now, or undefined if the member does not answer or does not serve. */
  mode(member: Member, timeoutMs?: number): Promise<ServerMode | undefined> {
    return this.#member(member).mode(timeoutMs);
  }

  /**
   * Waits until exactly one running member reports Mode: leader and returns it (for a one-member
   * cluster, the standalone server). Useful right after killing a leader: it returns the new one.
   */
  async leader(timeoutMs = 30_000): Promise<ZooKeeperServer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const candidates = this.servers.filter((server) => server.running);
      const modes = await Promise.all(candidates.map((server) => server.mode(1_000)));
      const leaders = candidates.filter((_, i) => modes[i] === "leader" || modes[i] === "standalone");
      if (leaders.length === 1 && leaders[0] !== undefined) return leaders[0];
      if (Date.now() > deadline) {
        const seen = candidates.map((server, i) => `${server.id}=${modes[i] ?? "not serving"}`).join(", ");
        throw new HarnessError(
          "ZK_TIMEOUT",
          `no single leader after ${timeoutMs} ms (modes: ${seen || "none running"})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits until every running member serves (reports a mode). */
  async waitUntilServing(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      this.servers.map(async (server) => {
        if (server instanceof ProcessServer) {
          if (server.running) await server.waitFor("serving", deadline);
          return;
        }
        while ((await server.mode(1_000)) === undefined) {
          if (Date.now() > deadline) {
            throw new HarnessError("ZK_TIMEOUT", `${server.connectString} does not serve`);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }),
    );
  }

  /** Kills every server the harness started and removes the temp dir. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#cleanup();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
