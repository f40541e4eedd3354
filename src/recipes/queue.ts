/**
 * Work queues: producers put items, consumers take them, across processes.
 *
 * `Queue` has the layout of Curator's SimpleDistributedQueue, and shares a path with it:
 *
 *   /jobs                     (a container, created on first use as Curator does)
 *     qn-0000000017           an item: its data; taken in name order (the sequence)
 *     qn-0000000018
 *
 * Taking an item is reading it and deleting it; whoever's delete succeeds has it (a NoNode means another
 * consumer won, try the next). That is at-most-once: a consumer that dies between its delete and the
 * work loses the item, and so does one whose delete ends in ConnectionLoss after the server applied it
 * (it cannot tell its own delete from another consumer's, and Curator's queue loses it the same way).
 * Use LockingQueue where an item must survive its consumer.
 *
 * `LockingQueue` has the layout of kazoo's LockingQueue, and shares a path with it:
 *
 *   /work
 *     entries/
 *       entry-100-0000000003  an item: priority (3 digits, lower first), then the sequence
 *       entry-100-0000000004
 *     taken/
 *       entry-100-0000000003  ephemeral marker: a consumer holds this item (data: its id)
 *
 * A consumer takes an item by creating its marker (NodeExists: someone else holds it, try the next),
 * then reads it. It consumes the item by deleting the entry and its marker in one transaction, so an item
 * is never gone while still marked nor unmarked while still there. A consumer that dies (kill -9, expiry)
 * loses its session, the ephemeral marker goes, and the item is free again: at-least-once.
 *
 * Edge cases and why:
 * - A marker whose entry is gone (consumed between our listing and our create): the marker is deleted
 *   again and the next item tried, as kazoo does since kazoo #366 (such markers piled up until the
 *   session ended).
 * - consume() checks first that the marker is still ours: its ephemeralOwner is this session. (kazoo
 *   compares the marker's data with its id.) If the session expired, the item may be held by another
 *   consumer now, and consume() returns false without deleting anything. The marker's delete carries its
 *   version in the same transaction as the entry's, so a marker that went in between fails the whole
 *   transaction (Curator's DistributedQueue lacks such a check: CURATOR-605).
 * - Waiting: one child watch on each listed directory per wait, and a generation counter, so a change
 *   between the listing and the wait is not lost.
 * - The Queue's path is a container, as Curator makes it; the server removes it once empty, so a listing
 *   that finds no node creates it again (Curator resets its EnsureContainers the same way). The
 *   LockingQueue's nodes are persistent: kazoo creates them once per object and would fail if a container
 *   sweep removed them.
 * - close() gives back the items this object still holds (deletes their markers), so others can take
 *   them at once instead of after the session ends. Queued items stay: they belong to the queue.
 * - The write that takes an item (the Queue's delete, the LockingQueue's marker) is never abandoned in
 *   flight when the caller gives up (abort, timeout, close): the server may apply it anyway, and the
 *   item would then reach no one (deleted), or be held by no one until the session ends (marked). The
 *   Queue hands such an item to the caller who gave up; the LockingQueue deletes its marker again. A
 *   marker whose create ended in ConnectionLoss is looked for, and deleted if it is this session's.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { CallOptions, ZooKeeper } from "../client/client.js";
import type { Data } from "../client/requests.js";
import { RecipeClosedError, RecipeTimeoutError, ZkArgumentError } from "../errors.js";
import { joinPath, validatePath } from "../session/paths.js";
import type { WatchedEvent } from "../session/watches.js";
import { retryOnConnectionLoss } from "./toolkit/retry.js";
import {
  checkSignal,
  Deadline,
  isConnectionLoss,
  isNodeExists,
  isNoNode,
  whenConnected,
} from "./toolkit/state-support.js";

export interface QueueOptions {
  /** ACL of the items (and of the queue's nodes when they have to be created). */
  acl?: readonly AclEntry[];
}

export interface TakeOptions {
  signal?: AbortSignal;
  /** ms to wait at most. */
  timeout?: number;
}

function toBytes(data: Data, what = "item"): Uint8Array {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return data;
  throw new ZkArgumentError(`${what} must be a Uint8Array or a string`);
}

/** Wakes waiters when a watched directory changes; the generation tells a waiter whether it missed one. */
class Changes {
  generation = 0;
  private waiters = new Set<() => void>();

  readonly watcher = (_event: WatchedEvent) => {
    this.generation++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  };

  /** Resolves once the generation has moved past `since`, or when `signal` aborts. */
  wait(since: number, signal?: AbortSignal): Promise<void> {
    if (this.generation !== since || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  wakeAll(): void {
    this.watcher({ type: "None", state: "Closed", path: "", zxid: -1n });
  }
}

/** Waits for a change after a listing; after a ConnectionLoss, for the client to be connected again. */
async function pause(zk: ZooKeeper, changes: Changes, since: number, err: unknown, signal?: AbortSignal) {
  if (isConnectionLoss(err)) await whenConnected(zk, signal);
  else await changes.wait(since, signal);
}

/**
 * Curator's SimpleDistributedQueue: FIFO by sequence, an item is taken by deleting it.
 *
 *   await using jobs = new Queue(zk, "/jobs");
 *   await jobs.put(JSON.stringify(job));
 *   const next = await jobs.take({ signal });
 */
export class Queue implements AsyncDisposable {
  readonly path: string;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly changes = new Changes();
  private readonly closing = new AbortController();

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: QueueOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a queue cannot be the root node");
    this.acl = options.acl;
  }

  /** Adds an item at the tail; returns its node's path. */
  async put(data: Data, options: CallOptions = {}): Promise<string> {
    const bytes = toBytes(data);
    checkSignal(options.signal);
    this.assertOpen();
    for (;;) {
      try {
        const { path } = await this.zk.create(joinPath(this.path, "qn-"), bytes, {
          mode: "persistentSequential",
          acl: this.acl,
          ...options,
        });
        return path;
      } catch (err) {
        if (!isNoNode(err)) throw err;
      }
      await this.ensure(options);
    }
  }

  /** Waits for the head item, removes it and returns its data. */
  async take(options: TakeOptions = {}): Promise<Uint8Array> {
    using deadline = new Deadline(`take from ${this.path}`, options, this.closing.signal);
    for (;;) {
      const since = this.changes.generation;
      let failure: unknown;
      try {
        const item = await this.head(true, true, deadline.signal);
        if (item !== null) return item;
      } catch (err) {
        if (!isConnectionLoss(err)) throw deadline.signal?.reason ?? err;
        failure = err;
      }
      deadline.check();
      await pause(this.zk, this.changes, since, failure, deadline.signal);
      deadline.check();
    }
  }

  /**
   * The head item, removed, or null when the queue is empty; with `timeout`, waits that long for one
   * (Curator's poll).
   */
  async poll(options: TakeOptions = {}): Promise<Uint8Array | null> {
    if (options.timeout === undefined) {
      checkSignal(options.signal);
      this.assertOpen();
      return this.head(true, false, options.signal);
    }
    try {
      return await this.take(options);
    } catch (err) {
      if (err instanceof RecipeTimeoutError) return null;
      throw err;
    }
  }

  /** The head item's data without removing it, or null when the queue is empty. */
  async peek(options: CallOptions = {}): Promise<Uint8Array | null> {
    checkSignal(options.signal);
    this.assertOpen();
    return this.head(false, false, options.signal);
  }

  /** Items queued now. */
  async size(options: CallOptions = {}): Promise<number> {
    try {
      const { children } = await this.zk.getChildren(this.path, options);
      return children.filter((name) => name.startsWith("qn-")).length;
    } catch (err) {
      if (isNoNode(err)) return 0;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closing.abort(new RecipeClosedError(`queue ${this.path}: closed`));
    this.changes.wakeAll();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new RecipeClosedError(`queue ${this.path}: closed`);
  }

  private async ensure(options: CallOptions): Promise<void> {
    try {
      await this.zk.create(this.path, null, {
        mode: "container",
        acl: this.acl,
        createParents: true,
        ...options,
      });
    } catch (err) {
      if (!isNodeExists(err)) throw err;
    }
  }

  /** Reads (and with `remove`, deletes) the first item that is still there. */
  private async head(remove: boolean, watch: boolean, signal?: AbortSignal): Promise<Uint8Array | null> {
    let children: string[];
    try {
      ({ children } = await this.zk.getChildren(this.path, {
        watch: watch ? this.changes.watcher : false,
        signal,
      }));
    } catch (err) {
      if (!isNoNode(err)) throw err;
      if (!watch) return null;
      // The container was swept (or never made): make it, and list it again with the watch.
      await this.ensure({ signal });
      this.changes.generation++;
      return null;
    }
    const items = children.filter((name) => name.startsWith("qn-")).sort();
    for (const name of items) {
      const path = joinPath(this.path, name);
      try {
        const { data } = await this.zk.getData(path, { signal });
        // The delete takes the item: never abandoned in flight, or an item the server removed would
        // reach no one. Once it is answered the item is returned, even to a caller who gave up since.
        if (remove) await this.zk.delete(path);
        return data;
      } catch (err) {
        if (!isNoNode(err)) throw err;
        // Another consumer took it first: the next one.
      }
    }
    return null;
  }
}

// --- LockingQueue -----------------------------------------------------------------------------------------

export interface PutOptions extends CallOptions {
  /** 0-999, lower first. Default 100 (kazoo's). */
  priority?: number;
}

function priorityPrefix(priority: unknown): string {
  const p = priority ?? 100;
  if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 999)
    throw new ZkArgumentError(`priority must be an integer from 0 to 999, got ${String(p)}`);
  return `entry-${String(p).padStart(3, "0")}-`;
}

/** An item a LockingQueue consumer holds: consume it when done, or release it for others. */
export interface QueueItem {
  readonly data: Uint8Array;
  /** The entry's name, e.g. "entry-100-0000000003". */
  readonly name: string;
  /** Removes the item and its marker together; false if this consumer no longer holds it. */
  consume(options?: CallOptions): Promise<boolean>;
  /** Gives the item back (deletes the marker only); false if this consumer no longer holds it. */
  release(options?: CallOptions): Promise<boolean>;
  /** Whether the marker is still this session's. */
  holds(options?: CallOptions): Promise<boolean>;
}

/**
 * kazoo's LockingQueue: items by priority then sequence, held by an ephemeral marker while processed and
 * removed only when consumed (at-least-once).
 *
 *   await using work = new LockingQueue(zk, "/work");
 *   await work.put("job-1", { priority: 10 });
 *   const item = await work.get({ signal });
 *   await process(item.data);
 *   await item.consume();
 */
export class LockingQueue implements AsyncDisposable {
  readonly path: string;
  readonly entriesPath: string;
  readonly takenPath: string;
  /** Written into this object's markers (kazoo writes its uuid4 hex the same way). */
  readonly id = randomUUID().replaceAll("-", "");
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly changes = new Changes();
  private readonly closing = new AbortController();
  private readonly held = new Set<string>();
  private ensured = false;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: QueueOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a queue cannot be the root node");
    this.entriesPath = joinPath(this.path, "entries");
    this.takenPath = joinPath(this.path, "taken");
    this.acl = options.acl;
  }

  /** Adds an item; returns its entry's path. */
  async put(data: Data, options: PutOptions = {}): Promise<string> {
    const bytes = toBytes(data);
    const prefix = priorityPrefix(options.priority);
    checkSignal(options.signal);
    this.assertOpen();
    await this.ensure(options);
    const { path } = await this.zk.create(joinPath(this.entriesPath, prefix), bytes, {
      mode: "persistentSequential",
      acl: this.acl,
      signal: options.signal,
      timeout: options.timeout,
    });
    return path;
  }

  /** Adds several items in one transaction: all or none. */
  async putAll(items: readonly Data[], options: PutOptions = {}): Promise<string[]> {
    if (!Array.isArray(items)) throw new ZkArgumentError("items must be an array");
    const bytes = items.map((item) => toBytes(item));
    const prefix = priorityPrefix(options.priority);
    checkSignal(options.signal);
    this.assertOpen();
    if (bytes.length === 0) return [];
    await this.ensure(options);
    const tx = this.zk.transaction();
    for (const item of bytes)
      tx.create(joinPath(this.entriesPath, prefix), item, { mode: "persistentSequential", acl: this.acl });
    const results = await tx.commit({ signal: options.signal, timeout: options.timeout });
    return results.map((r) => (r as { path: string }).path);
  }

  /**
   * Waits for an item no one holds, takes it and returns it. With `timeout`, resolves null when none
   * came in time (kazoo's get(timeout)).
   */
  async get(options: TakeOptions = {}): Promise<QueueItem | null> {
    try {
      return await this.take(options);
    } catch (err) {
      if (err instanceof RecipeTimeoutError) return null;
      throw err;
    }
  }

  /** Like get(), but rejects with RecipeTimeoutError at the timeout. */
  async take(options: TakeOptions = {}): Promise<QueueItem> {
    using deadline = new Deadline(`take from ${this.path}`, options, this.closing.signal);
    this.assertOpen();
    await this.ensure({ signal: deadline.signal });
    for (;;) {
      const since = this.changes.generation;
      let failure: unknown;
      try {
        const item = await this.tryTake(deadline.signal);
        if (item !== null) return item;
      } catch (err) {
        if (!isConnectionLoss(err)) throw deadline.signal?.reason ?? err;
        failure = err;
      }
      deadline.check();
      await pause(this.zk, this.changes, since, failure, deadline.signal);
      deadline.check();
    }
  }

  /** Items queued now, held ones included (kazoo's len()). */
  async size(options: CallOptions = {}): Promise<number> {
    try {
      return (await this.zk.getChildren(this.entriesPath, options)).children.length;
    } catch (err) {
      if (isNoNode(err)) return 0;
      throw err;
    }
  }

  /** Releases the items this object still holds (their markers go; the items stay queued). */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new RecipeClosedError(`queue ${this.path}: closed`));
    this.changes.wakeAll();
    await Promise.all([...this.held].map((name) => this.releaseMarker(name).catch(() => false)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new RecipeClosedError(`queue ${this.path}: closed`);
  }

  private async ensure(options: CallOptions): Promise<void> {
    if (this.ensured) return;
    for (const path of [this.path, this.entriesPath, this.takenPath]) {
      try {
        await this.zk.create(path, null, {
          acl: this.acl,
          createParents: true,
          signal: options.signal,
          timeout: options.timeout,
        });
      } catch (err) {
        if (!isNodeExists(err)) throw err;
      }
    }
    this.ensured = true;
  }

  private async tryTake(signal?: AbortSignal): Promise<QueueItem | null> {
    const watch = this.changes.watcher;
    // Both listings written together: one round trip, and both watches set.
    const [entries, taken] = await Promise.all([
      this.zk.getChildren(this.entriesPath, { watch, signal }),
      this.zk.getChildren(this.takenPath, { watch, signal }),
    ]);
    const busy = new Set(taken.children);
    const free = entries.children.filter((name) => !busy.has(name)).sort();
    for (const name of free) {
      if (!(await this.mark(name, signal))) continue;
      try {
        const { data } = await this.zk.getData(joinPath(this.entriesPath, name), { signal });
        return this.item(name, data);
      } catch (err) {
        // Consumed between our listing and our marker: take the marker back, try the next.
        await this.takeBack(name);
        if (!isNoNode(err)) throw err;
      }
    }
    return null;
  }

  private item(name: string, data: Uint8Array): QueueItem {
    return {
      data,
      name,
      consume: async (options: CallOptions = {}) => {
        checkSignal(options.signal);
        const version = await this.markerVersion(name, options);
        if (version === null) return false;
        try {
          await this.zk
            .transaction()
            .delete(joinPath(this.entriesPath, name))
            .delete(joinPath(this.takenPath, name), version)
            .commit(options);
        } catch (err) {
          if (isNoNode(err) || (err as { codeName?: string }).codeName === "BadVersion") {
            this.held.delete(name);
            return false;
          }
          throw err;
        }
        this.held.delete(name);
        return true;
      },
      release: async (options: CallOptions = {}) => {
        checkSignal(options.signal);
        return this.releaseMarker(name, options);
      },
      holds: async (options: CallOptions = {}) => {
        checkSignal(options.signal);
        return (await this.markerVersion(name, options)) !== null;
      },
    };
  }

  /**
   * Creates this object's marker on an item: true once it holds the item, false when someone else
   * does. The create is never abandoned in flight: a marker the server made but this object does not
   * know of would hold the item until the session ends, taken by no one. So the signal is looked at
   * once the answer is in (and a marker made for a caller who gave up is taken back), and after a
   * ConnectionLoss the marker, if the create happened, is taken back before the error goes on.
   */
  private async mark(name: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.zk.create(joinPath(this.takenPath, name), this.id, { mode: "ephemeral", acl: this.acl });
    } catch (err) {
      if (isNodeExists(err)) return false;
      if (isConnectionLoss(err)) await this.takeBack(name);
      throw err;
    }
    this.held.add(name);
    if (signal?.aborted) {
      await this.takeBack(name);
      signal.throwIfAborted();
    }
    return true;
  }

  /** Deletes our marker on an item if there is one, through connection losses (until the session ends). */
  private async takeBack(name: string): Promise<void> {
    await retryOnConnectionLoss(() => this.releaseMarker(name)).catch(() => false);
  }

  /** The marker's version if this session owns it, else null. */
  private async markerVersion(name: string, options: CallOptions): Promise<number | null> {
    const stat = await this.zk.exists(joinPath(this.takenPath, name), options);
    if (stat === null || stat.ephemeralOwner !== this.zk.sessionId) {
      this.held.delete(name);
      return null;
    }
    return stat.version;
  }

  private async releaseMarker(name: string, options: CallOptions = {}): Promise<boolean> {
    const version = await this.markerVersion(name, options);
    if (version === null) return false;
    try {
      await this.zk.delete(joinPath(this.takenPath, name), { ...options, version });
    } catch (err) {
      if (!isNoNode(err)) throw err;
    }
    this.held.delete(name);
    return true;
  }
}
