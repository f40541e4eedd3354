/**
 * A counting semaphore: at most `maxLeases` leases held at once, across processes (Curator's
 * InterProcessSemaphoreV2; kazoo's Semaphore as an option).
 *
 *   const semaphore = new Semaphore(zk, "/limits/payments-api", 4);
 *   await using leases = await semaphore.acquire(1, { timeout: 10_000, signal });
 *   // at most 4 leases are held across every process; leases.signal fires if one is lost
 *
 * Layout "curator" (default), shared with Curator's InterProcessSemaphoreV2 on the same path:
 *
 *   /limits/payments-api
 *     locks/                              an InterProcessMutex (zkwire's Lock, Curator naming)
 *       _c_0d77...-lock-0000000012        <- whoever is next to get a lease holds it
 *     leases/
 *       _c_6f1e...-lease-0000000031       <- a held lease (ephemeral sequential, protected)
 *       _c_93ab...-lease-0000000032
 *
 *   To get a lease: take the mutex; create a lease child; while there are more than maxLeases lease
 *   children, wait for a change of them (only the mutex holder waits there, so a release wakes one
 *   process, not all); release the mutex. The lease is the child; release deletes it.
 *
 * Layout "kazoo", shared with kazoo's Semaphore on the same path:
 *
 *   /limits/payments-api-__lock__         a kazoo Lock
 *     <hex>__lock__0000000012
 *   /limits/payments-api                  data = maxLeases, as text (written by whoever creates it)
 *     <uuid hex>                          <- a held lease (ephemeral, not sequential)
 *
 *   To get a lease: take the lock; when fewer than maxLeases children exist, create ours; else wait for
 *   a change of them; release the lock. A path whose data is another number is refused, as kazoo does.
 *
 * Why:
 * - The mutex orders the waiters (first come, first served) and keeps the herd off the leases: only its
 *   holder watches them. That is both peers' design; sharing it is what lets a Curator or kazoo process
 *   and a zkwire one count against one limit.
 * - Curator counts with the new child already created (at most maxLeases children, ours among them),
 *   kazoo before creating it (fewer than maxLeases): each layout follows its peer exactly.
 * - acquire(n) takes the leases one at a time, each under the mutex, as both peers do; on timeout,
 *   abort or error every lease taken so far is returned (Curator's returnAll), and a lease child left
 *   by the failed attempt is deleted.
 * - A lease is the toolkit's Lease: its signal fires when the session could have expired (connection
 *   down past `grace`, capped at two thirds of the session timeout), the child is deleted, or the
 *   session ends; its token is the child's czxid.
 * - A lease child found gone while waiting (deleted by someone, or the session renewed) means the
 *   attempt is over: Curator logs "Sequential path not found" and gives up the same way.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper } from "../client/client.js";
import { LockLostError, SemaphoreTimeoutError, ZkArgumentError } from "../errors.js";
import { joinPath, validatePath } from "../session/paths.js";
import { Lock } from "./lock.js";
import { abortable, deadline, timeoutProblem } from "./toolkit/abort.js";
import { Lease } from "./toolkit/lease.js";
import { ignore, retryOnConnectionLoss } from "./toolkit/retry.js";
import { curatorName } from "./toolkit/sequence.js";
import { dataBytes, isCode, isConnectionLoss } from "./toolkit/support.js";

// The error lives with every other zkwire error (src/errors.ts); its name stays importable from here.
export { SemaphoreTimeoutError };

export type SemaphoreLayout = "curator" | "kazoo";

export interface SemaphoreOptions {
  /** Curator InterProcessSemaphoreV2's (default) or kazoo Semaphore's. */
  layout?: SemaphoreLayout;
  /** Data of each lease child (Curator: nodeData; kazoo: the identifier). Default empty. */
  data?: Uint8Array | string;
  acl?: readonly AclEntry[];
  /** ms the connection may stay down before a held lease counts as lost (as Lock's). Default 0. */
  grace?: number;
}

export interface SemaphoreAcquireOptions {
  /** ms to wait at most for all n leases; then every lease taken is returned and acquire rejects. */
  timeout?: number;
  signal?: AbortSignal;
}

/** The leases one acquire() got. Release them (or let `await using` do it). */
export class SemaphoreLeases implements AsyncDisposable {
  private controller: AbortController | null = null;

  constructor(readonly leases: readonly Lease[]) {}

  /** Aborts when any of the leases is lost (its reason is that lease's LockLostError). */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      const controller = this.controller;
      for (const lease of this.leases) {
        const s = lease.signal;
        if (s.aborted) controller.abort(s.reason);
        else s.addEventListener("abort", () => controller.abort(s.reason), { once: true });
      }
    }
    return this.controller.signal;
  }

  /** Gives every lease back. Idempotent. */
  async release(): Promise<void> {
    await Promise.all(this.leases.map((lease) => lease.release()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

export class Semaphore {
  readonly path: string;
  readonly maxLeases: number;
  private readonly layout: SemaphoreLayout;
  private readonly data: Uint8Array;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly grace: number;
  private readonly lock: Lock;
  private readonly leasesPath: string;
  /** kazoo layout: the maximum on the path was checked (or written) once. */
  private checkedMax = false;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    maxLeases: number,
    options: SemaphoreOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("the semaphore path cannot be the root");
    if (!Number.isInteger(maxLeases) || maxLeases < 1)
      throw new ZkArgumentError(`maxLeases must be an integer >= 1, got ${String(maxLeases)}`);
    this.maxLeases = maxLeases;
    this.layout = options.layout ?? "curator";
    if (this.layout !== "curator" && this.layout !== "kazoo")
      throw new ZkArgumentError(`layout must be "curator" or "kazoo", got ${String(this.layout)}`);
    this.data = dataBytes(options.data, "data");
    this.acl = options.acl;
    this.grace = options.grace ?? 0;
    if (typeof this.grace !== "number" || !Number.isFinite(this.grace) || this.grace < 0)
      throw new ZkArgumentError("grace must be a number >= 0");
    if (this.layout === "curator") {
      this.lock = new Lock(zk, joinPath(this.path, "locks"), { naming: "curator", acl: this.acl });
      this.leasesPath = joinPath(this.path, "leases");
    } else {
      this.lock = new Lock(zk, `${this.path}-__lock__`, { naming: "kazoo", acl: this.acl });
      this.leasesPath = this.path;
    }
  }

  /** Waits for `n` leases (default 1) and returns them; all or none. */
  async acquire(n = 1, options: SemaphoreAcquireOptions = {}): Promise<SemaphoreLeases> {
    if (!Number.isInteger(n) || n < 1)
      throw new ZkArgumentError(`n must be an integer >= 1, got ${String(n)}`);
    if (n > this.maxLeases)
      throw new ZkArgumentError(`n (${n}) is more than the semaphore's maxLeases (${this.maxLeases})`);
    const problem = timeoutProblem(options.timeout);
    if (problem !== undefined) throw new ZkArgumentError(problem);
    const stop = deadline(
      options,
      () =>
        new SemaphoreTimeoutError(`${n} lease(s) of ${this.path} not acquired within ${options.timeout} ms`),
    );
    const got: Lease[] = [];
    try {
      for (let i = 0; i < n; i++) got.push(await this.acquireOne(stop.signal));
      return new SemaphoreLeases(got);
    } catch (err) {
      await Promise.all(got.map((lease) => lease.release().catch(ignore)));
      throw stop.signal?.aborted ? stop.signal.reason : err;
    } finally {
      stop.done();
    }
  }

  /** The lease children now (each a held lease). */
  async holders(): Promise<string[]> {
    try {
      const { children } = await retryOnConnectionLoss(() => this.zk.getChildren(this.leasesPath));
      return children;
    } catch (err) {
      if (isCode(err, "NoNode")) return [];
      throw err;
    }
  }

  /** One lease, under the mutex. */
  private async acquireOne(signal: AbortSignal | undefined): Promise<Lease> {
    const mutex = await this.lock.acquire({ signal });
    let child: string | null = null;
    try {
      if (this.layout === "kazoo") await this.checkMax(signal);
      else {
        await this.ensurePath(this.leasesPath, signal, undefined, "container");
        child = await this.createCuratorLease(signal);
        signal?.throwIfAborted(); // the caller gave up while the child was made: it goes again below
      }
      const name = child?.slice(child.lastIndexOf("/") + 1);
      for (;;) {
        const { children, watch } = await retryOnConnectionLoss(
          () => this.zk.getChildren(this.leasesPath, { watch: true, signal }),
          signal,
        );
        if (child !== null) {
          if (!children.includes(name!))
            throw new LockLostError(`lease child ${child} vanished while waiting (deleted by someone else?)`);
          if (children.length <= this.maxLeases) return await this.leaseOf(child);
        } else if (children.length < this.maxLeases) {
          child = await this.createKazooLease();
          signal?.throwIfAborted();
          return await this.leaseOf(child);
        }
        const event = await abortable(watch, signal);
        if (event.type === "None") throw new LockLostError(`session ended while waiting on ${this.path}`);
      }
    } catch (err) {
      if (child !== null) await deleteQuietly(this.zk, child);
      throw err;
    } finally {
      await mutex.release();
    }
  }

  private async leaseOf(path: string): Promise<Lease> {
    const stat = await retryOnConnectionLoss(() => this.zk.exists(path));
    if (stat === null) throw new LockLostError(`lease child ${path} vanished`);
    return new Lease(this.zk, path, stat, { grace: this.grace, what: "semaphore lease" });
  }

  /**
   * Curator's protected ephemeral-sequential lease child, found again by its id after a lost reply. The
   * create is never abandoned in flight (a lease made but unknown here would hold a permit until the
   * session ends): the caller looks at its signal once it has the child, and deletes it if need be.
   */
  private async createCuratorLease(signal: AbortSignal | undefined): Promise<string> {
    const prefix = curatorName(randomUUID(), "lease-");
    for (;;) {
      try {
        const { path } = await this.zk.create(joinPath(this.leasesPath, prefix), this.data, {
          mode: "ephemeralSequential",
          acl: this.acl,
        });
        return path;
      } catch (err) {
        if (!isConnectionLoss(err)) throw err;
        const { children } = await retryOnConnectionLoss(() => this.zk.getChildren(this.leasesPath));
        const own = children.find((c) => c.startsWith(prefix));
        if (own !== undefined) return joinPath(this.leasesPath, own);
        signal?.throwIfAborted();
      }
    }
  }

  /**
   * kazoo's lease child: `<path>/<uuid hex>`, ephemeral; NodeExists after a lost reply means it is ours.
   * Not abandoned in flight either (see createCuratorLease).
   */
  private async createKazooLease(): Promise<string> {
    const path = joinPath(this.leasesPath, randomUUID().replaceAll("-", ""));
    await retryOnConnectionLoss(() =>
      this.zk.create(path, this.data, { mode: "ephemeral", acl: this.acl }),
    ).catch((err) => {
      if (!isCode(err, "NodeExists")) throw err;
    });
    return path;
  }

  /** kazoo stores the maximum on the path; a path holding another number belongs to another limit. */
  private async checkMax(signal: AbortSignal | undefined): Promise<void> {
    if (this.checkedMax) return;
    const created = await this.ensurePath(this.path, signal, String(this.maxLeases));
    if (!created) {
      const { data } = await retryOnConnectionLoss(() => this.zk.getData(this.path, { signal }), signal);
      const text = Buffer.from(data).toString("utf8").trim();
      // Non-numeric data is someone else's use of the node, as kazoo reads it: ignored.
      if (/^[+-]?\d+$/.test(text) && Number(text) !== this.maxLeases) {
        throw new ZkArgumentError(
          `semaphore ${this.path} has maxLeases ${text} stored on it, not ${this.maxLeases}`,
        );
      }
    }
    this.checkedMax = true;
  }

  /**
   * Creates `path` (and its parents) if missing; true if this call created it. Curator's leases node is
   * a container (its creatingParentContainersIfNeeded), removed by the server once empty.
   */
  private async ensurePath(
    path: string,
    signal: AbortSignal | undefined,
    data?: string,
    mode: "persistent" | "container" = "persistent",
  ): Promise<boolean> {
    try {
      await retryOnConnectionLoss(
        () => this.zk.create(path, data ?? null, { mode, acl: this.acl, createParents: true, signal }),
        signal,
      );
      return true;
    } catch (err) {
      if (isCode(err, "NodeExists")) return false;
      throw err;
    }
  }
}

async function deleteQuietly(zk: ZooKeeper, path: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await zk.delete(path);
      return;
    } catch (err) {
      if (!isConnectionLoss(err)) return;
    }
  }
}
