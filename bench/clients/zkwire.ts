/**
 * zkwire, through its public API exactly as an application calls it: promises, one call per operation.
 */
import { Lock as ZkLock, ZooKeeper } from "../../src/index.js";
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

  /** zkwire's own recipe (src/recipes/lock.ts), with its defaults. */
  lock(lockPath: string): Lock {
    const lock = new ZkLock(this.zk, lockPath);
    return {
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
    return this.zk.close();
  }
}

export const factory: ClientFactory = {
  async connect(connectString, sessionTimeoutMs) {
    return new ZkwireClient(await ZooKeeper.connect(connectString, { sessionTimeout: sessionTimeoutMs }));
  },
  unsupported() {
    return null;
  },
};
