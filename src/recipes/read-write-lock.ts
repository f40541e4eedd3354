/**
 * A read-write lock: readers share it, a writer holds it alone (Curator's InterProcessReadWriteLock,
 * kazoo's ReadLock/WriteLock).
 *
 *   const rw = new ReadWriteLock(zk, "/locks/catalog"); // naming: "curator" (default) | "kazoo"
 *   await using read = await rw.readLock.acquire({ timeout: 5_000 });
 *   await using write = await rw.writeLock.acquire({ signal });
 *
 *   /locks/catalog                               curator naming            kazoo naming
 *     _c_6f1e...-__READ__0000000041   <- reader   <hex>__rlock__0000000041
 *     _c_93ab...-__READ__0000000042   <- reader, holds with 41
 *     _c_0d77...-__WRIT__0000000043   <- writer: waits for 42 (everyone earlier)
 *     _c_2b4c...-__READ__0000000044   <- reader: waits for 43 (the nearest earlier writer)
 *
 * Every contender is an ephemeral-sequential child of one path (the toolkit's Contender), ordered by
 * its sequence number alone. A writer is blocked by whoever is ahead of it (the mutex rule), a reader
 * only by the nearest writer ahead of it. With naming "curator" the children are Curator's
 * (`_c_<uuid>-__READ__<seq>`, `_c_<uuid>-__WRIT__<seq>`) and a Curator InterProcessReadWriteLock on the
 * same path takes part; with "kazoo" kazoo's (`<hex>__rlock__<seq>`, `<hex>__lock__<seq>`) and kazoo's
 * ReadLock/WriteLock take part. (Curator and kazoo cannot share a path: neither knows the other's names.)
 *
 * Why:
 * - A reader waits for the nearest writer ahead, not the first (Curator watches the first): when that
 *   one goes, the reader reads again and finds the next writer ahead if there is one; each deletion
 *   wakes only the contenders it blocked.
 * - Marked hand-over: only a writer's release is marked (its release marker made and removed in the
 *   delete's transaction, see the toolkit's lease.ts). A writer held alone, so nothing below it remains:
 *   its successor, reader or writer, is through without reading the children again. Readers release
 *   with a plain delete: other readers below them may still hold, so their release proves nothing, and
 *   no one watches for a reader's marker.
 * - No reentrancy and no downgrade (Curator lets the write holder take the read lock): JavaScript
 *   tasks have no thread identity to re-enter with. Pass the lease down instead.
 * - Fencing, the loss signal, guarded writes, timeout/abort cleanup: the toolkit's lease and contender,
 *   as for Lock.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { CallOptions, ZooKeeper } from "../client/client.js";
import { LockTimeoutError, ZkArgumentError } from "../errors.js";
import { validatePath } from "../session/paths.js";
import type { AcquireOptions } from "./lock.js";
import { deadline, timeoutProblem } from "./toolkit/abort.js";
import { type BlockedBy, Contender, nearestAhead } from "./toolkit/contender.js";
import { Lease } from "./toolkit/lease.js";
import { curatorName, kazooName } from "./toolkit/sequence.js";

export type ReadWriteLockNaming = "curator" | "kazoo";

export interface ReadWriteLockOptions {
  /** Curator's `__READ__`/`__WRIT__` (default) or kazoo's `__rlock__`/`__lock__`. */
  naming?: ReadWriteLockNaming;
  acl?: readonly AclEntry[];
  /** ms the connection may stay down before a held lease counts as lost (as Lock's). Default 0. */
  grace?: number;
}

const CURATOR_WRITER = /__WRIT__\d{10}$/;
const KAZOO_WRITER = /__lock__\d{10}$/;

export class ReadWriteLock {
  readonly path: string;
  /** Shared: held together with other readers, never with a writer. */
  readonly readLock: SharedLockSide;
  /** Exclusive: held alone. */
  readonly writeLock: SharedLockSide;

  constructor(zk: ZooKeeper, path: string, options: ReadWriteLockOptions = {}) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("the lock path cannot be the root");
    const naming = options.naming ?? "curator";
    if (naming !== "curator" && naming !== "kazoo")
      throw new ZkArgumentError(`naming must be "curator" or "kazoo", got ${String(naming)}`);
    const grace = options.grace ?? 0;
    if (typeof grace !== "number" || !Number.isFinite(grace) || grace < 0)
      throw new ZkArgumentError("grace must be a number >= 0");
    const writer = naming === "curator" ? CURATOR_WRITER : KAZOO_WRITER;
    // A reader waits for the nearest writer ahead of it; `ahead` is sorted lowest first.
    const nearestWriter: BlockedBy = (ahead) => {
      for (let i = ahead.length - 1; i >= 0; i--) if (writer.test(ahead[i]!)) return ahead[i]!;
      return null;
    };
    const shared = {
      zk,
      path: this.path,
      naming,
      acl: options.acl,
      grace,
      marked: (c: string) => writer.test(c),
    };
    this.readLock = new SharedLockSide({
      ...shared,
      kind: "read",
      name: naming === "curator" ? "__READ__" : "__rlock__",
      blockedBy: nearestWriter,
    });
    this.writeLock = new SharedLockSide({
      ...shared,
      kind: "write",
      name: naming === "curator" ? "__WRIT__" : "__lock__",
      blockedBy: nearestAhead,
    });
  }
}

interface SideOptions {
  zk: ZooKeeper;
  path: string;
  naming: ReadWriteLockNaming;
  acl: readonly AclEntry[] | undefined;
  grace: number;
  kind: "read" | "write";
  /** The name part before the sequence number. */
  name: string;
  blockedBy: BlockedBy;
  /** Which blocking children release with a marker: writers. */
  marked: (blocker: string) => boolean;
}

/** One side of a ReadWriteLock: acquire, tryAcquire and withLock, as Lock's. */
export class SharedLockSide {
  constructor(private readonly side: SideOptions) {}

  /** Waits for this side of the lock and returns the lease. */
  acquire(options: AcquireOptions = {}): Promise<Lease> {
    return this.contend(options, true) as Promise<Lease>;
  }

  /** Takes it if nothing blocks right now; otherwise removes its child and returns null. */
  tryAcquire(options: CallOptions = {}): Promise<Lease | null> {
    return this.contend(options, false);
  }

  /** Runs `fn` under this side of the lock and always releases. */
  async withLock<T>(fn: (lease: Lease) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const lease = await this.acquire(options);
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  private async contend(options: AcquireOptions, wait: boolean): Promise<Lease | null> {
    const { zk, path, naming, kind } = this.side;
    const problem = timeoutProblem(options.timeout);
    if (problem !== undefined) throw new ZkArgumentError(problem);
    const stop = deadline(
      options,
      () => new LockTimeoutError(`${kind} lock ${path} not acquired within ${options.timeout} ms`),
    );
    const id = randomUUID();
    const contender = new Contender(zk, {
      path,
      prefix: naming === "curator" ? curatorName(id, this.side.name) : kazooName(id, this.side.name),
      protectedName: true,
      container: naming === "curator",
      acl: this.side.acl,
      blockedBy: this.side.blockedBy,
      markedHandOver: this.side.marked,
      signal: stop.signal,
    });
    try {
      const held = await contender.run(wait);
      if (!held) {
        await contender.withdraw();
        return null;
      }
      return new Lease(zk, contender.nodePath!, contender.stat!, {
        grace: this.side.grace,
        // Only a writer's release proves that nothing below it is left (see the header).
        markRelease: kind === "write" && contender.waited,
        what: `${kind} lock`,
      });
    } catch (err) {
      await contender.withdraw();
      throw stop.signal?.aborted ? stop.signal.reason : err;
    } finally {
      stop.done();
    }
  }
}
