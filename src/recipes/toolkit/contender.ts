/**
 * The contender: one ephemeral-sequential child of a recipe's path, and the herd-free wait for the
 * children ahead of it that block it. Lock, LeaderLatch, the election, and the read-write lock and
 * semaphore differ only in which of the children ahead block a contender (`blockedBy`) and in what they
 * do once nothing does.
 *
 *   /path
 *     _c_6f1e...-lock-0000000041   <- nothing ahead: not blocked
 *     _c_93ab...-lock-0000000042   <- blockedBy([41]) = 41: watches 41 only
 *     _c_0d77...-lock-0000000044   <- blockedBy([41, 42]) = 42: watches 42 only
 *
 * - Herd-free: a contender watches only the child that blocks it, so a deletion wakes one contender.
 *   When that child was the only one ahead in the last listing, nothing can be ahead any more (sequence
 *   numbers only grow), so the contender is through without reading again.
 * - Marked hand-over (mutex-like recipes only: `markedHandOver`): a zkwire lease that waited releases
 *   its child in one transaction with the creation and deletion of the child's release marker (see
 *   lease.ts). A contender with more than one ahead watches that marker path (exists) beside the
 *   blocking child's data: the marker's creation, then the child's deletion (on 3.9+ also with one
 *   zxid), say the child held until it went, so nothing below it remains, and the contender is through
 *   without reading the children again. No zxid is needed, so this works on every server line. A
 *   deletion without the marker is a plain deletion, and the marker's watch is taken off the server
 *   again; someone else's write to the child (e.g. Curator's revocation) only re-arms the data watch.
 * - One round trip when not blocked: the create and the first getChildren are written together; the
 *   server answers a session's requests in order, so the listing already contains the new child.
 * - Protected create: the child's name carries a random id. If the connection drops while the create
 *   is in flight, the contender looks for its id among the children after reconnecting instead of
 *   creating a second child, so no orphan is left to block everyone until the session ends (Curator's
 *   protection mode; kazoo does the same with its node's uuid).
 */
import type { AclEntry } from "../../client/acl.js";
import type { CallOptions, ZooKeeper } from "../../client/client.js";
import type { Data } from "../../client/requests.js";
import { LockLostError, ZooKeeperError } from "../../errors.js";
import { ErrorCode } from "../../protocol/constants.js";
import type { Stat } from "../../protocol/records/stat.js";
import { joinPath } from "../../session/paths.js";
import type { WatchedEvent, Watcher } from "../../session/watches.js";
import { abortable } from "./abort.js";
import { releaseMarker } from "./lease.js";
import { ignore, isRetryable, retryOnConnectionLoss } from "./retry.js";
import { sequenceOf } from "./sequence.js";

/**
 * Which child blocks a contender: given the contenders ahead of it (lowest sequence first) and its own
 * name, the one to wait for, or null when nothing blocks it. A mutex waits for the nearest one ahead; a
 * reader of a read-write lock for the nearest writer ahead; a semaphore of n permits for the n-th
 * nearest. It must answer null for an empty list.
 */
export type BlockedBy = (ahead: readonly string[], own: string) => string | null;

/** The mutex rule: the nearest contender ahead blocks. */
export const nearestAhead: BlockedBy = (ahead) => (ahead.length === 0 ? null : ahead[ahead.length - 1]!);

export interface ContenderOptions {
  /** The recipe's path; its children are the contenders. */
  path: string;
  /** The child's name before its sequence number (see curatorName / kazooName in sequence.ts). */
  prefix: string;
  /** The prefix carries an id unique to this contender, so its child can be found after a cut create. */
  protectedName: boolean;
  /** Create a missing recipe path as a container (Curator's way) rather than a persistent node. */
  container?: boolean;
  /** ACL of the child (and of the recipe path when it has to be created). Default OPEN_ACL_UNSAFE. */
  acl?: readonly AclEntry[] | undefined;
  /** The child's data (LeaderLatch: the participant id). Default none. */
  data?: Data | null;
  /** Which child blocks this one. Default: the nearest ahead (a mutex). */
  blockedBy?: BlockedBy;
  /**
   * Trust a marked release of the blocking child as "nothing below it is left" (mutex-like recipes); a
   * function says which blocking children may be released that way (the read-write lock: writers).
   */
  markedHandOver?: boolean | ((blocker: string) => boolean);
  /** Aborts the contender: every call it makes, and its waits. */
  signal?: AbortSignal | undefined;
}

/**
 * The watch on a blocking child's release marker (a path that exists only inside the transaction that
 * releases the child): the watcher is kept so that the watch can be removed again when the child goes
 * some other way. `created` is set as the event is delivered, so before any later event or answer.
 */
interface MarkerWatch {
  path: string;
  watcher: Watcher;
  created: boolean;
  /** The creation's zxid (-1 before 3.9, whose events carry none). */
  zxid: bigint;
}

/** The watches set on the blocking child (boxed: a promise cannot resolve to a promise). */
interface Armed {
  /** Its data watch, or null when it was gone already. */
  data: Promise<WatchedEvent> | null;
  /** The watch on its release marker, where one was set. */
  marker: MarkerWatch | null;
}

/**
 * Whether a child's deletion came with its release marker: the marker was created first, in the same
 * transaction where the events say so (3.9+). Before 3.9 the order alone decides, and the marker's
 * name is reserved: a marker made by hand while a contender watches passes for a release.
 */
function releasedWith(marker: MarkerWatch | null, deletion: WatchedEvent): boolean {
  if (marker === null || !marker.created) return false;
  return marker.zxid < 0n || deletion.zxid === marker.zxid;
}

/** How a wait for the blocking child ended. */
export enum Gone {
  /** Released by a marked zkwire lease: it held, so nothing below it is left. */
  Released,
  /** Deleted some other way (given up, expired, another client's release): look at the others. */
  Deleted,
  /** Not deleted, but its watch ended some other way (e.g. someone removed it): look again. */
  Changed,
}

/** One contender: its child, and the loop that waits until nothing blocks it. */
export class Contender {
  /** The child's full path, once created (or found again). */
  nodePath: string | null = null;
  /** The child's name (last path segment). */
  name: string | null = null;
  /** The child's Stat from its create (czxid is the fencing token, ephemeralOwner the session). */
  stat: Stat | null = null;
  /** The child's sequence number, -1 before it exists. */
  sequence = -1;
  /** Whether something blocked this contender at some point (the path is contended). */
  waited = false;
  readonly path: string;
  /** Aborts every call the contender makes and its waits (see useSignal). */
  signal: AbortSignal | undefined;
  private readonly prefix: string;
  private readonly options: ContenderOptions;
  private readonly blockedBy: BlockedBy | undefined;
  /** From the last listing: how many contenders are ahead of ours, and the one that blocks it. */
  private ahead = 0;
  private blocker: string | null = null;
  /** The options of every read: made once, the hot path passes them on every call. */
  private readOptions: CallOptions;
  private watchOptions: CallOptions & { watch: true };

  constructor(
    private readonly zk: ZooKeeper,
    options: ContenderOptions,
  ) {
    this.options = options;
    this.path = options.path;
    this.prefix = options.prefix;
    this.signal = options.signal;
    this.blockedBy = options.blockedBy === nearestAhead ? undefined : options.blockedBy;
    this.readOptions = { signal: options.signal };
    this.watchOptions = { watch: true, signal: options.signal };
  }

  /**
   * Replaces the signal that aborts the contender's calls and waits, for recipes whose child outlives
   * one attempt (LeaderLatch: one signal per connection, aborted when the connection is suspended).
   */
  useSignal(signal: AbortSignal | undefined): void {
    this.signal = signal;
    this.readOptions = { signal };
    this.watchOptions = { watch: true, signal };
  }

  /**
   * Creates the child (unless it exists) and waits until nothing blocks it: resolves true then. With
   * `wait` false, resolves false at once when something blocks it (the child stays: withdraw() it).
   */
  async run(wait: boolean): Promise<boolean> {
    let children = this.nodePath === null ? await this.enter() : await this.list();
    for (;;) {
      this.signal?.throwIfAborted();
      this.place(children);
      if (this.blocker === null) return true;
      if (!wait) return false;
      this.waited = true;
      const gone = await this.waitGone(this.blocker);
      // A marked release: the blocker held, so every child below it was gone already.
      if (gone === Gone.Released) return true;
      // The blocker was the only one ahead: nothing lower can appear, no need to read again.
      if (gone === Gone.Deleted && this.ahead === 1) return true;
      children = await this.list();
    }
  }

  /**
   * The create and the first listing, written together: one round trip when nothing blocks. Creates
   * the recipe path when it does not exist yet: a container (removed by the server once empty) for
   * Curator-style recipes, as Curator does; a persistent node otherwise, because kazoo creates its
   * path once per object and fails if a container sweep removed it in between. Resolves the listing.
   */
  async enter(): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      this.signal?.throwIfAborted();
      // Without the signal: a create abandoned in flight could still make a child that no one knows of,
      // blocking every contender behind it until the session ends (an unprotected name cannot be found
      // again). Answered, the child is ours to withdraw when the caller has given up meanwhile.
      const created = this.zk.create(joinPath(this.path, this.prefix), this.options.data ?? null, {
        mode: "ephemeralSequential",
        acl: this.options.acl,
      });
      const listed = this.zk.getChildren(this.path, this.readOptions);
      // Handled here so that a failed listing never counts as unhandled, whatever happens to the create.
      listed.catch(ignore);
      let result: { path: string; stat: Stat };
      try {
        result = await created;
      } catch (err) {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode && attempt < 3) {
          await this.ensurePath();
          continue;
        }
        if (err instanceof ZooKeeperError && err.isConnectionLoss && this.options.protectedName) {
          // Did the create happen before the connection dropped? Our id says which child is ours.
          const own = await this.findOwn();
          if (own !== null) {
            const stat = await retryOnConnectionLoss(
              () => this.zk.exists(own, this.readOptions),
              this.signal,
            );
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
        if (!isRetryable(err, this.signal)) throw err;
        return this.list();
      }
    }
  }

  /**
   * Finds our child's place in a listing: how many contenders are ahead, and the one that blocks us.
   * The mutex rule in one pass without sorting (a listing is read on every acquisition); any other rule
   * gets the sorted list of those ahead. Throws LockLostError when our child is not in the listing.
   */
  place(children: readonly string[]): string | null {
    const mine = this.sequence;
    let found = false;
    let ahead = 0;
    let nearest: string | null = null;
    let nearestSequence = -1;
    const all: { name: string; seq: number }[] | null = this.blockedBy === undefined ? null : [];
    for (const child of children) {
      if (child === this.name) {
        found = true;
        continue;
      }
      const sequence = sequenceOf(child);
      if (sequence < 0 || sequence >= mine) continue;
      ahead++;
      all?.push({ name: child, seq: sequence });
      if (sequence > nearestSequence) {
        nearest = child;
        nearestSequence = sequence;
      }
    }
    if (!found) {
      throw new LockLostError(`child ${this.nodePath} vanished while waiting (deleted by someone else?)`);
    }
    this.ahead = ahead;
    if (all !== null) {
      all.sort((a, b) => a.seq - b.seq);
      nearest = this.blockedBy!(
        all.map((c) => c.name),
        this.name!,
      );
    }
    this.blocker = nearest;
    return nearest;
  }

  /** Removes the child (timeout, abort, not free, close); survives a connection loss on the way. */
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

  /** Forgets the child (after the session that owned it expired): the next run() creates a new one. */
  reset(): void {
    this.nodePath = null;
    this.name = null;
    this.stat = null;
    this.sequence = -1;
    this.blocker = null;
    this.ahead = 0;
  }

  /** The recipe path's children: a read, repeated after a connection loss. */
  async list(): Promise<string[]> {
    return (await retryOnConnectionLoss(() => this.zk.getChildren(this.path, this.readOptions), this.signal))
      .children;
  }

  private adopt(path: string, stat: Stat): void {
    this.nodePath = path;
    this.stat = stat;
    this.name = path.slice(path.lastIndexOf("/") + 1);
    this.sequence = sequenceOf(this.name);
  }

  /** Our child, found by the id in its name (after a create whose reply was lost). */
  private async findOwn(): Promise<string | null> {
    if (!this.options.protectedName) return null;
    let children: string[];
    try {
      children = await this.list();
    } catch (err) {
      // No recipe path yet: the lost create cannot have happened (it needed the path).
      if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return null;
      throw err;
    }
    const own = children.find((c) => c.startsWith(this.prefix) && sequenceOf(c) >= 0);
    return own === undefined ? null : joinPath(this.path, own);
  }

  private async ensurePath(): Promise<void> {
    try {
      await this.zk.create(this.path, null, {
        mode: this.options.container ? "container" : "persistent",
        acl: this.options.acl,
        createParents: true,
      });
    } catch (err) {
      if (!(err instanceof ZooKeeperError && err.code === ErrorCode.NodeExists)) throw err;
    }
  }

  /**
   * Waits until the child `name` goes, and says how (see Gone). It is a marked release when the child's
   * deletion arrives after NodeCreated on its release marker (the server sends both of one transaction
   * in order). Someone else's write to the child (Curator's revocation writes to a lock child) changes
   * nothing about who is ahead: the child is watched again, without reading the children.
   */
  async waitGone(name: string): Promise<Gone> {
    const path = joinPath(this.path, name);
    // Worth watching only with others ahead: alone ahead, any deletion of the child already says enough.
    const trust = this.options.markedHandOver;
    const marked = this.ahead > 1 && (trust === true || (typeof trust === "function" && trust(name)));
    const armed = await retryOnConnectionLoss(() => this.arm(path, marked), this.signal);
    const marker = armed.marker;
    try {
      let data = armed.data;
      for (;;) {
        if (data === null) return marker?.created ? Gone.Released : Gone.Deleted;
        const event = await this.event(data);
        if (event.type === "NodeDeleted") return releasedWith(marker, event) ? Gone.Released : Gone.Deleted;
        if (event.type !== "NodeDataChanged") return Gone.Changed;
        data = (await retryOnConnectionLoss(() => this.arm(path, false), this.signal)).data;
      }
    } finally {
      if (marker !== null && !marker.created) this.unwatch(marker);
    }
  }

  private async event(watch: Promise<WatchedEvent>): Promise<WatchedEvent> {
    const event = await abortable(watch, this.signal);
    if (event.type === "None") {
      throw new LockLostError(`session ended while waiting on ${this.path} (${event.state})`);
    }
    return event;
  }

  /**
   * Watches the child at `path`: its release marker first where asked (so that the marker of a release
   * answered after it cannot be missed), then its data, both requests in one write. getData, not
   * exists, on the child: on a missing node it leaves no watch behind (an exists watch would stay
   * registered until the session ends); exists only where reading is refused.
   */
  private async arm(path: string, marked: boolean): Promise<Armed> {
    const marker = marked ? this.watchMarker(releaseMarker(path)) : null;
    const data = this.zk.getData(path, this.watchOptions);
    const armed: Armed = { data: null, marker: null };
    if (marker !== null) {
      try {
        await marker.set;
        armed.marker = marker.watch;
      } catch {
        // Not set (the connection dropped): the retry sets it again.
      }
    }
    try {
      armed.data = (await data).watch;
    } catch (err) {
      // Gone already: the marker's event, if the release was marked, came in before this answer.
      if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return armed;
      if (armed.marker !== null && !armed.marker.created) this.unwatch(armed.marker);
      if (!(err instanceof ZooKeeperError) || err.code !== ErrorCode.NoAuth) throw err;
      const { stat, watch } = await this.zk.exists(path, this.watchOptions);
      return { data: stat === null ? null : watch, marker: null };
    }
    return armed;
  }

  /** An exists watch on a release marker path; `set` resolves once the server has it. */
  private watchMarker(path: string): { watch: MarkerWatch; set: Promise<unknown> } {
    const watch: MarkerWatch = {
      path,
      created: false,
      zxid: -1n,
      watcher: (e) => {
        if (e.type !== "NodeCreated") return;
        watch.created = true;
        watch.zxid = e.zxid;
      },
    };
    // Without the signal: abandoned in flight, the watch could be set with nobody left to remove it.
    const set = this.zk.exists(path, { watch: watch.watcher });
    set.catch(ignore);
    return { watch, set };
  }

  /** Takes a marker's watch off again (here and on the server), without waiting for the answer. */
  private unwatch(marker: MarkerWatch): void {
    this.zk.removeWatches(marker.path, "data", { watcher: marker.watcher, local: true }).catch(ignore);
  }
}
