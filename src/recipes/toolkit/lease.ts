/**
 * The lease: what a recipe hands out while its child holds something (a lock, leadership, a permit).
 *
 * - Loss: `signal` aborts when the hold can no longer be guaranteed: the session expired or ended, the
 *   child was deleted by someone else, or the connection stayed down past `grace`. The grace is capped:
 *   the signal always fires by two thirds of the session timeout after the server was last heard from
 *   (the client notices a silent connection at two thirds; the server expires the session at the full
 *   timeout, and another contender may take over right after).
 * - Watch on its own child: an exists watch, so a deletion by someone else (an operator, Curator's
 *   revocation, a test) ends the hold. It costs the server a request per hold, so by default it starts
 *   only when someone asks (reads `signal` or `held`); a recipe that must always know (the election)
 *   asks for it eagerly. A deletion before that is still found: exists answers null when it starts, and
 *   guarded writes are refused.
 * - Guarded writes: `transaction()` checks the child in the same multi, so a write applies only while
 *   the child exists.
 * - Fencing token: the child's creation zxid. A later holder's child was created after every earlier
 *   holder's (it could not hold until they were gone), so tokens strictly increase from holder to holder.
 * - Release: deletes the child. A `markRelease` lease deletes it in one transaction with the creation
 *   and deletion of its release marker (`releaseMarker`), a sibling path no one else ever creates. A
 *   zkwire successor watching for that marker hears its creation, then the child's deletion, and knows
 *   the child held until it went, on every server line (see Contender.waitGone). No listing ever shows
 *   the marker: it is gone in the same transaction that made it.
 */
import type { ZooKeeper } from "../../client/client.js";
import type { Transaction } from "../../client/transaction.js";
import { LockLostError, ZooKeeperError } from "../../errors.js";
import { ErrorCode } from "../../protocol/constants.js";
import type { Stat } from "../../protocol/records/stat.js";
import type { SessionState } from "../../session/state.js";
import type { WatchedEvent } from "../../session/watches.js";
import { sequenceOf } from "./sequence.js";
import { onSessionState } from "./session-state.js";

// The error lives with every other zkwire error (src/errors.ts); its name stays importable from here.
export { LockLostError };

export interface LeaseOptions {
  /** ms the connection may stay down before the hold counts as lost. Default 0 (see the header). */
  grace?: number;
  /** Release with the marker transaction (the lease waited: others likely wait behind). Default false. */
  markRelease?: boolean;
  /** When to start the exists watch on the child: on first use of signal/held (default) or at once. */
  watch?: "lazy" | "eager";
  /** What is held, for messages: "lock" (default), "leadership", ... */
  what?: string;
}

/**
 * The release marker of a child: created and deleted with the child in one transaction when a lease that
 * waited releases it. The name ends in a letter, so it is never taken for a contender's child, and it is
 * the child's own name extended, so no other child's release can make it.
 */
export function releaseMarker(childPath: string): string {
  return `${childPath}-released`;
}

/** Why a marked release can fail while a plain delete would not. */
const MARKER_REFUSED = new Set<number>([ErrorCode.NoAuth, ErrorCode.NodeExists, ErrorCode.QuotaExceeded]);

/** A held child. Release it (or let `await using` do it); watch `signal` for loss. */
export class Lease implements AsyncDisposable {
  /** The child, e.g. /locks/orders/_c_6f1e...-lock-0000000041. */
  readonly path: string;
  /** Fencing token: the child's creation zxid, strictly increasing from holder to holder. */
  readonly token: bigint;
  /** The child's sequence number. */
  readonly sequence: number;
  /** Made on first use of `signal`: most leases are released without anyone reading it. */
  private controller: AbortController | null = null;
  private lostReason: LockLostError | null = null;
  private releasing: Promise<void> | null = null;
  private graceTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private readonly stopStates: () => void;
  private readonly grace: number;
  private readonly markRelease: boolean;
  private readonly what: string;

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    stat: Stat,
    options: LeaseOptions = {},
  ) {
    this.path = path;
    this.token = stat.czxid;
    this.sequence = sequenceOf(path);
    this.grace = options.grace ?? 0;
    this.markRelease = options.markRelease ?? false;
    this.what = options.what ?? "lock";
    this.stopStates = onSessionState(zk, (state) => this.stateChanged(state));
    this.stateChanged(zk.state);
    if (options.watch === "eager") this.startWatching();
  }

  /** Aborts when the hold can no longer be guaranteed; its reason is a LockLostError. */
  get signal(): AbortSignal {
    this.startWatching();
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.lostReason !== null) this.controller.abort(this.lostReason);
    }
    return this.controller.signal;
  }

  /** True until released or lost (a deletion by someone else is seen once the watch runs: see header). */
  get held(): boolean {
    this.startWatching();
    return this.lostReason === null && this.releasing === null;
  }

  /**
   * A transaction that applies only while this lease still holds (its child still exists); otherwise
   * it rejects with LockLostError and nothing is applied.
   */
  transaction(): Transaction {
    return this.zk.transaction(
      [{ path: this.path }],
      (code, path) =>
        new LockLostError(
          `the ${this.what} is no longer held: ${path} ${code === ErrorCode.NoNode ? "is gone" : `(${code})`}`,
        ),
    );
  }

  /** setData guarded by the lease (see transaction()); returns the node's new Stat. */
  async setData(path: string, data: Uint8Array | string, options: { version?: number } = {}): Promise<Stat> {
    const [result] = await this.transaction().setData(path, data, options.version).commit();
    return result.stat;
  }

  /** Gives the hold up (deletes the child). Idempotent; the signal does not fire for a release. */
  release(): Promise<void> {
    if (this.releasing === null) {
      this.stopWatching();
      this.releasing = this.deleteChild();
    }
    return this.releasing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Deletes the child: marked (the marker made and removed in the same transaction) when asked for,
   * else a plain delete. Where the marker cannot be made (the path's ACL refuses creating it, a quota,
   * a marker someone else made), a plain delete; a successor then reads the children, as with any other
   * client's release.
   */
  private async deleteChild(): Promise<void> {
    let marked = this.markRelease;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        if (marked) {
          const marker = releaseMarker(this.path);
          await this.zk.transaction().create(marker).delete(marker).delete(this.path).commit();
        } else await this.zk.delete(this.path);
        return;
      } catch (err) {
        if (err instanceof ZooKeeperError && marked && MARKER_REFUSED.has(err.code)) {
          marked = false;
          continue;
        }
        if (!(err instanceof ZooKeeperError)) throw err;
        // Gone already (lost, or the session ended), or the client closed: nothing left to release.
        if (err.code === ErrorCode.NoNode || err.isSessionExpired || err.codeName === "ClientClosed") return;
        if (!err.isConnectionLoss) throw err;
      }
    }
  }

  /** Ends the hold as lost (for recipes that learn of a loss themselves). No-op once released or lost. */
  lose(reason: string): void {
    if (this.releasing !== null || this.lostReason !== null) return;
    this.stopWatching();
    this.lostReason = new LockLostError(`${this.what} ${this.path} lost: ${reason}`);
    this.controller?.abort(this.lostReason);
  }

  private stopWatching(): void {
    clearTimeout(this.graceTimer);
    this.stopStates();
  }

  private stateChanged(state: SessionState): void {
    switch (state.kind) {
      case "connected":
      case "read-only":
        clearTimeout(this.graceTimer);
        this.graceTimer = undefined;
        return;
      case "disconnected": {
        if (this.graceTimer !== undefined) return;
        // Never later than two thirds of the session timeout after the server was last heard from.
        const limit = (this.zk.sessionTimeout * 2) / 3 - this.zk.msSinceServerContact;
        const wait = Math.max(0, Math.min(this.grace, limit));
        if (wait === 0) {
          this.lose(`connection lost (${state.reason})`);
          return;
        }
        this.graceTimer = setTimeout(() => this.lose(`connection down for ${Math.round(wait)} ms`), wait);
        return;
      }
      case "expired":
        this.lose("the session expired");
        return;
      case "auth-failed":
      case "closed":
        this.lose(`the session ended (${state.kind})`);
        return;
    }
  }

  private startWatching(): void {
    if (this.watching) return;
    this.watching = true;
    void this.watchOwnNode();
  }

  private get live(): boolean {
    return this.lostReason === null && this.releasing === null;
  }

  /** Watches the child: deleted by someone else means the hold is gone. */
  private async watchOwnNode(): Promise<void> {
    while (this.live) {
      let result: { stat: Stat | null; watch: Promise<WatchedEvent> };
      try {
        result = await this.zk.exists(this.path, { watch: true });
      } catch (err) {
        if (err instanceof ZooKeeperError && err.isConnectionLoss) continue;
        return; // the session is over: stateChanged reports it
      }
      if (result.stat === null) {
        this.lose("its node was deleted");
        return;
      }
      const event = await result.watch;
      if (event.type === "NodeDeleted") {
        this.lose("its node was deleted");
        return;
      }
      if (event.type === "None") return; // final event: stateChanged reports it
    }
  }
}
