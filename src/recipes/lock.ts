/**
 * A distributed lock (mutex) on a ZooKeeper path.
 *
 *   const lock = new Lock(zk, "/locks/orders");
 *   await using lease = await lock.acquire({ timeout: 10_000 });
 *   // critical section: lease.token fences downstream writes, lease.signal fires if the lock is lost
 *
 * How it works. Each contender creates an ephemeral-sequential child of the lock path and holds the lock
 * while its child has the lowest sequence number. Contenders are ordered by that number alone (the
 * trailing ten digits); children without one are not contenders. zkwire contenders share a path with
 * Curator's InterProcessMutex when named the Curator way (the default) and with kazoo's Lock when named
 * the kazoo way: each of those orders its own kind of names by the same sequence number. (Curator and
 * kazoo cannot share a path with each other: neither sees the other's names as its order requires.)
 *
 *   /locks/orders
 *     _c_6f1e...-lock-0000000041   <- holder
 *     _c_93ab...-lock-0000000042   <- waits for 41 to go (watches 41 only)
 *     _c_0d77...-lock-0000000044   <- waits for 42 to go (watches 42 only)
 *
 * - Herd-free: a waiter watches only its predecessor, so a release wakes one waiter. When the deleted
 *   predecessor was the first of the waiter's last listing, nothing lower can exist any more (sequence
 *   numbers only grow), so the waiter holds the lock without reading again.
 * - Marked hand-over: a deleted predecessor further back in the queue may have given up while others
 *   ahead of it still wait, so the standard recipe reads the children again, a round trip on the path
 *   from one holder to the next. A zkwire lease that waited for the lock releases its child with a
 *   setData and the delete in one transaction; its successor watches both the child's data and its
 *   (never existing) children, and receives NodeDataChanged and NodeDeleted with one zxid. Only a holder
 *   releases that way, and nothing below a holder remains, so the successor holds the lock at once.
 *   Any other deletion (given up, expired, another client's release, a write by someone else in
 *   between, a server before 3.9 that sends no zxid with its events) is read as a plain deletion.
 * - One round trip when free: the create and the first getChildren are written together; the server
 *   answers a session's requests in order, so the listing already contains the new child.
 * - Protected create: the child's name carries a random id. If the connection drops while the create
 *   is in flight, the contender looks for its id among the children after reconnecting instead of
 *   creating a second child, so no orphan is left to block everyone until the session ends.
 * - Fencing: a lease's token is its child's creation zxid. A later holder's child was created after
 *   every earlier holder's child (it was not the lowest until they were gone), so tokens strictly
 *   increase from holder to holder, across lock paths too; a store can refuse writes with a lower one.
 *   `lease.transaction()` writes to ZooKeeper only if the child still exists (a check in the same multi).
 * - Loss: `lease.signal` aborts when the lock can no longer be guaranteed: the session expired, the
 *   child was deleted by someone else, or the connection stayed down past `grace` (default 0).
 *
 * Why grace defaults to 0: while disconnected, a holder cannot know whether its session is alive. The
 * server expires it once it has not heard from the client for the session timeout, and a client notices
 * a silent connection only after two thirds of it, so by the time the loss is noticed another contender
 * may be a third of a timeout away from taking the lock. A grace lets short blips pass, but the signal
 * always fires by the time two thirds of the session timeout have passed since the server was last
 * heard from, whatever the grace: past that point the lock is not guaranteed.
 *
 * Reentrancy: none. Each acquire() is its own contender with its own child, also on the same Lock
 * object: JavaScript tasks have no thread identity to re-enter with, and counting re-acquisitions per
 * object (Curator's rule) would let two concurrent tasks of one process both "hold" the lock. Code that
 * needs the lock deeper down passes the lease along.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { CallOptions, ZooKeeper } from "../client/client.js";
import type { Transaction } from "../client/transaction.js";
import { ZkArgumentError, ZooKeeperError } from "../errors.js";
import { ErrorCode } from "../protocol/constants.js";
import type { Stat } from "../protocol/records/stat.js";
import { joinPath, validatePath } from "../session/paths.js";
import type { SessionState } from "../session/state.js";
import type { WatchedEvent } from "../session/watches.js";

/** How contenders' children are named, so that other clients' contenders can share the path. */
export type LockNaming =
  /** Curator's InterProcessMutex: `_c_<uuid>-lock-<seq>` (protected). The default. */
  | "curator"
  /** kazoo's Lock: `<uuid hex>__lock__<seq>`. */
  | "kazoo"
  /** `<prefix><seq>`, for clients that create e.g. `sequence0000000072`; not protected (no id). */
  | { prefix: string };

export interface LockOptions {
  naming?: LockNaming;
  /** ACL of the children (and of the lock path when it has to be created). Default OPEN_ACL_UNSAFE. */
  acl?: readonly AclEntry[];
  /** ms the connection may stay down before a held lease counts as lost. Default 0 (see above). */
  grace?: number;
}

export interface AcquireOptions {
  /** ms to wait at most; the contender's child is removed and acquire rejects with LockTimeoutError. */
  timeout?: number;
  signal?: AbortSignal;
}

/** The lock was lost (lease.signal's reason), or a write through a lost lease was refused. */
export class LockLostError extends Error {
  override readonly name = "LockLostError";
  readonly code = "ZK_LOCK_LOST";
}

/** acquire() gave up after its timeout. */
export class LockTimeoutError extends Error {
  override readonly name = "LockTimeoutError";
  readonly code = "ZK_LOCK_TIMEOUT";
}

/** The sequence number of a contender's child (its trailing ten digits), or -1 for a non-contender. */
export function sequenceOf(name: string): number {
  const end = name.length;
  if (end < 10) return -1;
  let n = 0;
  for (let i = end - 10; i < end; i++) {
    const d = name.charCodeAt(i) - 48; // "0"
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Children that are contenders, lowest sequence first. */
export function contenders(children: readonly string[]): string[] {
  return children
    .map((name) => ({ name, seq: sequenceOf(name) }))
    .filter((c) => c.seq >= 0)
    .sort((a, b) => a.seq - b.seq)
    .map((c) => c.name);
}

function namePrefix(naming: LockNaming, id: string): string {
  if (naming === "curator") return `_c_${id}-lock-`;
  if (naming === "kazoo") return `${id.replaceAll("-", "")}__lock__`;
  return naming.prefix;
}

export class Lock {
  readonly path: string;
  private readonly naming: LockNaming;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly grace: number;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: LockOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("the lock path cannot be the root");
    this.naming = options.naming ?? "curator";
    if (typeof this.naming === "object") {
      const prefix = this.naming.prefix;
      if (typeof prefix !== "string" || prefix.includes("/") || /\d$/.test(prefix)) {
        throw new ZkArgumentError(
          "naming.prefix must be a node name part without '/' and not ending in a digit",
        );
      }
    } else if (this.naming !== "curator" && this.naming !== "kazoo") {
      throw new ZkArgumentError(
        `naming must be "curator", "kazoo" or { prefix }, got ${String(this.naming)}`,
      );
    }
    this.acl = options.acl;
    this.grace = options.grace ?? 0;
    if (!Number.isFinite(this.grace) || this.grace < 0)
      throw new ZkArgumentError("grace must be a number >= 0");
  }

  /** Waits for the lock and returns the lease. */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    // contend() resolves null only when told not to wait.
    return this.contend(options, true) as Promise<Lease>;
  }

  /** Takes the lock if it is free right now; otherwise removes its child and returns null. */
  async tryAcquire(options: CallOptions = {}): Promise<Lease | null> {
    return this.contend(options, false);
  }

  /** Runs `fn` under the lock and always releases. */
  async withLock<T>(fn: (lease: Lease) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const lease = await this.acquire(options);
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  private async contend(options: AcquireOptions, wait: boolean): Promise<Lease | null> {
    const { signal, timeout } = options;
    signal?.throwIfAborted();
    // Only a caller that can give up needs the plumbing (a controller, a listener, a timer): the common
    // acquire() without a deadline passes no signal to any call.
    const stop = signal === undefined && timeout === undefined ? undefined : new AbortController();
    const onAbort = () => stop?.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(
            () => stop?.abort(new LockTimeoutError(`lock ${this.path} not acquired within ${timeout} ms`)),
            timeout,
          );
    const contender = new Contender(
      this.zk,
      this.path,
      namePrefix(this.naming, randomUUID()),
      typeof this.naming === "string", // only the named schemes carry an id to find the child by
      this.naming === "curator",
      this.acl,
      stop?.signal,
    );
    try {
      const held = await contender.run(wait);
      if (!held) {
        await contender.withdraw();
        return null;
      }
      return new Lease(this.zk, contender.nodePath!, contender.stat!, this.grace, contender.waited);
    } catch (err) {
      await contender.withdraw();
      throw stop?.signal.aborted ? stop.signal.reason : err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * The watches set on the predecessor's child (boxed: a promise cannot resolve to a promise), or null
 * when it did not exist (and no watch was left behind). `data` fires first on any change; `child`, set
 * where it could be, fires on the deletion only, so that a release marker can be told apart.
 */
type Armed = { data: Promise<WatchedEvent>; child: Promise<WatchedEvent> | null } | null;

/** How a wait for the predecessor ended. */
enum Gone {
  /** Released by a zkwire lease: it held the lock, so nothing below it is left. */
  Released,
  /** Deleted some other way (given up, expired, another client's release): look at the others. */
  Deleted,
  /** Not deleted (its data changed, or the watch ended otherwise): look again. */
  Changed,
}

/** One attempt to take the lock: its child, and the loop that waits for the predecessors to go. */
class Contender {
  nodePath: string | null = null;
  stat: Stat | null = null;
  /** Whether another contender was ahead at some point: the lock is contended, mark the release. */
  waited = false;
  private name: string | null = null;
  private sequence = -1;
  /** From the last listing: how many contenders are ahead of ours, and the nearest of them. */
  private ahead = 0;
  private predecessor: string | null = null;
  /** The options of every read: made once, the hot path passes them on every call. */
  private readonly readOptions: CallOptions;
  private readonly watchOptions: CallOptions & { watch: true };

  constructor(
    private readonly zk: ZooKeeper,
    private readonly lockPath: string,
    private readonly prefix: string,
    private readonly protectedName: boolean,
    private readonly containerPath: boolean,
    private readonly acl: readonly AclEntry[] | undefined,
    private readonly stop: AbortSignal | undefined,
  ) {
    this.readOptions = { signal: stop };
    this.watchOptions = { watch: true, signal: stop };
  }

  /** Resolves true once the lock is held; with `wait` false, false when it is not free. */
  async run(wait: boolean): Promise<boolean> {
    let children = await this.createAndList();
    for (;;) {
      this.stop?.throwIfAborted();
      this.place(children);
      if (this.ahead === 0) return true;
      if (!wait) return false;
      this.waited = true;
      const gone = await this.waitGone(this.predecessor!);
      // A lease's release: the predecessor held the lock, so every child below it was gone already.
      if (gone === Gone.Released) return true;
      // The predecessor was the lowest child: nothing lower can appear, the lock is ours without a read.
      if (gone === Gone.Deleted && this.ahead === 1) return true;
      children = await this.list();
    }
  }

  /**
   * Finds our child's place in a listing: the contenders with a lower sequence number, and the highest
   * of those (the one to wait for). One pass, no sorting: a listing is read on every acquisition.
   */
  private place(children: readonly string[]): void {
    const mine = this.sequence;
    let found = false;
    let ahead = 0;
    let predecessor: string | null = null;
    let predecessorSequence = -1;
    for (const child of children) {
      if (child === this.name) {
        found = true;
        continue;
      }
      const sequence = sequenceOf(child);
      if (sequence < 0 || sequence >= mine) continue;
      ahead++;
      if (sequence > predecessorSequence) {
        predecessor = child;
        predecessorSequence = sequence;
      }
    }
    if (!found) {
      throw new LockLostError(
        `lock child ${this.nodePath} vanished while waiting (deleted by someone else?)`,
      );
    }
    this.ahead = ahead;
    this.predecessor = predecessor;
  }

  /** Removes the child (timeout, abort, or not free); survives a connection loss on the way. */
  async withdraw(): Promise<void> {
    const path = this.nodePath ?? (await this.findOwn().catch(() => null));
    if (path === null) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.zk.delete(path);
        return;
      } catch (err) {
        if (err instanceof ZooKeeperError && (err.code === ErrorCode.NoNode || !err.isConnectionLoss)) return;
        // ConnectionLoss: the delete may not have happened; the client reconnects, try again.
      }
    }
  }

  /**
   * The create and the first listing, written together: one round trip when the lock is free. Creates
   * the lock path when it does not exist yet: a container (removed by the server once empty) for
   * Curator-style locks, as Curator does; a persistent node otherwise, because a kazoo Lock creates its
   * path once per object and fails if a container sweep removed it in between.
   */
  private async createAndList(): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      this.stop?.throwIfAborted();
      const created = this.zk.create(joinPath(this.lockPath, this.prefix), null, {
        mode: "ephemeralSequential",
        acl: this.acl,
        signal: this.stop,
      });
      const listed = this.zk.getChildren(this.lockPath, this.readOptions);
      // Handled here so that a failed listing never counts as unhandled, whatever happens to the create.
      listed.catch(ignore);
      let result: { path: string; stat: Stat };
      try {
        result = await created;
      } catch (err) {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode && attempt < 3) {
          await this.ensureLockPath();
          continue;
        }
        if (err instanceof ZooKeeperError && err.isConnectionLoss && this.protectedName) {
          // Did the create happen before the connection dropped? Our id says which child is ours.
          const own = await this.findOwn();
          if (own !== null) {
            const stat = await this.call(() => this.zk.exists(own, this.readOptions));
            if (stat !== null) {
              this.adopt(own, stat);
              return this.list();
            }
          }
          continue;
        }
        throw err;
      }
      this.adopt(result.path, result.stat);
      try {
        return (await listed).children;
      } catch (err) {
        if (!this.retryable(err)) throw err;
        return this.list();
      }
    }
  }

  private adopt(path: string, stat: Stat): void {
    this.nodePath = path;
    this.stat = stat;
    this.name = path.slice(path.lastIndexOf("/") + 1);
    this.sequence = sequenceOf(this.name);
  }

  /** Our child, found by the id in its name (after a create whose reply was lost). */
  private async findOwn(): Promise<string | null> {
    if (!this.protectedName) return null;
    let children: string[];
    try {
      children = await this.list();
    } catch (err) {
      // No lock path yet: the lost create cannot have happened (it needed the path).
      if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return null;
      throw err;
    }
    const own = children.find((c) => c.startsWith(this.prefix) && sequenceOf(c) >= 0);
    return own === undefined ? null : joinPath(this.lockPath, own);
  }

  private async ensureLockPath(): Promise<void> {
    try {
      await this.zk.create(this.lockPath, null, {
        mode: this.containerPath ? "container" : "persistent",
        acl: this.acl,
        createParents: true,
      });
    } catch (err) {
      if (!(err instanceof ZooKeeperError && err.code === ErrorCode.NodeExists)) throw err;
    }
  }

  /**
   * Waits until the child `name` goes, and says how (see Gone). A lease releases its child with a
   * setData and a delete in one transaction: the data watch fires NodeDataChanged and the child watch
   * NodeDeleted, both with that transaction's zxid. Only that pair, with equal zxids, counts as a
   * release; a lone deletion, a data change by anyone else (Curator's revocation writes to a lock
   * child) or a server that sends no zxid with its events (before 3.9) is handled as any deletion.
   */
  private async waitGone(name: string): Promise<Gone> {
    const armed = await this.call(() => this.arm(name));
    if (armed === null) return Gone.Deleted;
    const first = await this.event(armed.data);
    if (first.type === "NodeDeleted") return Gone.Deleted;
    if (first.type !== "NodeDataChanged" || armed.child === null) return Gone.Changed;
    const second = await this.event(armed.child);
    if (second.type !== "NodeDeleted") return Gone.Changed;
    return first.zxid >= 0n && second.zxid === first.zxid ? Gone.Released : Gone.Deleted;
  }

  private async event(watch: Promise<WatchedEvent>): Promise<WatchedEvent> {
    const event = await abortable(watch, this.stop);
    if (event.type === "None") {
      throw new LockLostError(`session ended while waiting for lock ${this.lockPath} (${event.state})`);
    }
    return event;
  }

  /**
   * Watches the child `name`: its data and its children (an ephemeral node has none; the child watch
   * is there for the deletion), both requests in one write. getData, not exists: on a missing node it
   * leaves no watch behind (an exists watch would stay registered until the session ends); exists
   * only where reading is refused.
   */
  private async arm(name: string): Promise<Armed> {
    const path = joinPath(this.lockPath, name);
    const data = this.zk.getData(path, this.watchOptions);
    const child = this.zk.getChildren(path, this.watchOptions);
    child.catch(ignore);
    let armed: Armed;
    try {
      armed = { data: (await data).watch, child: null };
    } catch (err) {
      if (!(err instanceof ZooKeeperError)) throw err;
      if (err.code === ErrorCode.NoNode) return null;
      if (err.code !== ErrorCode.NoAuth) throw err;
      const { stat, watch } = await this.zk.exists(path, this.watchOptions);
      return stat === null ? null : { data: watch, child: null };
    }
    try {
      armed.child = (await child).watch;
    } catch {
      // Gone between the two reads: the data watch reports the deletion.
    }
    return armed;
  }

  /** The lock path's children: a read, repeated after a connection loss. */
  private async list(): Promise<string[]> {
    return (await this.call(() => this.zk.getChildren(this.lockPath, this.readOptions))).children;
  }

  /** Retries a read that failed with ConnectionLoss (the client reconnects; reads are safe to repeat). */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!this.retryable(err)) throw err;
      }
    }
  }

  private retryable(err: unknown): boolean {
    return err instanceof ZooKeeperError && err.isConnectionLoss && !this.stop?.aborted;
  }
}

function ignore(): void {}

const EMPTY = new Uint8Array(0);

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** A held lock. Release it (or let `await using` do it); watch `signal` for loss. */
export class Lease implements AsyncDisposable {
  /** The contender's child, e.g. /locks/orders/_c_6f1e...-lock-0000000041. */
  readonly path: string;
  /** Fencing token: the child's creation zxid, strictly increasing from holder to holder. */
  readonly token: bigint;
  /** The child's sequence number. */
  readonly sequence: number;
  /** Made on first use of `signal`: most leases are released without anyone reading it. */
  private controller: AbortController | null = null;
  private lostReason: LockLostError | null = null;
  private releasing: Promise<void> | null = null;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly onState: (state: SessionState) => void;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    stat: Stat,
    private readonly grace: number,
    /** Release with the marker (see deleteChild): the lease waited for the lock, others likely wait too. */
    private readonly markRelease = false,
  ) {
    this.path = path;
    this.token = stat.czxid;
    this.sequence = sequenceOf(path);
    this.onState = (state) => this.stateChanged(state);
    zk.on("state", this.onState);
    this.stateChanged(zk.state);
    // From the next turn of the event loop: a hold that ends within this one has nothing to observe
    // (and a deletion in between is still found: exists answers null, or a guarded write is refused).
    this.watchStart = setImmediate(() => void this.watchOwnNode());
  }

  private watchStart: NodeJS.Immediate | undefined;

  /** Aborts when the lock can no longer be guaranteed; its reason is a LockLostError. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.lostReason !== null) this.controller.abort(this.lostReason);
    }
    return this.controller.signal;
  }

  get held(): boolean {
    return this.lostReason === null && this.releasing === null;
  }

  /**
   * A transaction that applies only while this lease still holds the lock (its child still exists);
   * otherwise it rejects with LockLostError and nothing is applied.
   */
  transaction(): Transaction {
    return this.zk.transaction(
      [{ path: this.path }],
      (code, path) =>
        new LockLostError(
          `the lock is no longer held: ${path} ${code === ErrorCode.NoNode ? "is gone" : `(${code})`}`,
        ),
    );
  }

  /** setData guarded by the lock (see transaction()); returns the node's new Stat. */
  async setData(path: string, data: Uint8Array | string, options: { version?: number } = {}): Promise<Stat> {
    const [result] = await this.transaction().setData(path, data, options.version).commit();
    return result.stat;
  }

  /** Gives the lock up (deletes the child). Idempotent; the signal does not fire for a release. */
  release(): Promise<void> {
    if (this.releasing === null) {
      this.stopWatching();
      this.releasing = this.deleteChild();
    }
    return this.releasing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Deletes the child. After a contended acquisition, marked as a release: a setData and the delete in
   * one transaction, so that a zkwire successor knows the lock was held until now and takes it without
   * reading the children again (see Contender.waitGone). Where the child's ACL refuses the write, and
   * when the lock was free (nobody was seen waiting, and a multi costs more than a delete), a plain
   * delete: a successor then reads the children, as with any other client's release.
   */
  private async deleteChild(): Promise<void> {
    let marked = this.markRelease;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        if (marked) await this.zk.transaction().setData(this.path, EMPTY).delete(this.path).commit();
        else await this.zk.delete(this.path);
        return;
      } catch (err) {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoAuth && marked) {
          marked = false;
          continue;
        }
        if (!(err instanceof ZooKeeperError)) throw err;
        // Gone already (lost, or the session ended), or the client closed: nothing left to release.
        if (err.code === ErrorCode.NoNode || err.isSessionExpired || err.codeName === "ClientClosed") return;
        if (!err.isConnectionLoss) throw err;
      }
    }
  }

  private lose(reason: string): void {
    if (this.releasing !== null || this.lostReason !== null) return;
    this.stopWatching();
    this.lostReason = new LockLostError(`lock ${this.path} lost: ${reason}`);
    this.controller?.abort(this.lostReason);
  }

  private stopWatching(): void {
    clearImmediate(this.watchStart);
    clearTimeout(this.graceTimer);
    this.zk.off("state", this.onState);
  }

  private stateChanged(state: SessionState): void {
    switch (state.kind) {
      case "connected":
      case "read-only":
        clearTimeout(this.graceTimer);
        this.graceTimer = undefined;
        return;
      case "disconnected": {
        if (this.graceTimer !== undefined) return;
        // Never later than two thirds of the session timeout after the server was last heard from.
        const limit = (this.zk.sessionTimeout * 2) / 3 - this.zk.msSinceServerContact;
        const wait = Math.max(0, Math.min(this.grace, limit));
        if (wait === 0) {
          this.lose(`connection lost (${state.reason})`);
          return;
        }
        this.graceTimer = setTimeout(() => this.lose(`connection down for ${Math.round(wait)} ms`), wait);
        return;
      }
      case "expired":
        this.lose("the session expired");
        return;
      case "auth-failed":
      case "closed":
        this.lose(`the session ended (${state.kind})`);
        return;
    }
  }

  /** Watches the child: deleted by someone else means the lock is gone. */
  private async watchOwnNode(): Promise<void> {
    while (this.held) {
      let result: { stat: Stat | null; watch: Promise<WatchedEvent> };
      try {
        result = await this.zk.exists(this.path, { watch: true });
      } catch (err) {
        if (err instanceof ZooKeeperError && err.isConnectionLoss) continue;
        return; // the session is over: stateChanged reports it
      }
      if (result.stat === null) {
        this.lose("its node was deleted");
        return;
      }
      const event = await result.watch;
      if (event.type === "NodeDeleted") {
        this.lose("its node was deleted");
        return;
      }
      if (event.type === "None") return; // final event: stateChanged reports it
    }
  }
}
