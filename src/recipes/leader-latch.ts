/**
 * LeaderLatch: one of many participants leads, until it closes, dies or loses its session. Curator's
 * LeaderLatch layout, so Java (Curator) and Node (zkwire) participants can share one latch:
 *
 *   /services/scheduler/leader              (a container, created on first use, as Curator does)
 *     _c_6f1e...-latch-0000000007   data "node-a"   <- leader: the lowest sequence
 *     _c_93ab...-latch-0000000008   data "java-b"   <- watches 07 only
 *     _c_0d77...-latch-0000000011   data "node-c"   <- watches 08 only
 *
 *   const latch = new LeaderLatch(zk, "/services/scheduler/leader", { id: "node-a" }).start();
 *   await latch.awaitLeadership({ timeout: 30_000 });
 *   for await (const leading of latch) ...   // true / false as leadership comes and goes
 *
 * Edge cases, and why:
 * - A participant leads only once its own child's ephemeralOwner is its current session (CURATOR-696,
 *   two leaders after a reconnect race): a child left from an expired session can still be listed,
 *   even first, until the server removes it. Such a child is deleted and the participant re-enters.
 * - Suspended (disconnected) means not leader, at once: while disconnected the participant cannot know
 *   whether its session lives (Curator's default error policy does the same). A reconnect with the same
 *   session re-reads the children and does not reset: the child is still there, and so is the place in
 *   line (Curator 5 re-reads too; resetting would send a leader to the back on every blip).
 * - Lost (the session expired) means a new child: the old one is gone with its session. That needs a
 *   client that renews its session (`renewSessionOnExpiry`); without one the latch ends, and waiters of
 *   awaitLeadership are rejected with ElectionClosedError.
 * - A leader watches its own child (one exists watch per leadership): deleted by someone else means
 *   not leader, and the participant re-enters.
 * - The create is protected (`_c_<uuid>-`): after a connection loss during the create the participant
 *   finds its child by the id instead of leaving an orphan ahead of everyone (Curator's protection).
 * - Read-only servers cannot take the create; a participant connected to one waits, not leading.
 * - close() deletes the child; with `notify` a leader gets its notLeader event first (Curator's
 *   CloseMode.NOTIFY_LEADER), without it (the default, CloseMode.SILENT) no event is sent.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper } from "../client/client.js";
import { ElectionClosedError, LeadershipTimeoutError, LockLostError, ZkArgumentError } from "../errors.js";
import { validatePath } from "../session/paths.js";
import { ConnectionView } from "./connection.js";
import { abortable, deadline } from "./toolkit/abort.js";
import { Broadcast } from "./toolkit/broadcast.js";
import { Contender } from "./toolkit/contender.js";
import { checkParticipantId, type Participant, readParticipants } from "./toolkit/leadership.js";
import { retryOnConnectionLoss } from "./toolkit/retry.js";
import { curatorName } from "./toolkit/sequence.js";

export interface LeaderLatchOptions {
  /** This participant's id, stored as its child's data (Curator's `id`). Default "". */
  id?: string;
  /** ACL of the child (and of the latch path when it has to be created). Default OPEN_ACL_UNSAFE. */
  acl?: readonly AclEntry[];
  /** Closes the latch (silently) when it aborts. */
  signal?: AbortSignal;
}

interface LatchEvents {
  /** This participant became leader. */
  isLeader: [];
  /** This participant stopped being leader. */
  notLeader: [];
}

type LatchState = "latent" | "started" | "closed";

export class LeaderLatch extends EventEmitter<LatchEvents> implements AsyncDisposable {
  readonly path: string;
  readonly id: string;
  private state: LatchState = "latent";
  private leading = false;
  /** Why the latch ended by itself (its client ended), for waiters. */
  private failure: Error | null = null;
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly external: AbortSignal | undefined;
  private contender: Contender;
  private view: ConnectionView | null = null;
  /** Aborted when the connection is suspended or lost, or on close: ends the current attempt. */
  private epoch: AbortController | null = null;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly updates = new Broadcast<boolean>();
  private readonly waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private readonly onExternalAbort = () => void this.close();

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: LeaderLatchOptions = {},
  ) {
    super();
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("the latch path cannot be the root");
    this.id = checkParticipantId(options.id ?? "");
    this.acl = options.acl;
    this.external = options.signal;
    this.contender = this.newContender();
  }

  /** Joins the election. Returns the latch, so that `await using latch = new LeaderLatch(...).start()`. */
  start(): this {
    if (this.state !== "latent") throw new ZkArgumentError("a LeaderLatch can be started only once");
    this.external?.throwIfAborted();
    this.state = "started";
    this.external?.addEventListener("abort", this.onExternalAbort, { once: true });
    this.view = new ConnectionView(this.zk);
    this.view.on("change", (state) => this.connectionChanged(state));
    this.loopDone = this.loop();
    return this;
  }

  /** Whether this participant leads right now. */
  get hasLeadership(): boolean {
    return this.state === "started" && this.leading;
  }

  /** This participant's child, or null while it has none. */
  get nodePath(): string | null {
    return this.contender.nodePath;
  }

  /**
   * Resolves once this participant leads (at once if it does). Rejects with LeadershipTimeoutError
   * after `timeout` ms, with the signal's reason when it aborts, with ElectionClosedError on close.
   */
  async awaitLeadership(options: { signal?: AbortSignal; timeout?: number } = {}): Promise<void> {
    if (options.timeout !== undefined && !(Number.isFinite(options.timeout) && options.timeout >= 0)) {
      throw new ZkArgumentError(`timeout must be a number of ms >= 0, got ${String(options.timeout)}`);
    }
    if (this.state === "latent") throw new ZkArgumentError("start() the latch first");
    if (this.hasLeadership) return;
    if (this.state === "closed")
      throw this.failure ?? new ElectionClosedError(`latch ${this.path} is closed`);
    const stop = deadline(
      options,
      () => new LeadershipTimeoutError(`no leadership of ${this.path} within ${options.timeout} ms`),
    );
    let waiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
    try {
      await abortable(
        new Promise<void>((resolve, reject) => {
          waiter = { resolve, reject };
          this.waiters.add(waiter);
        }),
        stop.signal,
      );
    } finally {
      if (waiter !== undefined) this.waiters.delete(waiter);
      stop.done();
    }
  }

  /** Leadership changes from now on (true: became leader, false: stopped); ends on close. */
  changes(signal?: AbortSignal): AsyncIterableIterator<boolean> {
    return this.updates.subscribe(signal);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<boolean> {
    return this.changes();
  }

  /** The current leader (the lowest child whose data could be read), or null when there is none. */
  async leader(options: { signal?: AbortSignal } = {}): Promise<Participant | null> {
    return (await readParticipants(this.zk, this.path, options.signal))[0] ?? null;
  }

  /** Every participant, in line order, the first flagged as leader. */
  participants(options: { signal?: AbortSignal } = {}): Promise<Participant[]> {
    return readParticipants(this.zk, this.path, options.signal);
  }

  /**
   * Leaves the election: deletes the child. With `notify`, a leader's notLeader event (and a false in
   * changes()) comes first; without, none. Idempotent.
   */
  async close(options: { notify?: boolean } = {}): Promise<void> {
    if (this.state === "closed") return this.loopDone;
    const wasStarted = this.state === "started";
    this.state = "closed";
    this.external?.removeEventListener("abort", this.onExternalAbort);
    if (options.notify) this.setLeadership(false);
    else this.leading = false;
    this.view?.close();
    this.epoch?.abort(new ElectionClosedError(`latch ${this.path} closed`));
    this.wake?.();
    this.rejectWaiters(new ElectionClosedError(`latch ${this.path} closed`));
    this.updates.end();
    if (!wasStarted) return;
    await this.loopDone;
    // The attempt is over (its calls aborted): remove the child, found by id if its create was cut.
    this.contender.useSignal(undefined);
    await this.contender.withdraw().catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------

  private newContender(): Contender {
    return new Contender(this.zk, {
      path: this.path,
      prefix: curatorName(randomUUID(), "latch-"),
      protectedName: true,
      container: true,
      acl: this.acl,
      data: this.id,
    });
  }

  private get connected(): boolean {
    const s = this.view?.state;
    return s === "connected" || s === "reconnected";
  }

  /** One attempt per connection: ended (its epoch aborted) when the connection is suspended or lost. */
  private async loop(): Promise<void> {
    while (this.state === "started") {
      if (!this.connected) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      const epoch = new AbortController();
      this.epoch = epoch;
      this.contender.useSignal(epoch.signal);
      try {
        await this.attempt(epoch.signal);
      } catch (err) {
        if (this.state !== "started") continue;
        if (epoch.signal.aborted) {
          // A create cut by the abort may still have happened: find that child by its id and remove it,
          // or it would stand in line (ahead of our next one) until the session ends.
          if (this.contender.nodePath === null) await this.forget();
          continue;
        }
        this.setLeadership(false);
        if (err instanceof LockLostError) {
          // Our child vanished, or the session ended while we waited: start over with a new child.
          await this.forget();
          continue;
        }
        // Anything else (the server refused the create, say): try again shortly, not in a tight loop.
        await new Promise((r) => setTimeout(r, Math.min(1_000, this.zk.sessionTimeout / 3)));
      }
    }
  }

  /** Waits in line, leads while the child lives; returns to re-check, throws to start over. */
  private async attempt(signal: AbortSignal): Promise<void> {
    for (;;) {
      await this.contender.run(true);
      // CURATOR-696: a child created by an earlier session is not ours to lead with.
      if (this.contender.stat!.ephemeralOwner !== this.zk.sessionId) {
        await this.forget();
        continue;
      }
      const nodePath = this.contender.nodePath!;
      const { stat, watch } = await retryOnConnectionLoss(
        () => this.zk.exists(nodePath, { watch: true, signal }),
        signal,
      );
      if (stat === null) throw new LockLostError(`latch child ${nodePath} is gone`);
      this.setLeadership(true);
      const event = await abortable(watch, signal);
      if (event.type === "NodeDeleted") {
        this.setLeadership(false);
        throw new LockLostError(`latch child ${nodePath} was deleted`);
      }
      if (event.type === "None") {
        this.setLeadership(false);
        throw new LockLostError(`session ended (${event.state})`);
      }
      // Its data changed: still ours, still first; look again.
    }
  }

  /** Drops the current child (deleting it if it still exists) so the next attempt creates a new one. */
  private async forget(): Promise<void> {
    const old = this.contender;
    this.contender = this.newContender();
    old.useSignal(undefined);
    await old.withdraw().catch(() => undefined);
  }

  private connectionChanged(state: string): void {
    if (this.state !== "started") return;
    if (state === "suspended" || state === "lost" || state === "read-only") {
      this.setLeadership(false);
      this.epoch?.abort(new Error(`connection ${state}`));
    }
    if (state === "lost") {
      // A renewed session follows at once (renewSessionOnExpiry); otherwise the client is over.
      queueMicrotask(() => {
        const kind = this.zk.state.kind;
        if (kind === "expired" || kind === "closed" || kind === "auth-failed") this.end(kind);
        else void this.forget(); // the child went with the old session
      });
      return;
    }
    if (state === "connected" || state === "reconnected") this.wake?.();
  }

  /** The client ended: so does the latch. */
  private end(kind: string): void {
    this.failure = new ElectionClosedError(`latch ${this.path} ended: the client's session ${kind}`);
    this.rejectWaiters(this.failure);
    this.state = "closed";
    this.external?.removeEventListener("abort", this.onExternalAbort);
    this.view?.close();
    this.updates.end();
    this.wake?.();
  }

  private setLeadership(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.emit(leading ? "isLeader" : "notLeader");
    this.updates.publish(leading);
    if (leading) {
      for (const w of this.waiters) w.resolve();
      this.waiters.clear();
    }
  }

  private rejectWaiters(err: Error): void {
    for (const w of this.waiters) w.reject(err);
    this.waiters.clear();
  }
}
