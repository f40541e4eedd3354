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
 * - Marked hand-over (3.9+, mutex-like recipes only: `markedHandOver`): a zkwire lease that waited
 *   releases with a setData and the delete in one transaction. The contender watches both the blocking
 *   child's data and its (never existing) children, and receives NodeDataChanged and NodeDeleted with
 *   one zxid: the child held, so nothing below it remains, and the contender is through at once.
 *   Anything else (a lone deletion, someone else's write, e.g. Curator's revocation) is a plain deletion.
 *   On a server whose events carry no zxid (before 3.9, learnt from the first event, see
 *   server-features.ts) the contender sets one watch only, the standard recipe's.
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
import type { WatchedEvent } from "../../session/watches.js";
import { abortable } from "./abort.js";
import { ignore, isRetryable, retryOnConnectionLoss } from "./retry.js";
import { sequenceOf } from "./sequence.js";
import { eventsCarryZxid, noteEvent } from "./server-features.js";

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
  /** Trust a marked release of the blocking child as "nothing below it is left" (mutex-like recipes). */
  markedHandOver?: boolean;
  /** Aborts the contender: every call it makes, and its waits. */
  signal?: AbortSignal | undefined;
}

/**
 * The watches set on the blocking child (boxed: a promise cannot resolve to a promise), or null when
 * it did not exist (and no watch was left behind). `data` fires first on any change; `child`, set where
 * it could be, fires on the deletion only, so that a release marker can be told apart.
 */
type Armed = { data: Promise<WatchedEvent>; child: Promise<WatchedEvent> | null } | null;

/** How a wait for the blocking child ended. */
export enum Gone {
  /** Released by a marked zkwire lease: it held, so nothing below it is left. */
  Released,
  /** Deleted some other way (given up, expired, another client's release): look at the others. */
  Deleted,
  /** Not deleted (its data changed, or the watch ended otherwise): look again. */
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
   * Waits until the child `name` goes, and says how (see Gone). Only NodeDataChanged then NodeDeleted
   * with equal zxids counts as a marked release; a lone deletion, a data change by anyone else
   * (Curator's revocation writes to a lock child) or a server that sends no zxid is any deletion.
   */
  async waitGone(name: string): Promise<Gone> {
    const armed = await retryOnConnectionLoss(() => this.arm(name), this.signal);
    if (armed === null) return Gone.Deleted;
    const first = await this.event(armed.data);
    if (first.type === "NodeDeleted") return Gone.Deleted;
    if (first.type !== "NodeDataChanged" || armed.child === null) return Gone.Changed;
    const second = await this.event(armed.child);
    if (second.type !== "NodeDeleted") return Gone.Changed;
    return first.zxid >= 0n && second.zxid === first.zxid ? Gone.Released : Gone.Deleted;
  }

  private async event(watch: Promise<WatchedEvent>): Promise<WatchedEvent> {
    const event = await abortable(watch, this.signal);
    if (event.type === "None") {
      throw new LockLostError(`session ended while waiting on ${this.path} (${event.state})`);
    }
    noteEvent(this.zk, event);
    return event;
  }

  /**
   * Watches the child `name`: its data, and for the marked hand-over its children too (an ephemeral
   * node has none; that watch is there for the deletion), both requests in one write. getData, not
   * exists: on a missing node it leaves no watch behind (an exists watch would stay registered until
   * the session ends); exists only where reading is refused.
   */
  private async arm(name: string): Promise<Armed> {
    const path = joinPath(this.path, name);
    const data = this.zk.getData(path, this.watchOptions);
    const marked = this.options.markedHandOver === true && eventsCarryZxid(this.zk) !== false;
    const child = marked ? this.zk.getChildren(path, this.watchOptions) : null;
    child?.catch(ignore);
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
    if (child === null) return armed;
    try {
      armed.child = (await child).watch;
    } catch {
      // Gone between the two reads: the data watch reports the deletion.
    }
    return armed;
  }
}
