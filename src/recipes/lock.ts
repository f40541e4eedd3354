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
 * The machinery is the recipe toolkit's (contender.ts: the protected create, the herd-free wait, the
 * marked hand-over; lease.ts: the loss signal, guarded writes, the fencing token). What is the lock's:
 * - The mutex rule: the nearest contender ahead blocks, and a holder has nothing ahead of it, so a
 *   marked release by the predecessor hands the lock over without another listing.
 * - Marked release only where it pays: a lease that waited (others likely wait too). A lease that took
 *   the lock at once releases with a plain delete, as does every Curator and kazoo contender.
 * - Loss: `lease.signal` aborts when the lock can no longer be guaranteed: the session expired, the
 *   child was deleted by someone else, or the connection stayed down past `grace` (default 0). The
 *   watch on its own child starts when `signal` or `held` is first read: a lease nobody asks about
 *   costs the server no request for it.
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
import { LockLostError, LockTimeoutError, ZkArgumentError } from "../errors.js";
import { validatePath } from "../session/paths.js";
import { deadline } from "./toolkit/abort.js";
import { Contender } from "./toolkit/contender.js";
import { Lease } from "./toolkit/lease.js";
import { curatorName, kazooName } from "./toolkit/sequence.js";

export { Lease } from "./toolkit/lease.js";
export { contenders, sequenceOf } from "./toolkit/sequence.js";
// The errors live with every other zkwire error (src/errors.ts); their names stay importable from here.
export { LockLostError, LockTimeoutError };

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

/** The child name before the sequence number, for a naming scheme and a fresh id. */
export function lockPrefix(naming: LockNaming, id: string): string {
  if (naming === "curator") return curatorName(id, "lock-");
  if (naming === "kazoo") return kazooName(id, "__lock__");
  return naming.prefix;
}

/** Checks a LockNaming before anything is sent. */
export function checkLockNaming(naming: LockNaming): void {
  if (typeof naming === "object" && naming !== null) {
    const prefix = naming.prefix;
    if (typeof prefix !== "string" || prefix.includes("/") || /\d$/.test(prefix)) {
      throw new ZkArgumentError(
        "naming.prefix must be a node name part without '/' and not ending in a digit",
      );
    }
  } else if (naming !== "curator" && naming !== "kazoo") {
    throw new ZkArgumentError(`naming must be "curator", "kazoo" or { prefix }, got ${String(naming)}`);
  }
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
    checkLockNaming(this.naming);
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
    const stop = deadline(
      options,
      () => new LockTimeoutError(`lock ${this.path} not acquired within ${options.timeout} ms`),
    );
    const contender = new Contender(this.zk, {
      path: this.path,
      prefix: lockPrefix(this.naming, randomUUID()),
      protectedName: typeof this.naming === "string", // only the named schemes carry an id to find the child by
      container: this.naming === "curator",
      acl: this.acl,
      markedHandOver: true,
      signal: stop.signal,
    });
    try {
      const held = await contender.run(wait);
      if (!held) {
        await contender.withdraw();
        return null;
      }
      return new Lease(this.zk, contender.nodePath!, contender.stat!, {
        grace: this.grace,
        // Mark the release only when others likely wait behind.
        markRelease: contender.waited,
      });
    } catch (err) {
      await contender.withdraw();
      throw stop.signal?.aborted ? stop.signal.reason : err;
    } finally {
      stop.done();
    }
  }
}
