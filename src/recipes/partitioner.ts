/**
 * Splitting a set of items between the live members of a group (kazoo's SetPartitioner): each item is
 * held by one member at a time, and the set is split again when a member joins or leaves.
 *
 *   await using p = new Partitioner(zk, "/partition/orders", ["tenant-a", "tenant-b", ...], { settle: 5_000 });
 *   for await (const state of p.states()) {
 *     if (state.kind === "acquired") startWork(state.items, state.signal); // signal: stop working
 *     else if (state.kind === "release") { await stopWork(); await p.release(); }
 *     else if (state.kind === "failure") break;
 *   }
 *
 *   /partition/orders
 *     party/
 *       6f1e...-host-a-4711      <- ephemeral, one per member: <uuid hex>-<member id>, data = the id
 *       93ab...-host-b-815
 *     locks/
 *       tenant-a/
 *         0d77...__lock__0000000003   <- a kazoo Lock per item: its holder owns the item
 *       tenant-b/ ...
 *
 * The layout and the assignment are kazoo's, so kazoo SetPartitioners and zkwire Partitioners on one path
 * split one set between them: members are the party children's names after their first "-"; items and
 * members are sorted (by code point, as Python sorts; node names have no surrogate halves, so UTF-16
 * order is the same), and the member at index i takes items i, i + n, i + 2n, ... of n members.
 *
 * The states are kazoo's: allocating (waiting for the party to settle, then taking the items' locks),
 * acquired (the items are held), release (the party changed, or the hold is no longer certain: stop
 * working on the items, then call release(), and the set is allocated again), failure (the session
 * ended, or close(): the partitioner is done).
 *
 * Why each rule:
 * - Settle time (kazoo's time_boundary): the party is read and watched, and allocation starts only
 *   once it has not changed for `settle` ms, so a rolling restart does not reshuffle every item at each
 *   step. As kazoo does, a change while taking locks gives the taken ones back and settles again.
 * - The items' locks are taken together, not one by one (kazoo takes them in turn, each attempt bounded
 *   by max_reaction_time): a rebalance then costs one lock round trip, not one per item. A member that
 *   waits on a lock still held by a member with an older view of the party is not deadlocked: that
 *   member's view is older only because the party changed after it settled, and that change sends it
 *   to release.
 * - A short disconnect does not force a release. kazoo goes to RELEASE at the first SUSPENDED, which
 *   reshuffles the whole set after every network blip. Here the items are given up when the session
 *   could have expired: the lock lease's rule (two thirds of the session timeout after the server was
 *   last heard from; the server expires the session at the full timeout, and only then can another
 *   member's lock go through). Until then nobody else can hold the items, because the lock nodes are
 *   still there. An item's lock node deleted by someone else also ends the hold.
 * - Session expiry is failure, as in kazoo: the party node and the locks went with the session.
 * - close() releases the locks and leaves the party (deletes the member's node).
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper } from "../client/client.js";
import { ZkArgumentError } from "../errors.js";
import { joinPath, validatePath } from "../session/paths.js";
import type { SessionState } from "../session/state.js";
import type { WatchedEvent } from "../session/watches.js";
import { Lock } from "./lock.js";
import { PersistentNode } from "./persistent-node.js";
import { abortable } from "./toolkit/abort.js";
import { Broadcast } from "./toolkit/broadcast.js";
import type { Lease } from "./toolkit/lease.js";
import { ignore, retryOnConnectionLoss } from "./toolkit/retry.js";
import { isCode, sleep, validateNodeName } from "./toolkit/support.js";

export type PartitionState =
  | { readonly kind: "allocating" }
  /** `signal` aborts when the items must no longer be worked on (the state moved on). */
  | { readonly kind: "acquired"; readonly items: readonly string[]; readonly signal: AbortSignal }
  | { readonly kind: "release"; readonly reason: string }
  | { readonly kind: "failure"; readonly reason: string };

/** Which items `id` takes: kazoo's rule by default (see the header). */
export type PartitionFunction = (
  id: string,
  members: readonly string[],
  items: readonly string[],
) => string[];

export interface PartitionerOptions {
  /** This member's id in the party; default `<hostname>-<pid>`, as kazoo's. */
  id?: string;
  /** ms the party must stay unchanged before allocating (kazoo's time_boundary). Default 30000, kazoo's. */
  settle?: number;
  /** How to split the set; must agree between all members (kazoo's partition_func). */
  partition?: PartitionFunction;
  acl?: readonly AclEntry[];
  /** Aborting it closes the partitioner. */
  signal?: AbortSignal;
}

/** kazoo's SetPartitioner._partitioner: the sorted items from the member's index, every n-th. */
export const kazooPartition: PartitionFunction = (id, members, items) => {
  const workers = [...members].sort();
  const i = workers.indexOf(id);
  if (i < 0) return [];
  return [...items].sort().filter((_, k) => k % workers.length === i);
};

class Restart extends Error {}

export class Partitioner implements AsyncDisposable {
  readonly path: string;
  readonly id: string;
  private readonly itemList: readonly string[];
  private readonly settle: number;
  private readonly partition: PartitionFunction;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly partyPath: string;
  private readonly locksPath: string;
  private readonly party: PersistentNode;
  private current: PartitionState = { kind: "allocating" };
  private acquiredStop: AbortController | null = null;
  private readonly updates = new Broadcast<PartitionState>();
  private readonly stop = new AbortController();
  private releaseRequested: (() => void) | null = null;
  private leases: Lease[] = [];
  private readonly loop: Promise<void>;
  private closing: Promise<void> | null = null;
  private readonly outer: AbortSignal | undefined;
  private readonly onOuterAbort = () => void this.close();
  private readonly onState = (state: SessionState) => {
    if (state.kind === "expired" || state.kind === "closed" || state.kind === "auth-failed")
      this.stop.abort(new Restart(`the session ended (${state.kind})`));
  };

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    items: Iterable<string>,
    options: PartitionerOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("the partitioner path cannot be the root");
    const list = [...items];
    for (const item of list) validateNodeName(item, "an item");
    if (new Set(list).size !== list.length) throw new ZkArgumentError("the items must be distinct");
    this.itemList = list;
    this.id = options.id ?? `${hostname()}-${process.pid}`;
    this.settle = options.settle ?? 30_000;
    if (typeof this.settle !== "number" || !Number.isFinite(this.settle) || this.settle < 0)
      throw new ZkArgumentError(`settle must be a number of ms >= 0, got ${String(this.settle)}`);
    this.partition = options.partition ?? kazooPartition;
    if (typeof this.partition !== "function") throw new ZkArgumentError("partition must be a function");
    this.acl = options.acl;
    if (typeof this.id !== "string" || this.id === "")
      throw new ZkArgumentError("id must be a non-empty string");
    // kazoo's ShallowParty node: the id after a uuid, so it must fit in a node name.
    const memberName = validateNodeName(`${randomUUID().replaceAll("-", "")}-${this.id}`, "the member id");
    options.signal?.throwIfAborted();
    this.partyPath = joinPath(this.path, "party");
    this.locksPath = joinPath(this.path, "locks");
    this.party = new PersistentNode(zk, joinPath(this.partyPath, memberName), this.id, {
      mode: "ephemeral",
      acl: this.acl,
    });
    this.outer = options.signal;
    options.signal?.addEventListener("abort", this.onOuterAbort, { once: true });
    zk.on("state", this.onState);
    this.onState(zk.state);
    this.loop = this.run().catch((err) => this.fail(err instanceof Error ? err.message : String(err)));
  }

  /** The current state. */
  get state(): PartitionState {
    return this.current;
  }

  /** The items held (empty unless acquired). */
  get items(): readonly string[] {
    return this.current.kind === "acquired" ? this.current.items : [];
  }

  /** The current state, then every change, until failure, `signal`, or `break`. */
  states(signal?: AbortSignal): AsyncIterableIterator<PartitionState> {
    const first = this.current;
    const rest = this.updates.subscribe(signal);
    return (async function* () {
      yield first;
      yield* rest;
    })();
  }

  /** Resolves with the items once acquired; rejects on failure, timeout or abort. */
  async waitForAcquire(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<readonly string[]> {
    const stop = new AbortController();
    const timer =
      options.timeout === undefined
        ? undefined
        : setTimeout(
            () => stop.abort(new ZkArgumentError(`not acquired within ${options.timeout} ms`)),
            options.timeout,
          );
    const relay = () => stop.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", relay, { once: true });
    try {
      for await (const state of this.states(stop.signal)) {
        if (state.kind === "acquired") return state.items;
        if (state.kind === "failure") throw new Error(`partitioner ${this.path} failed: ${state.reason}`);
      }
      throw stop.signal.reason ?? new Error(`partitioner ${this.path} ended`);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", relay);
    }
  }

  /** In the release state: gives the items up and allocates the set again. Otherwise nothing. */
  async release(): Promise<void> {
    if (this.current.kind !== "release") return;
    const go = this.releaseRequested;
    this.releaseRequested = null;
    go?.();
    // Resolves once the state has moved on (the locks are released before allocating).
    for await (const state of this.states()) if (state.kind !== "release") return;
  }

  /** Releases the items and leaves the party; the state becomes failure ("closed"). Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.outer?.removeEventListener("abort", this.onOuterAbort);
      this.stop.abort(new Restart("closed"));
      this.closing = this.loop.then(async () => {
        await this.releaseAll();
        await this.party.close();
        this.zk.off("state", this.onState);
      });
    }
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private setState(state: PartitionState): void {
    if (this.current.kind === "failure") return;
    this.acquiredStop?.abort(new Restart(`partition state is now ${state.kind}`));
    this.acquiredStop = null;
    this.current = state;
    this.updates.publish(state);
    if (state.kind === "failure") this.updates.end();
  }

  private fail(reason: string): void {
    this.setState({ kind: "failure", reason });
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    try {
      for (const p of [this.partyPath, this.locksPath]) {
        await retryOnConnectionLoss(
          () => this.zk.create(p, null, { acl: this.acl, createParents: true, signal }),
          signal,
        ).catch((err) => {
          if (!isCode(err, "NodeExists")) throw err;
        });
      }
      await this.party.ready({ signal });
      for (;;) {
        this.setState({ kind: "allocating" });
        const { members, changed } = await this.settled();
        if (!members.includes(this.id)) continue; // our node is being re-created: settle again
        const mine = this.partition(this.id, members, this.itemList);
        const partyChanged = new AbortController();
        const onChange = () => partyChanged.abort(new Restart("the party changed"));
        void changed.then(onChange);
        signal.addEventListener("abort", onChange, { once: true });
        const got = await this.acquireAll(mine, partyChanged.signal);
        signal.removeEventListener("abort", onChange);
        signal.throwIfAborted();
        if (!got) {
          await this.releaseAll(); // the party changed while taking locks: give them back, settle again
          continue;
        }
        const stopWork = new AbortController();
        this.setState({ kind: "acquired", items: mine, signal: stopWork.signal });
        this.acquiredStop = stopWork;
        const reason = await this.heldUntil(changed);
        this.setState({ kind: "release", reason });
        await abortable(
          new Promise<void>((resolve) => {
            this.releaseRequested = resolve;
          }),
          signal,
        );
        await this.releaseAll();
      }
    } catch (err) {
      const reason = signal.aborted
        ? (signal.reason as Error).message
        : err instanceof Error
          ? err.message
          : String(err);
      this.fail(reason);
    }
  }

  /**
   * kazoo's PatientChildrenWatch: lists the party (with a watch) until a listing stays unchanged for
   * `settle` ms. Returns the members and the watch of that listing (its firing is the next change).
   */
  private async settled(): Promise<{ members: string[]; changed: Promise<WatchedEvent> }> {
    const signal = this.stop.signal;
    for (;;) {
      const { children, watch } = await retryOnConnectionLoss(
        () => this.zk.getChildren(this.partyPath, { watch: true, signal }),
        signal,
      );
      let fired = false;
      void watch.then(() => {
        fired = true;
      });
      await sleep(this.settle, signal);
      if (!fired) return { members: children.map((c) => c.slice(c.indexOf("-") + 1)), changed: watch };
    }
  }

  /** Takes every item's lock, together. False (and what was taken is kept in leases) if `signal` aborts. */
  private async acquireAll(items: readonly string[], signal: AbortSignal): Promise<boolean> {
    const results = await Promise.allSettled(
      items.map(async (item) => {
        const lock = new Lock(this.zk, joinPath(this.locksPath, item), {
          naming: "kazoo",
          acl: this.acl,
          // No grace of our own: the lease's cap (two thirds of the session timeout since the server
          // was last heard from) is the rule.
          grace: Number.MAX_SAFE_INTEGER,
        });
        const lease = await lock.acquire({ signal });
        this.leases.push(lease);
      }),
    );
    if (signal.aborted) return false;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return true;
  }

  /** Waits while acquired: resolves with why the items must be given up. */
  private heldUntil(changed: Promise<WatchedEvent>): Promise<string> {
    const signal = this.stop.signal;
    const lost = this.leases.map(
      (lease) =>
        new Promise<string>((resolve) => {
          const s = lease.signal;
          if (s.aborted) resolve((s.reason as Error).message);
          else s.addEventListener("abort", () => resolve((s.reason as Error).message), { once: true });
        }),
    );
    return abortable(Promise.race([changed.then(() => "the party changed"), ...lost]), signal);
  }

  private async releaseAll(): Promise<void> {
    const leases = this.leases;
    this.leases = [];
    await Promise.all(leases.map((lease) => lease.release().catch(ignore)));
  }
}
