/**
 * The `zookeeper` npm package: the Apache ZooKeeper C client (single-threaded library, driven from
 * libuv) behind a Nan binding. It needs a C build at install time (into bench/native, see load()), so
 * loading it may fail; the failure's message is the reason the results list it as skipped.
 *
 * Called through its callback methods (a_get, a_set, ...), the package's own low-level API; its promise
 * methods are wrappers over these.
 */
import { createRequire } from "node:module";
import { resolve } from "node:path";
import type { BenchClient, ClientFactory, Done, Lock, Op } from "./client.js";
import { PredecessorLock, type WatchingClient } from "./predecessor-lock.js";

type RcCallback = (rc: number, error: string, ...results: unknown[]) => void;

interface NativeZk {
  init(config: object): void;
  once(event: "connect" | "close", listener: () => void): void;
  on(event: "error", listener: (err: unknown) => void): void;
  close(): void;
  a_get(path: string, watch: boolean, cb: RcCallback): void;
  a_set(path: string, data: Buffer, version: number, cb: RcCallback): void;
  a_create(path: string, data: Buffer | string, flags: number, cb: RcCallback): void;
  a_delete_(path: string, version: number, cb: RcCallback): void;
  a_get_children(path: string, watch: boolean, cb: RcCallback): void;
  aw_exists(path: string, watcher: () => void, cb: RcCallback): void;
}

interface NativeModule {
  new (config: object): NativeZk;
  constants: {
    ZOK: number;
    ZNONODE: number;
    ZOO_EPHEMERAL: number;
    ZOO_EPHEMERAL_SEQUENTIAL: number;
    ZOO_LOG_LEVEL_ERROR: number;
  };
}

/**
 * From bench/native, its own little package: as an optional dependency of zkwire it would be installed
 * for zkwire's users too. `npm run bench` installs it there first (prebench).
 */
function load(): NativeModule {
  const require = createRequire(resolve(process.cwd(), "bench/native/package.json"));
  return require("zookeeper") as NativeModule;
}

class NativeBenchClient implements BenchClient {
  constructor(
    private readonly zk: NativeZk,
    private readonly lib: NativeModule,
  ) {}

  issuer(op: Op, done: Done): () => void {
    const zk = this.zk;
    const ZOK = this.lib.constants.ZOK;
    const cb: RcCallback = (rc, error) => done(rc === ZOK ? null : new Error(`rc ${rc}: ${error}`));
    switch (op.kind) {
      case "get": {
        const { path } = op;
        return () => zk.a_get(path, false, cb);
      }
      case "set": {
        const { path, data } = op;
        return () => zk.a_set(path, data, -1, cb);
      }
      case "create-delete": {
        const { path, data } = op;
        const ephemeral = this.lib.constants.ZOO_EPHEMERAL;
        const created: RcCallback = (rc, error) => {
          if (rc !== ZOK) done(new Error(`rc ${rc}: ${error}`));
          else zk.a_delete_(path, -1, cb);
        };
        return () => zk.a_create(path, data, ephemeral, created);
      }
    }
  }

  lock(lockPath: string): Lock {
    const zk = this.zk;
    const { ZOK, ZNONODE, ZOO_EPHEMERAL_SEQUENTIAL } = this.lib.constants;
    const fail = (rc: number, error: string) => (rc === ZOK ? null : new Error(`rc ${rc}: ${error}`));
    const ops: WatchingClient = {
      createEphemeralSequential: (prefix, cb) =>
        zk.a_create(prefix, "", ZOO_EPHEMERAL_SEQUENTIAL, (rc, error, path) =>
          cb(fail(rc, error), path as string),
        ),
      getChildren: (path, cb) =>
        zk.a_get_children(path, false, (rc, error, children) => cb(fail(rc, error), children as string[])),
      existsWatch: (path, watcher, cb) =>
        zk.aw_exists(path, watcher, (rc, error) => cb(rc === ZNONODE ? null : fail(rc, error), rc === ZOK)),
      delete: (path, cb) => zk.a_delete_(path, -1, (rc, error) => cb(fail(rc, error))),
    };
    return new PredecessorLock(ops, lockPath);
  }

  close(): Promise<void> {
    // close() is synchronous in the binding: it sends closeSession and frees the handle.
    this.zk.close();
    return Promise.resolve();
  }
}

export const factory: ClientFactory = {
  connect(connectString, sessionTimeoutMs) {
    return new Promise((resolve, reject) => {
      let lib: NativeModule;
      try {
        lib = load();
      } catch (err) {
        reject(err);
        return;
      }
      const zk = new lib({
        connect: connectString,
        timeout: sessionTimeoutMs,
        // The C client logs every connection event to stderr at INFO; errors are enough here.
        debug_level: lib.constants.ZOO_LOG_LEVEL_ERROR,
        host_order_deterministic: false,
      });
      const timer = setTimeout(() => {
        reject(new Error(`zookeeper (native): no session within ${sessionTimeoutMs} ms`));
      }, sessionTimeoutMs);
      zk.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      zk.once("connect", () => {
        clearTimeout(timer);
        resolve(new NativeBenchClient(zk, lib));
      });
      zk.init({});
    });
  },
  unsupported() {
    return null;
  },
};
