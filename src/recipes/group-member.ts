/**
 * Group membership (Curator's GroupMember): each member keeps an ephemeral node named by its id, with
 * its data, and every member sees the others as a live list.
 *
 *   await using member = new GroupMember(zk, "/groups/workers", "worker-7", "10.0.0.7");
 *   await member.ready();
 *   member.members;                              // Map { "worker-7" => bytes, "worker-3" => bytes, ... }
 *   for await (const change of member.changes()) // { kind: "joined" | "left" | "updated", id, data }
 *
 *   /groups/workers
 *     worker-3    <- ephemeral, data = worker-3's payload (a Curator GroupMember's node)
 *     worker-7    <- ephemeral, data = worker-7's payload (this member, a PersistentNode)
 *
 * The layout is Curator's GroupMember: `{path}/{id}` created as a PersistentNode in EPHEMERAL mode, data =
 * the payload, members = the children of `{path}` with their data. A Curator GroupMember on the same path
 * lists zkwire members and the other way round.
 *
 * Why: the own node is a PersistentNode, so it comes back after session expiry (on a renewing client)
 * and after someone else deletes it. The list is read with one-shot watches (children of the path, and
 * the data of each member), which every server version has; a persistent recursive watch would save
 * reads but needs 3.6. Like Curator's, `members` always contains this member with its own data, also
 * before its node has been seen in a listing.
 */
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper } from "../client/client.js";
import { ZkArgumentError, ZooKeeperError } from "../errors.js";
import { joinPath, validatePath } from "../session/paths.js";
import type { WatchedEvent } from "../session/watches.js";
import { PersistentNode } from "./persistent-node.js";
import { abortable } from "./toolkit/abort.js";
import { Broadcast } from "./toolkit/broadcast.js";
import { ignore, retryOnConnectionLoss } from "./toolkit/retry.js";
import { isCode, isConnectionLoss, untilConnected, validateNodeName } from "./toolkit/support.js";

export interface GroupMemberOptions {
  acl?: readonly AclEntry[];
  /** Aborting it closes the member (as close() does). */
  signal?: AbortSignal;
}

export type GroupChange =
  | { readonly kind: "joined"; readonly id: string; readonly data: Uint8Array }
  | { readonly kind: "updated"; readonly id: string; readonly data: Uint8Array }
  | { readonly kind: "left"; readonly id: string };

export class GroupMember implements AsyncDisposable {
  readonly path: string;
  readonly id: string;
  private readonly node: PersistentNode;
  private readonly stop = new AbortController();
  private readonly seen = new Map<string, Uint8Array>();
  /** The members whose data is being watched (read since the last listing that showed them). */
  private readonly watched = new Set<string>();
  /** Per member, the generation of its data-watch loop (a member that left and joined gets a new one). */
  private readonly generation = new Map<string, number>();
  private readonly updates = new Broadcast<GroupChange>();
  private readonly loop: Promise<void>;
  private loaded!: () => void;
  private readonly firstListing: Promise<void>;
  private closing: Promise<void> | null = null;
  private readonly outer: AbortSignal | undefined;
  private readonly onOuterAbort = () => void this.close();

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    id: string,
    data: Uint8Array | string | null = null,
    options: GroupMemberOptions = {},
  ) {
    this.path = validatePath(path);
    this.id = validateNodeName(id, "the member id");
    options.signal?.throwIfAborted();
    this.node = new PersistentNode(zk, joinPath(this.path, this.id), data, {
      mode: "ephemeral",
      acl: options.acl,
    });
    this.firstListing = new Promise((resolve) => {
      this.loaded = resolve;
    });
    this.outer = options.signal;
    options.signal?.addEventListener("abort", this.onOuterAbort, { once: true });
    this.loop = this.watchGroup().catch(ignore);
  }

  /** Resolves once this member's node exists and a listing of the group has shown it. */
  async ready(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.node.ready(options);
    await abortable(this.firstListing, options.signal);
  }

  /** The members as last seen, id => data, always including this member with its own data. */
  get members(): ReadonlyMap<string, Uint8Array> {
    const all = new Map(this.seen);
    all.set(this.id, this.node.data);
    return all;
  }

  /** This member's data: kept, written now, and into every re-created node. */
  setData(data: Uint8Array | string): Promise<void> {
    return this.node.setData(data);
  }

  /** Changes from now on (joined, updated, left), until `signal`, `break`, or close(). */
  changes(signal?: AbortSignal): AsyncIterableIterator<GroupChange> {
    return this.updates.subscribe(signal);
  }

  /** Leaves the group (deletes this member's node) and stops watching. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.outer?.removeEventListener("abort", this.onOuterAbort);
      this.stop.abort(new ZkArgumentError(`group member ${this.id} was closed`));
      this.updates.end();
      this.closing = Promise.all([this.node.close(), this.loop]).then(ignore);
    }
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private emit(change: GroupChange): void {
    this.updates.publish(change);
  }

  /** Lists the group, watches it, and applies each listing until close(). */
  private async watchGroup(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      if (!(await untilConnected(this.zk, signal))) return;
      try {
        const listed = await this.zk.getChildren(this.path, { watch: true, signal }).catch(async (err) => {
          if (!isCode(err, "NoNode")) throw err;
          return null;
        });
        if (listed === null) {
          // No group node yet (our own node's create makes it): wait for it to appear.
          this.apply([]);
          const { stat, watch } = await this.zk.exists(this.path, { watch: true, signal });
          if (stat === null) await abortable(watch, signal);
          continue;
        }
        await this.applyListing(listed.children);
        await abortable(listed.watch, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (isConnectionLoss(err) || isCode(err, "SessionExpired")) continue;
        if (
          err instanceof ZooKeeperError &&
          (err.codeName === "ClientClosed" || err.codeName === "AuthFailed")
        )
          return;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private async applyListing(children: readonly string[]): Promise<void> {
    const added = children.filter((c) => !this.watched.has(c));
    // Read the new members' data together (one write of requests, one round trip).
    const reads = await Promise.all(added.map((id) => this.readMember(id)));
    this.apply(children);
    for (const [i, id] of added.entries()) {
      const read = reads[i]!;
      if (read === null || this.watched.has(id)) continue;
      this.watched.add(id);
      const before = this.seen.get(id);
      this.seen.set(id, read.data);
      // A member read again after a new session is "updated" only if its data changed meanwhile.
      if (before === undefined) this.emit({ kind: "joined", id, data: read.data });
      else if (!sameBytes(before, read.data)) this.emit({ kind: "updated", id, data: read.data });
      void this.followData(id, read.watch);
    }
    // Ready once a listing shows this member itself: from then on, changes are about the others.
    if (this.watched.has(this.id)) this.loaded();
  }

  /** Drops the members that are no longer listed. */
  private apply(children: readonly string[]): void {
    const present = new Set(children);
    for (const id of [...this.seen.keys()]) {
      if (present.has(id)) continue;
      this.seen.delete(id);
      this.unwatch(id);
      this.emit({ kind: "left", id });
    }
  }

  /** Ends the member's data-watch loop (it checks its generation) so that the next listing reads it. */
  private unwatch(id: string): void {
    this.watched.delete(id);
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
  }

  private async readMember(id: string): Promise<{ data: Uint8Array; watch: Promise<WatchedEvent> } | null> {
    try {
      const { data, watch } = await this.zk.getData(joinPath(this.path, id), {
        watch: true,
        signal: this.stop.signal,
      });
      return { data, watch };
    } catch (err) {
      if (isCode(err, "NoNode")) return null; // left between the listing and the read
      throw err;
    }
  }

  /** Follows one member's data until it leaves: each change is read and reported as "updated". */
  private async followData(id: string, first: Promise<WatchedEvent>): Promise<void> {
    const mine = this.generation.get(id) ?? 0;
    const current = () => !this.stop.signal.aborted && (this.generation.get(id) ?? 0) === mine;
    let watch = first;
    try {
      for (;;) {
        const event = await abortable(watch, this.stop.signal);
        if (!current()) return;
        if (event.type === "NodeDeleted") return; // the listing reports it
        if (event.type !== "NodeDataChanged") break; // the session ended: read again in the next one
        const read = await retryOnConnectionLoss(() => this.readMember(id), this.stop.signal);
        if (!current()) return;
        if (read === null) return;
        this.seen.set(id, read.data);
        this.emit({ kind: "updated", id, data: read.data });
        watch = read.watch;
      }
    } catch {
      // Closed, or the session ended under the read.
    }
    if (current()) this.unwatch(id);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
