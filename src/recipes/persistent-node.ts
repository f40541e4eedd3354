/**
 * A node that stays: created at once, and created again whenever it goes (Curator's PersistentNode).
 *
 *   await using node = new PersistentNode(zk, "/services/api/host-7", "10.0.0.7:8080");
 *   await node.ready({ timeout: 10_000 });
 *   await node.setData("10.0.0.7:8081"); // kept, and written again into every re-created node
 *
 *   /services/api
 *     host-7      <- ephemeral by default; data = the node's current data
 *
 * Shared with Curator's PersistentNode (and so its GroupMember, ServiceDiscovery...): same path, same
 * mode, same rules, so a Curator process and a zkwire one can each keep a node the other reads.
 *
 * Why each case is handled:
 * - Deleted by someone else: the node is watched (exists, which also reports a node that does not
 *   exist yet); NodeDeleted re-creates it, with the data it last had.
 * - Session expiry: the server deletes an ephemeral node with its session. On a client with
 *   renewSessionOnExpiry the node is created again in the new session. A client without renewal
 *   cannot serve anything after expiry (its expiry is final, as in the reference client), so the node
 *   stays gone until close().
 * - NodeExists on create: the node is there already, maybe ours from a create whose reply was lost, or
 *   an ephemeral of our own earlier session the server has not expired yet. As Curator does, it is
 *   adopted and given our data; should it vanish with that old session, the watch re-creates it.
 * - ConnectionLoss: the create is tried again; NodeExists then says it had happened. With
 *   `protection` (Curator's withProtection: `_c_<uuid>-<name>`, for sequential modes) the node is
 *   found again by the id in its name instead of making a second one.
 * - close(): the node is deleted (any mode, as Curator does), and nothing is created afterwards.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper } from "../client/client.js";
import { PersistentNodeTimeoutError, ZkArgumentError, ZooKeeperError } from "../errors.js";
import type { CreateModeName } from "../protocol/constants.js";
import type { Stat } from "../protocol/records/stat.js";
import { joinPath, parentOf, validatePath } from "../session/paths.js";
import type { WatchedEvent } from "../session/watches.js";

import { abortable } from "./toolkit/abort.js";
import { ignore, retryOnConnectionLoss } from "./toolkit/retry.js";
import { dataBytes, isCode, isConnectionLoss, untilConnected } from "./toolkit/support.js";

// The error lives with every other zkwire error (src/errors.ts); its name stays importable from here.
export { PersistentNodeTimeoutError };

export type PersistentNodeMode = Extract<
  CreateModeName,
  "ephemeral" | "persistent" | "ephemeralSequential" | "persistentSequential"
>;

const MODES: readonly PersistentNodeMode[] = [
  "ephemeral",
  "persistent",
  "ephemeralSequential",
  "persistentSequential",
];

export interface PersistentNodeOptions {
  /** Default "ephemeral". */
  mode?: PersistentNodeMode;
  /** Curator's withProtection: the name becomes `_c_<uuid>-<name>`, found again after a lost reply. */
  protection?: boolean;
  acl?: readonly AclEntry[];
  /** Aborting it closes the node (as close() does). */
  signal?: AbortSignal;
}

export class PersistentNode implements AsyncDisposable {
  /** The path asked for (with protection or a sequential mode, the actual name differs). */
  readonly path: string;
  readonly mode: PersistentNodeMode;
  private currentData: Uint8Array;
  private actual: string | null = null;
  private readonly prefix: string;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly stop = new AbortController();
  private readonly loop: Promise<void>;
  private closing: Promise<void> | null = null;
  private created!: () => void;
  private readonly firstCreate: Promise<void>;
  private readonly onOuterAbort: () => void;
  private readonly outer: AbortSignal | undefined;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    data: Uint8Array | string | null = null,
    options: PersistentNodeOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a PersistentNode cannot be the root");
    this.mode = options.mode ?? "ephemeral";
    if (!MODES.includes(this.mode))
      throw new ZkArgumentError(`mode must be one of ${MODES.join(", ")}, got ${String(this.mode)}`);
    this.currentData = dataBytes(data, "data");
    this.acl = options.acl;
    const name = this.path.slice(this.path.lastIndexOf("/") + 1);
    this.prefix = options.protection
      ? joinPath(parentOf(this.path), `_c_${randomUUID()}-${name}`)
      : this.path;
    this.firstCreate = new Promise((resolve) => {
      this.created = resolve;
    });
    this.outer = options.signal;
    this.onOuterAbort = () => void this.close();
    options.signal?.throwIfAborted();
    options.signal?.addEventListener("abort", this.onOuterAbort, { once: true });
    this.loop = this.keep().catch(ignore);
  }

  /** The node's actual path once created (null before, and after close()). */
  get actualPath(): string | null {
    return this.actual;
  }

  /** The data the node has (or will have when re-created). */
  get data(): Uint8Array {
    return this.currentData;
  }

  /** Resolves once the node was first created; rejects on timeout, abort, or close(). */
  ready(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    const { timeout, signal } = options;
    const controller = new AbortController();
    const relay = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", relay, { once: true });
    const closed = () =>
      controller.abort(new PersistentNodeTimeoutError(`persistent node ${this.path} was closed`));
    this.stop.signal.addEventListener("abort", closed, { once: true });
    if (this.stop.signal.aborted) closed();
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(
            () =>
              controller.abort(
                new PersistentNodeTimeoutError(`persistent node ${this.path} not created in ${timeout} ms`),
              ),
            timeout,
          );
    return abortable(this.firstCreate, controller.signal).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", relay);
      this.stop.signal.removeEventListener("abort", closed);
    });
  }

  /**
   * Replaces the data: kept for every re-creation, and written to the node now if it exists. Resolves
   * when written (or when there is no node to write to: the next creation carries it).
   */
  async setData(data: Uint8Array | string): Promise<void> {
    const bytes = dataBytes(data, "data");
    if (this.stop.signal.aborted) throw new ZkArgumentError(`persistent node ${this.path} is closed`);
    this.currentData = bytes;
    const path = this.actual;
    if (path === null) return;
    try {
      await retryOnConnectionLoss(() => this.zk.setData(path, bytes), this.stop.signal);
    } catch (err) {
      // Gone: the watch re-creates it with the new data.
      if (!isCode(err, "NoNode")) throw err;
    }
  }

  /** Stops keeping the node and deletes it. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.outer?.removeEventListener("abort", this.onOuterAbort);
      this.stop.abort(new PersistentNodeTimeoutError(`persistent node ${this.path} was closed`));
      this.closing = this.loop.then(() => this.deleteNode());
    }
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async deleteNode(): Promise<void> {
    const path = this.actual;
    this.actual = null;
    if (path === null) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.zk.delete(path);
        return;
      } catch (err) {
        if (!(err instanceof ZooKeeperError) || !err.isConnectionLoss) return; // gone, or the client ended
      }
    }
  }

  /** The one loop that owns the node: create, watch, create again when it goes. */
  private async keep(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      if (!(await untilConnected(this.zk, signal))) return;
      let stat: Stat | null;
      try {
        if (this.actual === null) await this.create();
        const watched = await this.zk.exists(this.actual!, { watch: true, signal });
        stat = watched.stat;
        if (stat !== null) {
          const event: WatchedEvent = await abortable(watched.watch, signal);
          // NodeDataChanged and the like: watch again. None: the session ended, and an ephemeral node
          // with it; create it again once a new session is there.
          if (event.type === "NodeDeleted" || event.type === "None") this.forget();
          continue;
        }
        this.forget();
      } catch (err) {
        if (signal.aborted) return;
        if (isConnectionLoss(err)) continue;
        // The session expired under a call: its ephemeral node went with it.
        if (isCode(err, "SessionExpired")) {
          this.forget();
          continue;
        }
        if (err instanceof ZooKeeperError && isFinishedCode(err)) return;
        // NoAuth and the like: nothing to retry into; wait a little so as not to spin, then try again.
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /** The node is gone: the next round creates it again (a sequential or protected one under a new name). */
  private forget(): void {
    this.actual = null;
  }

  private async create(): Promise<void> {
    const signal = this.stop.signal;
    for (;;) {
      try {
        // Without the signal: a create abandoned in flight by close() could still make the node, and
        // close() would not know to delete it. Answered, the node is adopted, and close() deletes it.
        const { path } = await this.zk.create(this.prefix, this.currentData, {
          mode: this.mode,
          acl: this.acl,
          createParents: true,
        });
        this.adopt(path);
        return;
      } catch (err) {
        if (isCode(err, "NodeExists")) {
          // Ours from a lost reply, or left by an earlier session: adopt it and give it our data.
          this.adopt(this.prefix);
          await retryOnConnectionLoss(
            () => this.zk.setData(this.prefix, this.currentData, { signal }),
            signal,
          ).catch((e) => {
            if (!isCode(e, "NoNode")) throw e;
          });
          return;
        }
        if (!isConnectionLoss(err)) throw err;
        if (signal.aborted && this.prefix === this.path) {
          // Closed, and the lost create may have happened. A node of a plain mode is at its path: close()
          // deletes it (NoNode if the create did not happen). An unprotected sequential one cannot be
          // found (Curator's reason for protection); a protected one is looked for below.
          if (!this.mode.endsWith("Sequential")) this.actual = this.path;
          throw err;
        }
        if (this.prefix !== this.path) {
          const found = await this.findProtected();
          if (found !== null) {
            this.adopt(found);
            return;
          }
        }
        if (signal.aborted) throw err;
      }
    }
  }

  private adopt(path: string): void {
    this.actual = path;
    this.created();
  }

  /** Our protected node after a create whose reply was lost: the child whose name starts with our id. */
  private async findProtected(): Promise<string | null> {
    const parent = parentOf(this.prefix);
    const start = this.prefix.slice(this.prefix.lastIndexOf("/") + 1);
    try {
      const { children } = await retryOnConnectionLoss(() => this.zk.getChildren(parent), this.stop.signal);
      const own = children.find((c) => c.startsWith(start));
      return own === undefined ? null : joinPath(parent, own);
    } catch (err) {
      if (isCode(err, "NoNode")) return null;
      throw err;
    }
  }
}

function isFinishedCode(err: ZooKeeperError): boolean {
  return (
    err.codeName === "ClientClosed" || err.codeName === "AuthFailedState" || err.codeName === "AuthFailed"
  );
}
