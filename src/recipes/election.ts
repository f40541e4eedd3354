/**
 * Election: run a function while leader, give leadership up when it returns or throws, and optionally
 * line up again (Curator's LeaderSelector with autoRequeue, kazoo's Election.run).
 *
 *   const election = new Election(zk, "/services/compactor/election", { id: "node-a" });
 *   await election.run(async (lease) => {
 *     while (!lease.signal.aborted) await compactOnce({ fence: lease.token, signal: lease.signal });
 *   }, { requeue: true, signal: shutdown });
 *
 * It is a mutex underneath, as in both peers: each contender is an ephemeral-sequential child, the
 * lowest leads, each waits for its predecessor only. Naming shares the path with a peer:
 *
 *   curator (default): LeaderSelector's InterProcessMutex   _c_<uuid>-lock-0000000003   data = id
 *   kazoo:             Election's Lock                      <uuid hex>__lock__0000000003 data = id
 *
 * The function gets a lease like the lock's (lease.ts): `signal` aborts once leadership can no longer
 * be guaranteed (the session expired, the child was deleted by someone else, the connection stayed down
 * past `grace`, capped at two thirds of the session timeout), `token` is the child's creation zxid
 * (strictly increasing from leader to leader, to fence writes elsewhere), and `transaction()`/`setData()`
 * write to ZooKeeper only while the child exists. The lease watches its child from the start: a leader
 * must learn of its loss even if the function never looks. Edge cases, and why:
 * - Leadership is granted only when the child's ephemeralOwner is the client's current session
 *   (CURATOR-696: a child of an expired session can be listed until the server removes it).
 * - The function's end (return or throw) always releases the child, so the next contender leads; with
 *   `requeue` the contender lines up again at the back (LeaderSelector.autoRequeue), also after a
 *   session expiry if the client renews its session; a throw ends run() with the error.
 * - Stopping (run's signal, close()) while waiting removes the child; while leading it aborts the
 *   lease's `stopped` (not its `signal`: leadership is not lost, the function is asked to finish), and
 *   the child goes once the function returns.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper } from "../client/client.js";
import { ElectionClosedError, LeadershipTimeoutError, LockLostError, ZkArgumentError } from "../errors.js";
import type { Stat } from "../protocol/records/stat.js";
import { validatePath } from "../session/paths.js";
import { deadline, timeoutProblem } from "./toolkit/abort.js";
import { Contender } from "./toolkit/contender.js";
import { checkParticipantId, type Participant, readParticipants } from "./toolkit/leadership.js";
import { Lease, type LeaseOptions } from "./toolkit/lease.js";
import { curatorName, kazooName } from "./toolkit/sequence.js";

/** Whose layout the contenders' children follow. */
export type ElectionNaming = "curator" | "kazoo";

export interface ElectionOptions {
  /** This contender's id, stored as its child's data. Default "". */
  id?: string;
  /** "curator" (LeaderSelector, the default) or "kazoo" (Election). */
  naming?: ElectionNaming;
  /** ACL of the children (and of the path when it has to be created). Default OPEN_ACL_UNSAFE. */
  acl?: readonly AclEntry[];
  /** ms the connection may stay down before leadership counts as lost. Default 0 (see lock.ts). */
  grace?: number;
}

export interface RunOptions {
  /** Stops: removes the child while waiting; aborts the lease's `stopped` while leading. */
  signal?: AbortSignal;
  /** ms to wait for leadership at most (each time, with requeue): rejects with LeadershipTimeoutError. */
  timeout?: number;
  /** Line up again after the function returns, until the signal aborts or close(). Default false. */
  requeue?: boolean;
}

/** The lease a leader's function gets: the lock's lease, and `stopped` for a requested stop. */
export class LeaderLease extends Lease {
  constructor(
    zk: ZooKeeper,
    path: string,
    stat: Stat,
    options: LeaseOptions,
    /** Aborts when the election is stopped (run's signal, close()): finish up and return. */
    readonly stopped: AbortSignal,
  ) {
    super(zk, path, stat, options);
  }
}

export class Election implements AsyncDisposable {
  readonly path: string;
  readonly id: string;
  private readonly naming: ElectionNaming;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly grace: number;
  private readonly closing = new AbortController();
  private current: Lease | null = null;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: ElectionOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("the election path cannot be the root");
    this.id = checkParticipantId(options.id ?? "");
    this.naming = options.naming ?? "curator";
    if (this.naming !== "curator" && this.naming !== "kazoo") {
      throw new ZkArgumentError(`naming must be "curator" or "kazoo", got ${String(this.naming)}`);
    }
    this.acl = options.acl;
    this.grace = options.grace ?? 0;
    if (!Number.isFinite(this.grace) || this.grace < 0)
      throw new ZkArgumentError("grace must be a number >= 0");
  }

  /** Whether this election's contender leads right now. */
  get hasLeadership(): boolean {
    return this.current?.held === true;
  }

  /**
   * Waits for leadership, runs `fn` with the lease, releases. Resolves with fn's result; with `requeue`,
   * runs it again each time it leads again, until stopped, and resolves undefined.
   */
  run<T>(fn: (lease: LeaderLease) => T | Promise<T>, options?: RunOptions & { requeue?: false }): Promise<T>;
  run(fn: (lease: LeaderLease) => unknown, options: RunOptions & { requeue: true }): Promise<undefined>;
  run<T>(fn: (lease: LeaderLease) => T | Promise<T>, options: RunOptions = {}): Promise<T | undefined> {
    if (typeof fn !== "function") return Promise.reject(new ZkArgumentError("run() needs a function"));
    const problem = timeoutProblem(options.timeout);
    if (problem !== undefined) return Promise.reject(new ZkArgumentError(problem));
    if (this.closing.signal.aborted) {
      return Promise.reject(new ElectionClosedError(`election ${this.path} is closed`));
    }
    const stop = AbortSignal.any(
      options.signal === undefined ? [this.closing.signal] : [this.closing.signal, options.signal],
    );
    const done = this.loop(fn, options, stop);
    this.running.add(done);
    void done.finally(() => this.running.delete(done)).catch(() => undefined);
    return done;
  }

  /** The current leader (the lowest child whose data could be read), or null. */
  async leader(options: { signal?: AbortSignal } = {}): Promise<Participant | null> {
    return (await readParticipants(this.zk, this.path, options.signal))[0] ?? null;
  }

  /** Every contender in line order, the first flagged as leader (kazoo's Election.contenders()). */
  contenders(options: { signal?: AbortSignal } = {}): Promise<Participant[]> {
    return readParticipants(this.zk, this.path, options.signal);
  }

  /** Stops every run(): waiting contenders leave, a leader's `stopped` aborts; resolves when all ended. */
  async close(): Promise<void> {
    this.closing.abort(new ElectionClosedError(`election ${this.path} closed`));
    await Promise.allSettled([...this.running]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async loop<T>(
    fn: (lease: LeaderLease) => T | Promise<T>,
    options: RunOptions,
    stop: AbortSignal,
  ): Promise<T | undefined> {
    for (;;) {
      let lease: LeaderLease;
      try {
        lease = await this.lead(options.timeout, stop);
      } catch (err) {
        if (stop.aborted) {
          if (options.requeue) return undefined;
          throw stop.reason;
        }
        // The session ended while waiting: with requeue and a renewing client, line up again.
        if (options.requeue && err instanceof LockLostError && !this.clientEnded()) {
          await this.reconnected(stop);
          continue;
        }
        throw err;
      }
      this.current = lease;
      let result: T;
      try {
        result = await fn(lease);
      } finally {
        this.current = null;
        await lease.release();
      }
      if (!options.requeue) return result;
      if (stop.aborted) return undefined;
    }
  }

  /** One contender: waits until it leads, checks the child is its session's, returns the lease. */
  private async lead(timeout: number | undefined, stop: AbortSignal): Promise<LeaderLease> {
    const limit = deadline(
      { signal: stop, timeout },
      () => new LeadershipTimeoutError(`no leadership of ${this.path} within ${timeout} ms`),
    );
    const id = randomUUID();
    const contender = new Contender(this.zk, {
      path: this.path,
      prefix: this.naming === "curator" ? curatorName(id, "lock-") : kazooName(id, "__lock__"),
      protectedName: true,
      container: this.naming === "curator",
      acl: this.acl,
      data: this.id,
      markedHandOver: true,
      signal: limit.signal,
    });
    try {
      await contender.run(true);
      // CURATOR-696: a child created by an earlier session is not ours to lead with.
      if (contender.stat!.ephemeralOwner !== this.zk.sessionId) {
        throw new LockLostError(`election child ${contender.nodePath} belongs to an expired session`);
      }
      return new LeaderLease(
        this.zk,
        contender.nodePath!,
        contender.stat!,
        {
          grace: this.grace,
          markRelease: contender.waited,
          watch: "eager",
          what: "leadership",
        },
        stop,
      );
    } catch (err) {
      contender.useSignal(undefined);
      await contender.withdraw();
      throw limit.signal?.aborted ? limit.signal.reason : err;
    } finally {
      limit.done();
    }
  }

  private clientEnded(): boolean {
    const kind = this.zk.state.kind;
    return kind === "closed" || kind === "auth-failed";
  }

  /** Until the client is connected again (a renewed session), or stop aborts. */
  private async reconnected(stop: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const check = () => {
        const kind = this.zk.state.kind;
        if (kind === "connected" || stop.aborted || this.clientEnded()) {
          this.zk.off("state", check);
          stop.removeEventListener("abort", check);
          resolve();
        }
      };
      this.zk.on("state", check);
      stop.addEventListener("abort", check);
      // The state may already be final (expired for good): then give up rather than wait forever.
      setImmediate(() => {
        if (this.zk.state.kind === "expired") {
          this.zk.off("state", check);
          stop.removeEventListener("abort", check);
          resolve();
        }
      });
      check();
    });
    if (this.zk.state.kind !== "connected" && !stop.aborted) {
      throw new ElectionClosedError(`election ${this.path}: the client's session ${this.zk.state.kind}`);
    }
  }
}
