/**
 * A local view of a subtree, kept equal to the server's: the role of Curator's CuratorCache (and
 * TreeCache before it) and kazoo's TreeCache. NodeCache and ChildrenCache (node-cache.ts) are the same
 * machinery with the depth limited to 0 and 1.
 *
 *   await using cache = new TreeCache(zk, "/config");
 *   cache.on("changed", (e) => console.log(e.path, e.stat.mzxid));
 *   await cache.start(); // the first full view is in
 *   cache.get("/config/db")?.data;
 *   for await (const e of cache.events()) ...
 *
 * The layout is the application's own (any subtree); the cache only reads, so it shares a path with
 * every other client, Curator's and kazoo's caches included.
 *
 * How it stays right. Server 3.6+: one persistent recursive watch on the root (a persistent watch for
 * a NodeCache), added before the first walk, so no change after the walk's reads can be missed;
 * NodeCreated and NodeDataChanged are answered with a getData, NodeDeleted removes the node. Server 3.5:
 * one-shot data and child watches on every node (Curator's TreeCache, kazoo's TreeCache), set again by
 * every read. Either way:
 *
 * - Reads and events race. The server sends a session's replies and notifications in zxid order, but
 *   a read's answer and an event are handled on different paths here (a promise, a watcher), so one
 *   may be handled before an earlier one. Every read and every deletion the cache handles takes the
 *   next number of a local sequence, and each node keeps the number of the read that last confirmed it.
 *   Three rules follow:
 *   1. Never backwards: a read result replaces a node only if it is a later incarnation (higher czxid)
 *      or a later version of the same one (same czxid, higher mzxid). An older read answered late is
 *      dropped, so each node's events carry increasing mzxids.
 *   2. A deletion leaves a tombstone while reads issued before it are in flight; their answers are
 *      dropped (kazoo #645: a read answered after the node's deletion was handled, announcing it again).
 *      If the node came back, its NodeCreated is handled after the deletion and reads it again.
 *   3. A NoNode answer, or a listing without the node, removes a cached node only if the read was
 *      issued after the read that confirmed it: the server answers in order, so the node is gone
 *      since. A node confirmed later (created again meanwhile) stays.
 *   A read result for a node whose parent is not cached (the walk has not reached it) is dropped: the
 *   parent's listing, which comes later, finds it. A child older than its cached parent (lower czxid)
 *   is a late answer about the parent's previous incarnation, and is dropped too.
 * - Reconnection. A persistent watch is re-registered on reconnection, but the server does not replay
 *   what happened while the connection was down. After every reconnection the cache walks the tree
 *   again: a getData per node (a getChildren too where there are children), applied by the rules above,
 *   so nodes changed, created or deleted while away are found and announced as events. Nodes are told
 *   apart by czxid, not version: a node deleted and created again while away starts over at version 0
 *   (CURATOR-391, PathChildrenCache's miss). A "resynced" event then says the view equals the server's
 *   again (CURATOR-296 asked Curator's caches for that signal). One-shot watches are re-registered with
 *   the last zxid seen and fire for what changed, but a watch whose read failed with ConnectionLoss was
 *   never set, so the 3.5 path walks again too.
 * - Expiry. Watches die with the session: the cache announces "expired" and keeps its last view; on a
 *   client with `renewSessionOnExpiry` it adds its watch on the new session, walks the tree, announces
 *   the differences as events and then "resynced" with reason "session". Without renewal the cache ends.
 *
 * Events arrive in the order the cache learns of changes: for each node in zxid order. Across nodes a
 * change read later may have happened earlier; a "created" event's stat is the server's for that
 * incarnation (its czxid). A node's stat is the one its last read returned: child counts (numChildren,
 * cversion, pzxid) move when the node is read again, not on every child event.
 */
import { EventEmitter } from "node:events";
import type { ZooKeeper } from "../../client/client.js";
import type { PersistentWatch } from "../../client/persistent-watch.js";
import type { GetDataOpResult, ReadBatch, ReadResult } from "../../client/transaction.js";
import { CacheClosedError, ClientErrorCode, ZkArgumentError, ZooKeeperError } from "../../errors.js";
import { ErrorCode } from "../../protocol/constants.js";
import type { Stat } from "../../protocol/records/stat.js";
import { joinPath, parentOf, validatePath } from "../../session/paths.js";
import type { SessionState } from "../../session/state.js";
import type { WatchedEvent } from "../../session/watches.js";
import { NodeStore } from "./store.js";
import { breadthFirst, concurrencyOf, maxDepthOf } from "./subtree.js";

// The error lives with every other zkwire error (src/errors.ts); its name stays importable from here.
export { CacheClosedError };

/** How the cache watches: one persistent watch (3.6+), one-shot watches per node, or the first that works. */
export type CacheWatchMode = "auto" | "persistent" | "oneShot";

export interface TreeCacheOptions {
  /** Closes the cache when aborted. */
  signal?: AbortSignal;
  /** Deepest level cached: 0 is the root alone, 1 its children too (default: all). */
  maxDepth?: number;
  /** Nodes read at once while walking the tree (default 256). */
  concurrency?: number;
  /** Default "auto": a persistent watch, or one-shot watches on a server before 3.6. */
  watch?: CacheWatchMode;
}

export interface CachedNode {
  data: Uint8Array;
  stat: Stat;
}

/** A node created, changed or deleted; for "deleted", the node as last cached. */
export interface CacheNodeEvent {
  type: "created" | "changed" | "deleted";
  path: string;
  data: Uint8Array;
  stat: Stat;
}

export type TreeCacheEvent =
  | CacheNodeEvent
  /** The first full view is in. */
  | { type: "initialized" }
  /** After a reconnection or a new session, the view equals the server's again. */
  | { type: "resynced"; reason: "reconnect" | "session" }
  /** The session expired: the view is the last one seen until a new session rebuilds it. */
  | { type: "expired" }
  /** A node could not be read (e.g. NoAuth); it is left out. */
  | { type: "error"; path: string; error: unknown };

// CacheNodeEvent carries its three types as one union member: Extract alone would give `never` for them.
type EventMap = {
  [K in TreeCacheEvent["type"]]: [
    event: K extends CacheNodeEvent["type"]
      ? CacheNodeEvent & { type: K }
      : Extract<TreeCacheEvent, { type: K }>,
  ];
};

/** #refresh's batches: at most this many reads, of nodes whose data was at most BATCH_NODE_BYTES when last read. */
const BATCH_READS = 256;
const BATCH_NODE_BYTES = 16 * 1024;
/** Stop a batch once its nodes' data (as last read) and the per-read framing (path, stat) reach this. */
const BATCH_BYTES = 128 * 1024;
const BATCH_READ_OVERHEAD = 128;

/** Which clients were found to lack addWatch, so that a second cache does not ask again. */
const noPersistentWatches = new WeakSet<ZooKeeper>();

interface Visit {
  path: string;
  depth: number;
}

type SyncReason = "initial" | "reconnect" | "session";

export class TreeCache extends EventEmitter<EventMap> implements AsyncDisposable {
  readonly path: string;
  /** The deepest level cached below the root (Infinity: all). */
  readonly maxDepth: number;
  readonly #zk: ZooKeeper;
  readonly #maxDepth: number;
  readonly #concurrency: number;
  readonly #mode: CacheWatchMode;
  readonly #signal: AbortSignal | undefined;
  readonly #store = new NodeStore();
  /** The local sequence: one number per read issued and per deletion handled. */
  #seq = 0;
  /** Issue numbers of reads in flight, oldest first. */
  readonly #inflight = new Set<number>();
  /** Deleted paths, with the sequence number of the deletion, while older reads are in flight. */
  readonly #tombstones = new Map<string, number>();
  #persistent: boolean | undefined;
  /** Reads #refresh gathered this tick, and their nodes' data size as last read (see #refresh). */
  #batch: { path: string; issue: number }[] = [];
  #batchBytes = 0;
  #watch: PersistentWatch | null = null;
  #started: Promise<void> | null = null;
  #initialized = false;
  #resolveInit!: () => void;
  #rejectInit!: (err: unknown) => void;
  #syncWanted: SyncReason | null = null;
  #syncing = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #waiters: (() => void)[] = [];
  readonly #iterators = new Set<EventQueue>();
  readonly #onAbort = () => void this.close();
  readonly #onState = (state: SessionState, previous: SessionState) => this.#stateChanged(state, previous);
  readonly #onSession = () => this.#newSession();
  /** The one watcher of every one-shot watch (the registry keeps one per path and kind). */
  readonly #oneShot = (event: WatchedEvent) => this.#event(event);

  constructor(zk: ZooKeeper, path: string, options: TreeCacheOptions = {}) {
    super();
    if (zk === null || typeof zk !== "object" || typeof zk.getData !== "function")
      throw new ZkArgumentError("a TreeCache needs a ZooKeeper client");
    this.path = validatePath(path);
    this.#zk = zk;
    this.#maxDepth = maxDepthOf(options.maxDepth);
    this.maxDepth = this.#maxDepth;
    this.#concurrency = concurrencyOf(options.concurrency, 256);
    const mode = options.watch ?? "auto";
    if (mode !== "auto" && mode !== "persistent" && mode !== "oneShot")
      throw new ZkArgumentError(`watch must be "auto", "persistent" or "oneShot", got ${String(mode)}`);
    this.#mode = mode;
    this.#signal = options.signal;
  }

  /**
   * Starts watching and walks the tree; resolves once the first full view is in ("initialized").
   * Calling it again returns the same promise. Rejects with CacheClosedError if the cache is closed
   * first, or with the error of the watch's registration (e.g. a server before 3.6 with watch: "persistent").
   */
  start(): Promise<void> {
    if (this.#started !== null) return this.#started;
    this.#started = new Promise<void>((resolve, reject) => {
      this.#resolveInit = resolve;
      this.#rejectInit = reject;
    });
    this.#started.catch(() => undefined); // observed here: a caller that never awaits it is not an error
    if (this.#signal?.aborted) {
      this.#rejectInit(this.#signal.reason);
      void this.close();
      return this.#started;
    }
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#zk.on("state", this.#onState);
    this.#zk.on("session", this.#onSession);
    void this.#begin("initial");
    return this.#started;
  }

  /** Whether the first full view is in. */
  get initialized(): boolean {
    return this.#initialized;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** "persistent" or "oneShot" once started and decided. */
  get watchMode(): "persistent" | "oneShot" | undefined {
    return this.#persistent === undefined ? undefined : this.#persistent ? "persistent" : "oneShot";
  }

  /** Nodes cached. */
  get size(): number {
    return this.#store.size;
  }

  /** The node's data (a copy) and stat, or undefined when it is not cached. */
  get(path: string): CachedNode | undefined {
    const slot = this.#store.slot(path);
    return slot < 0 ? undefined : { data: this.#store.data(slot), stat: this.#store.stat(slot) };
  }

  has(path: string): boolean {
    return this.#store.slot(path) >= 0;
  }

  /** The cached children's names (sorted), or undefined when the node is not cached. */
  children(path: string): string[] | undefined {
    const slot = this.#store.slot(path);
    if (slot < 0) return undefined;
    return this.#store
      .children(slot)
      .map((c) => this.#store.name(c))
      .sort();
  }

  /** Every cached path (in no particular order). */
  paths(): string[] {
    return [...this.#store.paths()];
  }

  /**
   * Events from now on, as an async iterator (also `for await (const e of cache)`). It ends when the
   * cache closes or `signal` aborts; leaving the loop stops it. Listening starts at this call: create it
   * before start() to see the first walk's "created" events.
   */
  events(signal?: AbortSignal): AsyncIterableIterator<TreeCacheEvent> {
    const queue = new EventQueue(this.#iterators, signal);
    if (this.#closed) queue.end();
    return queue;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TreeCacheEvent> {
    return this.events();
  }

  /** Stops watching (the persistent watch is removed, one-shot ones are removed where set). Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#zk.off("state", this.#onState);
    this.#zk.off("session", this.#onSession);
    this.#rejectInit?.(new CacheClosedError(`the cache of ${this.path} was closed`));
    for (const w of this.#waiters.splice(0)) w();
    for (const q of [...this.#iterators]) q.end();
    this.#closing = this.#unwatch();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -----------------------------------------------------------------------------------------------
  // Watching and walking

  async #begin(reason: SyncReason): Promise<void> {
    try {
      await this.#addWatch();
    } catch (err) {
      if (this.#closed) return;
      if (!this.#initialized) {
        this.#rejectInit(err);
        void this.close();
      } else {
        this.#emit({ type: "error", path: this.path, error: err });
      }
      return;
    }
    this.#requestSync(reason);
  }

  /** Adds the persistent watch (deciding the mode on first use); retried over connection losses. */
  async #addWatch(): Promise<void> {
    if (this.#persistent === undefined) {
      if (this.#mode === "oneShot" || (this.#mode === "auto" && noPersistentWatches.has(this.#zk))) {
        this.#persistent = false;
        return;
      }
    } else if (!this.#persistent) {
      return;
    }
    for (;;) {
      try {
        const watch = await this.#zk.addWatch(this.path, {
          mode: this.#maxDepth === 0 ? "persistent" : "persistentRecursive",
        });
        this.#persistent = true;
        if (this.#closed) {
          await watch.close();
          return;
        }
        this.#watch = watch;
        void this.#pump(watch);
        return;
      } catch (err) {
        if (this.#closed) return;
        if (err instanceof ZooKeeperError && err.code === ErrorCode.Unimplemented && this.#mode === "auto") {
          // A server before 3.6 (it also drops the connection; the session comes back by itself).
          noPersistentWatches.add(this.#zk);
          this.#persistent = false;
          return;
        }
        if (!isTransient(err)) throw err;
        await this.#connected();
      }
    }
  }

  async #pump(watch: PersistentWatch): Promise<void> {
    for await (const event of watch) {
      if (this.#closed || this.#watch !== watch) break;
      this.#event(event);
    }
    if (this.#watch === watch) this.#watch = null;
  }

  #requestSync(reason: SyncReason): void {
    if (this.#closed) return;
    if (this.#syncWanted === null || reason === "session") this.#syncWanted = reason;
    if (!this.#syncing) void this.#syncLoop();
  }

  /** Walks the whole tree until one walk completes without a connection loss, then says so. */
  async #syncLoop(): Promise<void> {
    this.#syncing = true;
    let reason: SyncReason | null = null;
    try {
      while (this.#syncWanted !== null && !this.#closed) {
        if (reason !== "session") reason = this.#syncWanted;
        this.#syncWanted = null;
        try {
          await breadthFirst<Visit>([{ path: this.path, depth: 0 }], this.#concurrency, (v) =>
            this.#visit(v, true),
          );
        } catch (err) {
          if (this.#closed) return;
          if (!isTransient(err)) throw err;
          this.#syncWanted ??= reason;
          await this.#connected();
          continue;
        }
        if (this.#syncWanted !== null) continue; // the connection dropped during the walk: once more
        this.#store.trim(); // the tree's size is known now: give back the columns' growth slack
        if (!this.#initialized) {
          this.#initialized = true;
          this.#emit({ type: "initialized" });
          this.#resolveInit();
        } else if (reason !== "initial") {
          this.#emit({ type: "resynced", reason });
        }
        reason = null;
      }
    } catch (err) {
      this.#emit({ type: "error", path: this.path, error: err });
    } finally {
      this.#syncing = false;
    }
  }

  /**
   * Reads one node (and its children's names, where it may have any within maxDepth) and applies what
   * it finds. Returns the children to visit: all of them on a full walk, the ones not cached otherwise.
   * Throws only a connection loss or expiry; other failures are reported and the node is skipped.
   */
  async #visit({ path, depth }: Visit, full: boolean): Promise<Visit[] | undefined> {
    if (this.#closed) return undefined;
    const persistent = this.#persistent === true;
    const watch = persistent ? undefined : this.#oneShot;
    const listChildren = depth < this.#maxDepth;
    const dataIssue = this.#issue();
    const dataRead = this.#zk.getData(path, { watch });
    let listIssue = 0;
    let listRead: ReturnType<ZooKeeper["getChildren"]> | undefined;
    if (!persistent && listChildren) {
      // One-shot: a child watch on every node, leaves too, so that new children are seen.
      listIssue = this.#issue();
      listRead = this.#zk.getChildren(path, { watch });
      listRead.catch(() => undefined); // observed here; awaited below
    }
    let stat: Stat;
    try {
      const r = await dataRead;
      stat = r.stat;
      this.#applyData(path, dataIssue, r.data, r.stat);
    } catch (err) {
      if (!this.#failed(path, dataIssue, err)) return undefined;
      if (path === this.path && !persistent) await this.#watchCreation();
      return undefined;
    } finally {
      this.#settle(dataIssue);
    }
    if (!listChildren || this.#closed) return undefined;
    if (listRead === undefined) {
      const slot = this.#store.slot(path);
      if (stat.numChildren === 0 && (slot < 0 || !this.#store.hasChildren(slot))) return undefined;
      listIssue = this.#issue();
      listRead = this.#zk.getChildren(path);
    }
    try {
      const { children, stat: listed } = await listRead;
      const names = this.#applyListing(path, listIssue, children, listed);
      if (names === undefined) return undefined;
      const out: Visit[] = [];
      for (const name of names) {
        const child = joinPath(path, name);
        if (full || this.#store.slot(child) < 0) out.push({ path: child, depth: depth + 1 });
      }
      return out;
    } catch (err) {
      this.#failed(path, listIssue, err);
      return undefined;
    } finally {
      this.#settle(listIssue);
    }
  }

  /** One-shot mode, root missing: an exist watch tells when it is created (or it was, just now). */
  async #watchCreation(): Promise<void> {
    const stat = await this.#zk.exists(this.path, { watch: this.#oneShot });
    if (stat !== null && this.#store.slot(this.path) < 0) this.#walkFrom(this.path, 0);
  }

  /** Walks a subtree found by an event (not part of a sync): new nodes only. */
  #walkFrom(path: string, depth: number): void {
    breadthFirst<Visit>([{ path, depth }], this.#concurrency, (v) => this.#visit(v, false)).catch(
      (err: unknown) => {
        // A connection loss is followed by a sync walk, expiry by a new session's; nothing is lost.
        if (!isTransient(err) && !this.#closed) this.#emit({ type: "error", path, error: err });
      },
    );
  }

  /** Handles a failed read: true when it was NoNode (applied), false otherwise; throws transients. */
  #failed(path: string, issue: number, err: unknown): boolean {
    if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) {
      this.#gone(path, issue);
      return true;
    }
    if (isTransient(err)) throw err;
    if (err instanceof ZooKeeperError && err.code === ClientErrorCode.ClientClosed) {
      void this.close();
      return false;
    }
    if (!this.#closed) this.#emit({ type: "error", path, error: err });
    return false;
  }

  #event(event: WatchedEvent): void {
    if (this.#closed || event.type === "None") return;
    const path = event.path;
    const depth = this.#depthOf(path);
    if (depth < 0 || depth > this.#maxDepth) return;
    switch (event.type) {
      case "NodeCreated":
        if (this.#persistent) this.#refresh(path);
        else this.#walkFrom(path, depth);
        return;
      case "NodeDataChanged":
        this.#refresh(path);
        return;
      case "NodeDeleted":
        this.#deleted(path);
        // One-shot: only an exist watch on the root tells when it is created again.
        if (!this.#persistent && path === this.path) {
          this.#watchCreation().catch((err: unknown) => {
            if (!isTransient(err) && !this.#closed) this.#emit({ type: "error", path, error: err });
          });
        }
        return;
      case "NodeChildrenChanged":
        // Only one-shot child watches ask for this (a NodeCache's persistent watch also sends it).
        if (!this.#persistent) this.#relist(path, depth);
        return;
      case "PersistentWatchRemoved":
        // Someone removed the cache's watch (removeWatches): add it again and look at what was missed.
        if (this.#watch !== null) {
          this.#watch = null;
          void this.#begin("reconnect");
        }
        return;
      default:
        return;
    }
  }

  /**
   * NodeCreated / NodeDataChanged: read the node again (and set its data watch again, one-shot).
   *
   * With the persistent watch, the reads one burst of events asks for leave together: every read asked
   * for in one tick goes out as one multiRead (server 3.6+, as are persistent watches), which the server
   * handles as one request instead of one per node. A batch answers from one point in the server's
   * history, later than each of its events, so the rules above apply to its results unchanged. Only
   * nodes whose data was small when last read join a batch, and a batch stops at BATCH_BYTES of it, so
   * that its answer stays far below the client's maximum packet (1 MB): a node not cached yet, or with
   * large data, is read alone.
   */
  #refresh(path: string): void {
    const issue = this.#issue();
    if (this.#persistent === true) {
      const slot = this.#store.slot(path);
      const bytes = slot < 0 ? -1 : this.#store.dataLength(slot);
      if (bytes >= 0 && bytes <= BATCH_NODE_BYTES) {
        if (this.#batch.length === 0) process.nextTick(() => this.#readBatch());
        this.#batch.push({ path, issue });
        this.#batchBytes += bytes + BATCH_READ_OVERHEAD;
        if (this.#batch.length >= BATCH_READS || this.#batchBytes >= BATCH_BYTES) this.#readBatch();
        return;
      }
    }
    this.#read(path, issue);
  }

  #read(path: string, issue: number): void {
    this.#zk.getData(path, { watch: this.#persistent ? undefined : this.#oneShot }).then(
      (r) => {
        this.#settle(issue);
        this.#applyData(path, issue, r.data, r.stat);
      },
      (err: unknown) => {
        this.#settle(issue);
        try {
          this.#failed(path, issue, err);
        } catch {
          // A connection loss: the sync walk after the reconnection reads this node again.
        }
      },
    );
  }

  /** Sends the reads #refresh gathered: one multiRead, or a getData when there is one. */
  #readBatch(): void {
    const reads = this.#batch;
    if (reads.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    if (reads.length === 1 || this.#closed) {
      for (const { path, issue } of reads) this.#read(path, issue);
      return;
    }
    const batch = this.#zk.multiRead() as unknown as ReadBatch<ReadResult<GetDataOpResult>[]>;
    for (const { path } of reads) batch.getData(path);
    batch.run().then(
      (results) => {
        for (let i = 0; i < reads.length; i++) {
          const { path, issue } = reads[i]!;
          const result = results[i];
          this.#settle(issue);
          if (result?.type === "getData") {
            this.#applyData(path, issue, result.data, result.stat);
          } else {
            try {
              this.#failed(path, issue, result?.error);
            } catch {
              // As in #read.
            }
          }
        }
      },
      (err: unknown) => {
        if (isTransient(err)) {
          // As in #read: the sync walk after the reconnection reads these nodes again.
          for (const { issue } of reads) this.#settle(issue);
          return;
        }
        // The batch itself was refused (not one of its reads): read each node alone.
        for (const { path, issue } of reads) this.#read(path, issue);
      },
    );
  }

  /** NodeChildrenChanged (one-shot): list again, visit the new children. */
  #relist(path: string, depth: number): void {
    const issue = this.#issue();
    this.#zk.getChildren(path, { watch: this.#oneShot }).then(
      ({ children, stat }) => {
        this.#settle(issue);
        const names = this.#applyListing(path, issue, children, stat);
        for (const name of names ?? []) {
          const child = joinPath(path, name);
          if (this.#store.slot(child) < 0) this.#walkFrom(child, depth + 1);
        }
      },
      (err: unknown) => {
        this.#settle(issue);
        try {
          this.#failed(path, issue, err);
        } catch {
          // As in #refresh.
        }
      },
    );
  }

  // -----------------------------------------------------------------------------------------------
  // Applying what was read (the rules of the file's comment)

  #issue(): number {
    const n = ++this.#seq;
    this.#inflight.add(n);
    return n;
  }

  #settle(issue: number): void {
    this.#inflight.delete(issue);
    if (this.#tombstones.size === 0) return;
    if (this.#inflight.size === 0) {
      this.#tombstones.clear();
    } else if (this.#tombstones.size > 1024) {
      const oldest = this.#inflight.values().next().value as number;
      for (const [p, seq] of this.#tombstones) if (seq < oldest) this.#tombstones.delete(p);
    }
  }

  #stale(path: string, issue: number): boolean {
    const tomb = this.#tombstones.get(path);
    return tomb !== undefined && tomb > issue;
  }

  #applyData(path: string, issue: number, data: Uint8Array, stat: Stat): void {
    if (this.#closed || this.#stale(path, issue)) return;
    const store = this.#store;
    const slot = store.slot(path);
    if (slot < 0) {
      let parent = -1;
      if (path !== this.path) {
        parent = store.slot(parentOf(path));
        // Not reached yet (the parent's listing will find it), or about a previous parent.
        if (parent < 0 || store.czxid(parent) > stat.czxid) return;
      }
      store.insert(path, parent, data, stat, issue);
      this.#emit({ type: "created", path, data, stat });
      return;
    }
    const czxid = store.czxid(slot);
    if (stat.czxid > czxid) {
      // Deleted and created again while we could not see it: the old children go, new ones stay.
      for (const child of store.children(slot)) {
        if (store.czxid(child) < stat.czxid) this.#removeSubtree(child);
      }
      this.#emit({ type: "deleted", path, data: store.data(slot), stat: store.stat(slot) });
      store.set(slot, data, stat);
      store.confirm(slot, issue);
      this.#emit({ type: "created", path, data, stat });
    } else if (stat.czxid === czxid) {
      const mzxid = store.mzxid(slot);
      if (stat.mzxid > mzxid) {
        store.set(slot, data, stat);
        store.confirm(slot, issue);
        this.#emit({ type: "changed", path, data, stat });
      } else if (stat.mzxid === mzxid) {
        if (stat.pzxid > store.pzxid(slot)) store.setStat(slot, stat);
        store.confirm(slot, issue);
      }
    }
  }

  /** NoNode for a read issued at `issue`. */
  #gone(path: string, issue: number): void {
    if (this.#closed || this.#stale(path, issue)) return;
    const slot = this.#store.slot(path);
    if (slot >= 0 && this.#store.seen(slot) < issue) this.#removeSubtree(slot);
  }

  /** A listing issued at `issue`: removes cached children it lacks; returns the names, or undefined. */
  #applyListing(path: string, issue: number, names: string[], stat: Stat): string[] | undefined {
    if (this.#closed || this.#stale(path, issue)) return undefined;
    const store = this.#store;
    const slot = store.slot(path);
    if (slot < 0 || store.czxid(slot) !== stat.czxid) return undefined;
    const listed = new Set(names);
    for (const child of store.children(slot)) {
      if (!listed.has(store.name(child)) && store.seen(child) < issue) this.#removeSubtree(child);
    }
    if (stat.mzxid === store.mzxid(slot) && stat.pzxid > store.pzxid(slot)) store.setStat(slot, stat);
    return names;
  }

  /** NodeDeleted. */
  #deleted(path: string): void {
    const seq = ++this.#seq;
    if (this.#inflight.size > 0) this.#tombstones.set(path, seq);
    const slot = this.#store.slot(path);
    if (slot >= 0) this.#removeSubtree(slot);
  }

  /** Removes a node and everything under it, deepest first, announcing each. */
  #removeSubtree(slot: number): void {
    const store = this.#store;
    for (const child of store.children(slot)) this.#removeSubtree(child);
    const path = store.path(slot);
    const event: CacheNodeEvent = { type: "deleted", path, data: store.data(slot), stat: store.stat(slot) };
    store.remove(slot);
    this.#emit(event);
  }

  /** The depth of a path below the root, or -1 when it is not under it. */
  #depthOf(path: string): number {
    const root = this.path;
    if (path === root) return 0;
    if (root !== "/" && !(path.startsWith(root) && path.charCodeAt(root.length) === 0x2f)) return -1;
    let depth = 0;
    for (let i = root === "/" ? 0 : root.length; i < path.length; i++)
      if (path.charCodeAt(i) === 0x2f) depth++;
    return depth;
  }

  // -----------------------------------------------------------------------------------------------
  // Session

  #stateChanged(state: SessionState, previous: SessionState): void {
    if (this.#closed) return;
    switch (state.kind) {
      case "connected":
      case "read-only":
        for (const w of this.#waiters.splice(0)) w();
        // Whatever happened while away was not sent (persistent) or may have no watch (one-shot).
        // (Before the watch mode is decided, #begin asks for the first walk itself.)
        if (previous.kind === "disconnected" && this.#persistent !== undefined)
          this.#requestSync("reconnect");
        return;
      case "expired":
        this.#watch = null;
        this.#emit({ type: "expired" });
        // With renewSessionOnExpiry the client has replaced its session by the time this runs.
        queueMicrotask(() => {
          if (this.#zk.state.kind === "expired") void this.close();
        });
        return;
      case "closed":
      case "auth-failed":
        void this.close();
        return;
      default:
        return;
    }
  }

  /** A new session (renewSessionOnExpiry): watch again and rebuild the view against it. */
  #newSession(): void {
    if (this.#closed || this.#started === null) return;
    void this.#begin("session");
  }

  /** Resolves when the client is connected (or the cache closes). */
  #connected(): Promise<void> {
    const s = this.#zk.state.kind;
    if (this.#closed || s === "connected" || s === "read-only") return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #unwatch(): Promise<void> {
    const watch = this.#watch;
    this.#watch = null;
    if (watch !== null) await watch.close();
    if (this.#persistent !== false) return;
    const s = this.#zk.state.kind;
    if (s !== "connected" && s !== "read-only") return;
    // One-shot watches on every cached node: removed (locally at least) so that nothing holds them.
    await breadthFirst(this.paths(), this.#concurrency, async (p) => {
      await this.#zk.removeWatches(p, "any", { watcher: this.#oneShot, local: true }).catch(() => undefined);
      return undefined;
    }).catch(() => undefined);
  }

  #emit(event: TreeCacheEvent): void {
    for (const q of this.#iterators) q.push(event);
    for (const listener of this.rawListeners(event.type) as ((e: TreeCacheEvent) => void)[]) {
      try {
        listener.call(this, event);
      } catch {
        // A listener that throws changes nothing for the cache or the other listeners.
      }
    }
  }
}

function isTransient(err: unknown): boolean {
  return (
    err instanceof ZooKeeperError &&
    (err.code === ErrorCode.ConnectionLoss || err.code === ErrorCode.SessionExpired)
  );
}

/** One events() iterator: a queue read by next(). */
class EventQueue implements AsyncIterableIterator<TreeCacheEvent> {
  readonly #queue: TreeCacheEvent[] = [];
  #waiting: ((r: IteratorResult<TreeCacheEvent>) => void) | null = null;
  #ended = false;
  readonly #onAbort = () => this.end();

  constructor(
    private readonly owners: Set<EventQueue>,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) {
      this.#ended = true;
      return;
    }
    owners.add(this);
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  push(event: TreeCacheEvent): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting !== null) {
      this.#waiting = null;
      waiting({ value: event, done: false });
    } else {
      this.#queue.push(event);
    }
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.owners.delete(this);
    this.signal?.removeEventListener("abort", this.#onAbort);
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<TreeCacheEvent>> {
    const event = this.#queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<TreeCacheEvent>> {
    this.end();
    this.#queue.length = 0;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
