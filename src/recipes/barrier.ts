/**
 * Barriers: a gate every worker waits at until it is lifted, and a double barrier that members enter
 * together and leave together.
 *
 * `Barrier` (Curator's DistributedBarrier, kazoo's Barrier): the barrier is up while its node exists.
 *
 *   /gates/deploy           set() creates it, remove() deletes it, wait() returns once it is gone
 *
 * `DoubleBarrier` (Curator's DistributedDoubleBarrier, kazoo's DoubleBarrier; members of all three share
 * a path):
 *
 *   /barriers/round
 *     3f2a9c...             ephemeral, one per member (kazoo: uuid hex; Curator: uuid with dashes)
 *     b07e11...
 *     ready                 created by the member that makes the count reach `members`
 *
 * enter(): watch `ready`, create our member node, count the children; the member that sees the count
 * reach `members` creates `ready`, the others wait for its creation. A member that finds `ready` already
 * there is in at once (Curator's shortcut).
 * leave(): the lowest-named member waits for the highest to go; every other member deletes its node and
 * waits for the lowest to go. So each wait watches one node, and the lowest leaves last. The last one
 * out deletes `ready`.
 *
 * Edge cases and why:
 * - A waiting member trusts the creation event of `ready` and does not count again. Curator counts again
 *   after its watch fires, and counts `ready` as a member, which works only while `ready` stays until the
 *   end; kazoo deletes `ready` at the start of leave(). zkwire deletes it at the end, as Curator does, so
 *   a Curator member still counting is not left short, and does not count it again itself, so kazoo's
 *   early deletion cannot leave it short either.
 * - `ready` is not counted as a member (kazoo and Curator count it while entering; an early Curator
 *   counted it and threw "Count (4) is greater than memberQty (3)", Netflix/curator#99).
 * - A timeout or abort while entering deletes our member node, so the others do not count a member that
 *   gave up (Curator leaves it behind and returns false, CURATOR-80; kazoo has no timeout). While leaving, a timeout
 *   or abort also deletes our node: the members still waiting on it are freed rather than stuck.
 * - Our member node gone while leaving (session expired): treated as already left.
 * - The barrier path is a persistent node, not a container: kazoo creates it once per object and would
 *   fail if a sweep removed it between rounds.
 * - close() deletes our member node if it is still there; a Barrier's node is the barrier itself and
 *   stays until remove().
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { AclEntry } from "../client/acl.js";
import type { CallOptions, ZooKeeper } from "../client/client.js";
import { RecipeClosedError, ZkArgumentError } from "../errors.js";
import { joinPath, validatePath } from "../session/paths.js";
import type { WatchedEvent } from "../session/watches.js";
import {
  checkSignal,
  Deadline,
  isConnectionLoss,
  isNodeExists,
  isNoNode,
  Kick,
  whenConnected,
} from "./toolkit/state-support.js";

export interface WaitOptions {
  signal?: AbortSignal;
  /** ms to wait at most; then the call rejects with RecipeTimeoutError. */
  timeout?: number;
}

export interface BarrierOptions {
  /** ACL of the nodes this object creates. */
  acl?: readonly AclEntry[];
}

/** Curator's DistributedBarrier / kazoo's Barrier: up while the node exists. */
export class Barrier implements AsyncDisposable {
  readonly path: string;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: BarrierOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a barrier cannot be the root node");
    this.acl = options.acl;
  }

  /** Puts the barrier up (creates its node, and parents); true if this call created it. */
  async set(options: CallOptions = {}): Promise<boolean> {
    checkSignal(options.signal);
    try {
      await this.zk.create(this.path, null, { acl: this.acl, createParents: true, ...options });
      return true;
    } catch (err) {
      if (isNodeExists(err)) return false;
      throw err;
    }
  }

  /** Lifts the barrier; true if this call deleted the node. */
  async remove(options: CallOptions = {}): Promise<boolean> {
    checkSignal(options.signal);
    try {
      await this.zk.delete(this.path, options);
      return true;
    } catch (err) {
      if (isNoNode(err)) return false;
      throw err;
    }
  }

  /** Resolves once the barrier is down (at once if it is not up). */
  async wait(options: WaitOptions = {}): Promise<void> {
    using deadline = new Deadline(`barrier ${this.path}`, options, this.closing.signal);
    const kick = new Kick();
    // Any event: the node changed, or the session ended (the next exists() then says how).
    const watcher = () => kick.kick();
    for (;;) {
      try {
        const stat = await this.zk.exists(this.path, { watch: watcher, signal: deadline.signal });
        if (stat === null) return;
        await kick.wait(deadline.signal);
      } catch (err) {
        if (!isConnectionLoss(err)) throw deadline.signal?.reason ?? err;
        await whenConnected(this.zk, deadline.signal);
      }
      deadline.check();
    }
  }

  /** Ends waits in progress (they reject with RecipeClosedError); the barrier node stays. */
  async close(): Promise<void> {
    this.closing.abort(new RecipeClosedError(`barrier ${this.path}: closed`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface DoubleBarrierOptions extends BarrierOptions {
  /** Member node names: "kazoo" (uuid hex, the default) or "curator" (uuid with dashes). */
  naming?: "kazoo" | "curator";
  /** Data of the member node (kazoo writes "<host>-<pid>"; the default here too). */
  identifier?: string;
}

const READY = "ready";

/** Curator's DistributedDoubleBarrier / kazoo's DoubleBarrier. */
export class DoubleBarrier implements AsyncDisposable {
  readonly path: string;
  readonly members: number;
  /** This member's node. */
  readonly memberPath: string;
  private readonly name: string;
  private readonly readyPath: string;
  private readonly identifier: string;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly closing = new AbortController();
  private inside = false;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    members: number,
    options: DoubleBarrierOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a barrier cannot be the root node");
    if (typeof members !== "number" || !Number.isInteger(members) || members < 1)
      throw new ZkArgumentError(`members must be an integer >= 1, got ${String(members)}`);
    this.members = members;
    const naming = options.naming ?? "kazoo";
    if (naming !== "kazoo" && naming !== "curator")
      throw new ZkArgumentError(`naming must be "kazoo" or "curator", got ${String(naming)}`);
    const id = randomUUID();
    this.name = naming === "kazoo" ? id.replaceAll("-", "") : id;
    this.memberPath = joinPath(this.path, this.name);
    this.readyPath = joinPath(this.path, READY);
    if (options.identifier !== undefined && typeof options.identifier !== "string")
      throw new ZkArgumentError("identifier must be a string");
    this.identifier = options.identifier ?? `${hostname()}-${process.pid}`;
    this.acl = options.acl;
  }

  /** Joins, and resolves once `members` members have joined. */
  async enter(options: WaitOptions = {}): Promise<void> {
    using deadline = new Deadline(`enter ${this.path}`, options, this.closing.signal);
    if (this.inside) throw new ZkArgumentError(`already inside ${this.path}; leave() first`);
    const ready = new Kick();
    let woken: WatchedEvent | undefined;
    const watcher = (event: WatchedEvent) => {
      // "None": the session ended, and with it this member's node; "ready" will not come for us.
      if (event.type === "NodeCreated" || event.type === "None") {
        woken = event;
        ready.kick();
      }
    };
    const call = { signal: deadline.signal };
    try {
      const stat = await this.zk.exists(this.readyPath, { watch: watcher, ...call });
      await this.join(call);
      if (stat !== null) {
        this.inside = true;
        return;
      }
      const { children } = await this.zk.getChildren(this.path, call);
      if (children.filter((name) => name !== READY).length >= this.members) {
        try {
          await this.zk.create(this.readyPath, null, { acl: this.acl, ...call });
        } catch (err) {
          if (!isNodeExists(err)) throw err;
        }
      } else {
        await ready.wait(deadline.signal);
        deadline.check();
        if (woken?.type !== "NodeCreated")
          throw new RecipeClosedError(`the session ended while waiting to enter ${this.path}`);
      }
      this.inside = true;
    } catch (err) {
      // Gave up or failed: a member that is not waiting any more must not be counted.
      await this.withdraw();
      if (this.zk.state.kind === "connected")
        await this.zk.removeWatches(this.readyPath, "data", { watcher, local: true }).catch(() => undefined);
      throw deadline.signal?.aborted ? deadline.signal.reason : err;
    }
  }

  /** Leaves, and resolves once every member has left. */
  async leave(options: WaitOptions = {}): Promise<void> {
    using deadline = new Deadline(`leave ${this.path}`, options, this.closing.signal);
    const gone = new Kick();
    const watcher = (event: WatchedEvent) => {
      if (event.type === "NodeDeleted" || event.type === "None") gone.kick();
    };
    const call = { signal: deadline.signal };
    this.inside = false;
    try {
      for (;;) {
        let children: string[];
        try {
          ({ children } = await this.zk.getChildren(this.path, call));
        } catch (err) {
          if (!isNoNode(err)) throw err;
          children = [];
        }
        const members = children.filter((name) => name !== READY).sort();
        if (members.length === 0) break;
        if (members.length === 1 && members[0] === this.name) {
          await this.deleteOwn(call);
          break;
        }
        // The lowest waits for the highest; the others go, then wait for the lowest.
        let watched: string;
        if (members[0] === this.name) {
          watched = members[members.length - 1]!;
        } else {
          await this.deleteOwn(call);
          watched = members[0]!;
        }
        const stat = await this.zk.exists(joinPath(this.path, watched), { watch: watcher, ...call });
        if (stat !== null) await gone.wait(deadline.signal);
        deadline.check();
      }
      // Last one out (Curator's order): a Curator member still entering counts `ready` until now.
      await this.zk.delete(this.readyPath, call).catch((err: unknown) => {
        if (!isNoNode(err)) throw err;
      });
    } catch (err) {
      await this.withdraw();
      if (deadline.signal?.aborted) throw deadline.signal.reason;
      if (isConnectionLoss(err)) await whenConnected(this.zk).catch(() => undefined);
      throw err;
    }
  }

  /** Leaves without waiting: deletes this member's node if it is there. */
  async close(): Promise<void> {
    if (!this.closing.signal.aborted)
      this.closing.abort(new RecipeClosedError(`barrier ${this.path}: closed`));
    this.inside = false;
    await this.withdraw();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async join(call: CallOptions): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.zk.create(this.memberPath, this.identifier, { mode: "ephemeral", acl: this.acl, ...call });
        return;
      } catch (err) {
        if (isNodeExists(err)) return; // ours, from a create whose answer a connection loss took
        if (isNoNode(err) && attempt < 3) {
          try {
            await this.zk.create(this.path, null, { acl: this.acl, createParents: true, ...call });
          } catch (e) {
            if (!isNodeExists(e)) throw e;
          }
          continue;
        }
        throw err;
      }
    }
  }

  private async deleteOwn(call: CallOptions): Promise<void> {
    try {
      await this.zk.delete(this.memberPath, call);
    } catch (err) {
      if (!isNoNode(err)) throw err;
    }
  }

  /** Best effort: the node is ephemeral, so the session's end removes it anyway. */
  private async withdraw(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.zk.delete(this.memberPath);
        return;
      } catch (err) {
        if (!isConnectionLoss(err)) return;
        await whenConnected(this.zk).catch(() => undefined);
      }
    }
  }
}
