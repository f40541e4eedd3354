/**
 * zkwire, through its public API exactly as an application calls it: promises, one call per operation.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type WatchedEvent, Lock as ZkLock, ZooKeeper } from "../../src/index.js";
import { releaseMarker } from "../../src/recipes/toolkit/lease.js";
import type { BenchClient, ClientFactory, Done, Lock, Op } from "./client.js";

class ZkwireClient implements BenchClient {
  constructor(private readonly zk: ZooKeeper) {}

  issuer(op: Op, done: Done): () => void {
    const zk = this.zk;
    // Bound once: the per-operation cost is zkwire's promise, not a closure of ours.
    const ok = () => done(null);
    switch (op.kind) {
      case "get": {
        const { path } = op;
        return () => {
          zk.getData(path).then(ok, done);
        };
      }
      case "set": {
        const { path, data } = op;
        return () => {
          zk.setData(path, data).then(ok, done);
        };
      }
      case "create-delete": {
        const { path, data } = op;
        const remove = () => zk.delete(path);
        return () => {
          zk.create(path, data, { mode: "ephemeral" }).then(remove).then(ok, done);
        };
      }
    }
  }

  /**
   * zkwire's own recipe (src/recipes/lock.ts), with its defaults. Notifications are counted from the
   * zkwire:watch channel, this session's only: every watch event the session received.
   */
  lock(lockPath: string): Lock {
    const lock = new ZkLock(this.zk, lockPath);
    if (this.onWatch === null) {
      // One subscription per session, kept until close: lock() is called again for every run.
      const session = this.zk.sessionId;
      this.onWatch = (message: unknown) => {
        const { session: from, zxid, type, path } = message as WatchedEvent & { session: bigint };
        if (from !== session) return;
        this.notifications++;
        // A marked release reaches its successor as two events of one transaction, the marker's creation
        // then the child's deletion (see contender.ts, waitGone): one wake-up. Before 3.9 events carry
        // no zxid, and the marker's name says which deletion follows it.
        const follows =
          zxid >= 0n
            ? zxid === this.lastZxid
            : type === "NodeDeleted" && this.lastCreated === releaseMarker(path);
        if (!follows) this.wakeups++;
        this.lastZxid = zxid;
        this.lastCreated = type === "NodeCreated" ? path : null;
      };
      subscribe("zkwire:watch", this.onWatch);
    }
    const client = this;
    return {
      get notifications() {
        return client.notifications;
      },
      get wakeups() {
        return client.wakeups;
      },
      acquire: (done) =>
        lock.acquire().then(
          (lease) =>
            done(null, {
              release: (released: Done) => lease.release().then(() => released(null), released),
            }),
          (error: unknown) => done(error, null),
        ),
    };
  }

  close(): Promise<void> {
    if (this.onWatch !== null) unsubscribe("zkwire:watch", this.onWatch);
    return this.zk.close();
  }

  private notifications = 0;
  private wakeups = 0;
  private lastZxid = -1n;
  private lastCreated: string | null = null;
  private onWatch: ((message: unknown) => void) | null = null;
}

function zkwireFactory(readPacing: boolean): ClientFactory {
  return {
    async connect(connectString, sessionTimeoutMs) {
      return new ZkwireClient(
        await ZooKeeper.connect(connectString, { sessionTimeout: sessionTimeoutMs, readPacing }),
      );
    },
    unsupported() {
      return null;
    },
  };
}

export const factory = zkwireFactory(true);
/** zkwire reading every reply at once (`readPacing: false`), for comparison. */
export const unpacedFactory = zkwireFactory(false);
