/**
 * node-zookeeper-client 1.1.3 (npm), through its public callback API. The package ships no types; the
 * few signatures used here are declared below from its README and index.js.
 */
import { createRequire } from "node:module";
import type { BenchClient, ClientFactory, Done, Lock, Op } from "./client.js";
import { PredecessorLock, type WatchingClient } from "./predecessor-lock.js";

type Callback = (error: Error | null, ...results: unknown[]) => void;

interface NzcClient {
  connect(): void;
  close(): void;
  once(event: "connected" | "disconnected" | "expired" | "authenticationFailed", listener: () => void): void;
  getData(path: string, callback: Callback): void;
  setData(path: string, data: Buffer, version: number, callback: Callback): void;
  create(path: string, data: Buffer | null, acls: unknown, mode: number, callback: Callback): void;
  remove(path: string, version: number, callback: Callback): void;
  getChildren(path: string, callback: Callback): void;
  exists(path: string, watcher: (event: unknown) => void, callback: Callback): void;
}

export interface NzcModule {
  createClient(
    connectionString: string,
    options: { sessionTimeout: number; spinDelay: number; retries: number },
  ): NzcClient;
  ACL: { OPEN_ACL_UNSAFE: unknown };
  CreateMode: { EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
  Exception: { NO_NODE: number };
}

const require = createRequire(import.meta.url);
const nzc = require("node-zookeeper-client") as NzcModule;

class NzcBenchClient implements BenchClient {
  constructor(private readonly client: NzcClient) {}

  issuer(op: Op, done: Done): () => void {
    const client = this.client;
    // Its callbacks pass (error, ...results): the error position is all the benchmark needs.
    const cb: Callback = (error) => done(error);
    switch (op.kind) {
      case "get": {
        const { path } = op;
        return () => client.getData(path, cb);
      }
      case "set": {
        const { path, data } = op;
        return () => client.setData(path, data, -1, cb);
      }
      case "create-delete": {
        const { path, data } = op;
        const created: Callback = (error) => {
          if (error !== null) done(error);
          else client.remove(path, -1, cb);
        };
        return () => client.create(path, data, nzc.ACL.OPEN_ACL_UNSAFE, nzc.CreateMode.EPHEMERAL, created);
      }
    }
  }

  lock(lockPath: string): Lock {
    const client = this.client;
    const ops: WatchingClient = {
      createEphemeralSequential: (prefix, cb) =>
        client.create(
          prefix,
          null,
          nzc.ACL.OPEN_ACL_UNSAFE,
          nzc.CreateMode.EPHEMERAL_SEQUENTIAL,
          (err, path) => cb(err, path as string),
        ),
      getChildren: (path, cb) => client.getChildren(path, (err, children) => cb(err, children as string[])),
      existsWatch: (path, watcher, cb) => client.exists(path, watcher, (err, stat) => cb(err, stat != null)),
      delete: (path, cb) => client.remove(path, -1, cb),
    };
    return new PredecessorLock(ops, lockPath);
  }

  close(): Promise<void> {
    // close() sends closeSession and ends the socket; it takes no callback. The session state event
    // that follows is "disconnected".
    return new Promise((resolve) => {
      this.client.once("disconnected", resolve);
      this.client.close();
    });
  }
}

export const factory: ClientFactory = {
  connect(connectString, sessionTimeoutMs) {
    return new Promise((resolve, reject) => {
      const client = nzc.createClient(connectString, {
        sessionTimeout: sessionTimeoutMs,
        spinDelay: 100,
        retries: 0,
      });
      const timer = setTimeout(() => {
        client.close();
        reject(new Error(`node-zookeeper-client: no session within ${sessionTimeoutMs} ms`));
      }, sessionTimeoutMs);
      client.once("connected", () => {
        clearTimeout(timer);
        resolve(new NzcBenchClient(client));
      });
      client.connect();
    });
  },
  unsupported() {
    return null;
  },
};
