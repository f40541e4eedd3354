/**
 * The caches and the subtree listing against the shared server: the first view, events for every
 * kind of change, the depth-limited forms, a missing root, a connection cut with changes made while
 * away, a new session after expiry, closing, and arguments refused before anything is sent. Each cache
 * test runs with a persistent watch (3.6+) and with one-shot watches (the 3.5 path, on any server).
 */
import { randomUUID } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  CacheClosedError,
  ChildrenCache,
  listSubtree,
  NodeCache,
  TreeCache,
  type TreeCacheEvent,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import { lacks, requires } from "../support/features.js";
import { until, waitForState } from "../support/wait.js";
import { buildTree, checkEvents, differences, record, truthOf, untilEqual } from "./cache-support.js";

const connect = inject("zkConnect");
const target = () => {
  const [host, port] = connect.split(":") as [string, string];
  return { host, port: Number(port) };
};
let zk: ZooKeeper;
let base: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect, { sessionTimeout: 10_000 });
  base = `/cache-test-${randomUUID().slice(0, 8)}`;
  await zk.create(base);
});

afterAll(async () => {
  await zk.deleteRecursive(base);
  await zk.close();
});

const fresh = () => `${base}/${randomUUID().slice(0, 8)}`;
const text = (d: Uint8Array | undefined) => (d === undefined ? undefined : Buffer.from(d).toString());

describe("listSubtree", () => {
  it("lists breadth first, with data and depth when asked", async () => {
    const root = fresh();
    await buildTree(zk, root, 3, 4);
    await zk.create(`${root}/d1/n2/deep`, "deepest");
    const nodes = await listSubtree(zk, root, { concurrency: 2 });
    expect(nodes).toHaveLength(1 + 3 + 12 + 1);
    expect(nodes.map((n) => n.depth)).toEqual([...nodes.map((n) => n.depth)].sort((a, b) => a - b));
    expect(nodes[0]).toMatchObject({ path: root, depth: 0 });
    expect(nodes[0]!.data).toBeUndefined();
    expect([...nodes[0]!.children].sort()).toEqual(["d0", "d1", "d2"]);
    expect(nodes.at(-1)).toMatchObject({ path: `${root}/d1/n2/deep`, depth: 3 });

    const withData = await listSubtree(zk, root, { data: true, maxDepth: 1 });
    expect(withData.map((n) => n.path).sort()).toEqual([root, `${root}/d0`, `${root}/d1`, `${root}/d2`]);
    expect(text(withData.find((n) => n.path === `${root}/d2`)?.data)).toBe("dir 2");
  });

  it("refuses bad arguments before sending, and a missing start node is NoNode", async () => {
    await expect(listSubtree(zk, "relative")).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(listSubtree(zk, base, { concurrency: 0 })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(listSubtree(zk, base, { maxDepth: -1 })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(listSubtree(zk, `${base}/none`)).rejects.toMatchObject({ codeName: "NoNode" });
  });
});

describe("arguments", () => {
  it("are refused with ZkArgumentError before anything is sent", () => {
    expect(() => new TreeCache(zk, "no-slash")).toThrow(ZkArgumentError);
    expect(() => new TreeCache(zk, "/a/")).toThrow(ZkArgumentError);
    expect(() => new TreeCache(zk, "/a", { maxDepth: 1.5 })).toThrow(ZkArgumentError);
    expect(() => new TreeCache(zk, "/a", { concurrency: -1 })).toThrow(ZkArgumentError);
    expect(() => new TreeCache(zk, "/a", { watch: "sometimes" as never })).toThrow(ZkArgumentError);
    expect(() => new TreeCache({} as never, "/a")).toThrow(ZkArgumentError);
    expect(() => new NodeCache(zk, "/a", { maxDepth: 2 } as never)).toThrow(ZkArgumentError);
  });

  it("an aborted signal closes the cache; start() rejects with its reason", async () => {
    const abort = new AbortController();
    abort.abort(new Error("stop"));
    const cache = new TreeCache(zk, base, { signal: abort.signal });
    await expect(cache.start()).rejects.toThrow("stop");
    expect(cache.closed).toBe(true);
  });
});

for (const watch of ["persistent", "oneShot"] as const) {
  describe(`a TreeCache (${watch} watches)`, () => {
    const needs = (ctx: { skip: (c: boolean, n?: string) => void }) => {
      if (watch === "persistent") requires(ctx, "persistentWatches");
    };

    it("loads the tree, then follows creates, sets and deletes, in order per node", async (ctx) => {
      needs(ctx);
      const root = fresh();
      await buildTree(zk, root, 4, 25);
      const truth = await truthOf(zk, root);
      await using cache = new TreeCache(zk, root, { watch });
      const log = record(cache);
      const iterated: TreeCacheEvent[] = [];
      const iterator = cache.events();
      const reading = (async () => {
        for await (const e of iterator) iterated.push(e);
      })();
      await cache.start();
      expect(cache.initialized).toBe(true);
      expect(cache.watchMode).toBe(watch);
      expect(cache.size).toBe(1 + 4 + 100);
      expect(log.filter((e) => e.type === "created")).toHaveLength(105);
      expect(log.at(-1)).toEqual({ type: "initialized" });
      expect(text(cache.get(`${root}/d3/n24`)?.data)).toBe("v0");
      expect(cache.children(`${root}/d0`)).toHaveLength(25);
      expect(await differences(cache, zk, root)).toEqual([]);

      const note = (path: string, stat: { czxid: bigint; mzxid: bigint }) => {
        const set = truth.get(path) ?? new Set<string>();
        set.add(`${stat.czxid}:${stat.mzxid}`);
        truth.set(path, set);
      };
      for (let i = 0; i < 5; i++) note(`${root}/d1/n1`, await zk.setData(`${root}/d1/n1`, `v${i + 1}`));
      note(`${root}/d2/new`, (await zk.create(`${root}/d2/new`, "fresh")).stat);
      note(`${root}/d2/new/child`, (await zk.create(`${root}/d2/new/child`, "deeper")).stat);
      await zk.delete(`${root}/d0/n0`);
      // Deleted and created again at once: a new incarnation.
      await zk.delete(`${root}/d0/n1`);
      note(`${root}/d0/n1`, (await zk.create(`${root}/d0/n1`, "again")).stat);
      await untilEqual(cache, zk, root);
      expect(text(cache.get(`${root}/d1/n1`)?.data)).toBe("v5");
      expect(text(cache.get(`${root}/d2/new/child`)?.data)).toBe("deeper");
      expect(cache.has(`${root}/d0/n0`)).toBe(false);
      expect(checkEvents(log, truth)).toEqual([]);
      expect(log.some((e) => e.type === "deleted" && e.path === `${root}/d0/n0`)).toBe(true);

      // Deleting the whole subtree: every node announced, deepest first.
      log.length = 0;
      await zk.deleteRecursive(root);
      await until("the cache to empty", () => cache.size === 0, 15_000);
      const deleted = log.filter((e) => e.type === "deleted").map((e) => (e as { path: string }).path);
      expect(deleted).toHaveLength(1 + 4 + 100 + 1);
      expect(deleted.at(-1)).toBe(root);
      // Created again: followed again.
      await zk.create(root, "back");
      await zk.create(`${root}/x`, "y");
      await untilEqual(cache, zk, root);
      expect(iterated.length).toBeGreaterThan(200);
      await cache.close();
      await reading; // the iterator ended with the cache
    });

    it.runIf(watch === "persistent")(
      "reads a burst of changes back in a few multiRead requests; a node with large data alone",
      async (ctx) => {
        requires(ctx, "persistentWatches");
        const root = fresh();
        await buildTree(zk, root, 2, 100);
        await zk.create(`${root}/big`, Buffer.alloc(64 * 1024, 1));
        await using own = await ZooKeeper.connect(connect);
        await using cache = new TreeCache(own, root);
        await cache.start();
        const log = record(cache);
        const sent: number[] = [];
        const onRequest = (m: unknown) => {
          const { session, opcode } = m as { session: bigint; opcode: number };
          if (session === own.sessionId) sent.push(opcode);
        };
        subscribe("zkwire:request", onRequest);
        try {
          // One transaction: 201 events in one burst.
          const tx = zk.transaction();
          for (let d = 0; d < 2; d++) for (let n = 0; n < 100; n++) tx.setData(`${root}/d${d}/n${n}`, "v1");
          tx.setData(`${root}/big`, Buffer.alloc(64 * 1024, 2));
          await tx.commit();
          await untilEqual(cache, zk, root);
        } finally {
          unsubscribe("zkwire:request", onRequest);
        }
        expect(log.filter((e) => e.type === "changed")).toHaveLength(201);
        const getData = sent.filter((op) => op === OpCode.getData).length;
        const multiRead = sent.filter((op) => op === OpCode.multiRead).length;
        expect(multiRead).toBeGreaterThanOrEqual(1);
        expect(getData).toBeGreaterThanOrEqual(1); // the 64 KB node is never batched
        expect(getData + multiRead).toBeLessThanOrEqual(20);
        expect(await differences(cache, zk, root)).toEqual([]);
      },
    );

    it("starts on a missing root and follows its creation", async (ctx) => {
      needs(ctx);
      const root = fresh();
      await using cache = new TreeCache(zk, root, { watch });
      await cache.start();
      expect(cache.size).toBe(0);
      await zk.create(root, "r");
      await zk.create(`${root}/a`, "a");
      await zk.create(`${root}/a/b`, "b");
      await untilEqual(cache, zk, root);
      expect(cache.paths().sort()).toEqual([root, `${root}/a`, `${root}/a/b`]);
    });

    it("maxDepth 1 caches the root and its children only", async (ctx) => {
      needs(ctx);
      const root = fresh();
      await buildTree(zk, root, 2, 3);
      await using cache = new TreeCache(zk, root, { watch, maxDepth: 1 });
      await cache.start();
      expect(cache.paths().sort()).toEqual([root, `${root}/d0`, `${root}/d1`]);
      await zk.setData(`${root}/d0/n0`, "ignored");
      await zk.setData(`${root}/d0`, "seen");
      await zk.create(`${root}/d2`, "new");
      await until("d2 cached", () => cache.has(`${root}/d2`), 10_000);
      await untilEqual(cache, zk, root);
      expect(cache.has(`${root}/d0/n0`)).toBe(false);
    });

    it("NodeCache follows one node through creation, change and deletion", async (ctx) => {
      needs(ctx);
      const path = fresh();
      await using node = new NodeCache(zk, path, { watch });
      const log = record(node);
      await node.start();
      expect(node.current).toBeNull();
      const created = await zk.create(path, "one");
      await until("created", () => node.current !== null, 10_000);
      await zk.create(`${path}/child`, "not cached");
      const changed = await zk.setData(path, "two");
      await until("changed", () => text(node.current?.data) === "two", 10_000);
      expect(node.current?.stat.mzxid).toBe(changed.mzxid);
      await zk.delete(`${path}/child`);
      await zk.delete(path);
      await until("deleted", () => node.current === null, 10_000);
      expect(node.size).toBe(0);
      const types = log.map((e) => e.type);
      expect(types[0]).toBe("initialized");
      expect(types.filter((t) => t !== "initialized")).toEqual(["created", "changed", "deleted"]);
      expect(log[1]).toMatchObject({ type: "created", stat: { czxid: created.stat.czxid } });
    });

    it("ChildrenCache follows a node's children and their data", async (ctx) => {
      needs(ctx);
      const path = fresh();
      await zk.create(path);
      await zk.create(`${path}/m-1`, "one");
      await using members = new ChildrenCache(zk, path, { watch });
      await members.start();
      expect(members.names()).toEqual(["m-1"]);
      await zk.create(`${path}/m-2`, "two");
      await zk.create(`${path}/m-2/below`, "ignored");
      await zk.setData(`${path}/m-1`, "uno");
      await until(
        "m-2 and m-1's change",
        () => members.names().length === 2 && text(members.child("m-1")?.data) === "uno",
        10_000,
      );
      await zk.delete(`${path}/m-2/below`);
      await zk.delete(`${path}/m-2`);
      await until("m-2 gone", () => members.names().join() === "m-1", 10_000);
      expect(members.has(`${path}/m-2/below`)).toBe(false);
    });

    it("a connection cut: what changed while away is found again, then resynced", async (ctx) => {
      needs(ctx);
      const root = fresh();
      await buildTree(zk, root, 3, 10);
      const truth = await truthOf(zk, root);
      await using proxy = await FaultProxy.start({ target: target() });
      await using client = await ZooKeeper.connect(proxy.connectString, {
        sessionTimeout: 10_000,
        backoff: [100, 200],
      });
      await using cache = new TreeCache(client, root, { watch });
      const log = record(cache);
      await cache.start();
      proxy.refuse(true);
      proxy.dropAll();
      await waitForState(client, "disconnected", 10_000);
      const note = (path: string, stat: { czxid: bigint; mzxid: bigint }) =>
        truth.set(path, (truth.get(path) ?? new Set()).add(`${stat.czxid}:${stat.mzxid}`));
      note(`${root}/d0/n0`, await zk.setData(`${root}/d0/n0`, "while away"));
      await zk.delete(`${root}/d1/n1`);
      await zk.delete(`${root}/d1/n2`);
      note(`${root}/d1/n2`, (await zk.create(`${root}/d1/n2`, "reborn")).stat);
      note(`${root}/d2/n9/new`, (await zk.create(`${root}/d2/n9/new`, "new")).stat);
      await zk.delete(`${root}/d2/n8`);
      proxy.refuse(false);
      await until("resynced", () => log.some((e) => e.type === "resynced"), 20_000);
      expect(log.find((e) => e.type === "resynced")).toEqual({ type: "resynced", reason: "reconnect" });
      expect(await differences(cache, zk, root)).toEqual([]);
      expect(checkEvents(log, truth)).toEqual([]);
      const after = log.slice(log.findIndex((e) => e.type === "initialized") + 1);
      const seen = after.map((e) => `${e.type} ${(e as { path?: string }).path?.slice(root.length) ?? ""}`);
      expect(seen).toEqual(
        expect.arrayContaining([
          "changed /d0/n0",
          "deleted /d1/n1",
          "deleted /d1/n2",
          "created /d1/n2",
          "created /d2/n9/new",
          "deleted /d2/n8",
          "resynced ",
        ]),
      );
    });

    it("expiry: the consumer is told, and a renewed session rebuilds the view", async (ctx) => {
      needs(ctx);
      const root = fresh();
      await buildTree(zk, root, 2, 5);
      await using proxy = await FaultProxy.start({ target: target() });
      await using client = await ZooKeeper.connect(proxy.connectString, {
        sessionTimeout: 2_000,
        renewSessionOnExpiry: true,
        backoff: [100, 200],
      });
      await using cache = new TreeCache(client, root, { watch });
      const log = record(cache);
      await cache.start();
      proxy.refuse(true);
      proxy.dropAll();
      await until("expired", () => log.some((e) => e.type === "expired"), 20_000);
      await zk.setData(`${root}/d0/n0`, "after expiry");
      await zk.delete(`${root}/d1/n4`);
      proxy.refuse(false);
      await until("rebuilt", () => log.some((e) => e.type === "resynced"), 30_000);
      expect(log.find((e) => e.type === "resynced")).toEqual({ type: "resynced", reason: "session" });
      expect(await differences(cache, zk, root)).toEqual([]);
      // And it follows changes on the new session.
      await zk.setData(`${root}/d0/n1`, "later");
      await untilEqual(cache, zk, root);
    });

    it("close() ends the events and removes the watches; start() rejects if closed first", async (ctx) => {
      needs(ctx);
      const root = fresh();
      await buildTree(zk, root, 1, 3);
      const cache = new TreeCache(zk, root, { watch });
      const starting = cache.start();
      await cache.close();
      await expect(starting).rejects.toBeInstanceOf(CacheClosedError);

      await using client = await ZooKeeper.connect(connect);
      const abort = new AbortController();
      const second = new TreeCache(client, root, { watch, signal: abort.signal });
      await second.start();
      abort.abort();
      await until("closed", () => second.closed, 5_000);
      await zk.setData(`${root}/d0/n0`, "after close");
      await client.sync(root);
      expect(text(second.get(`${root}/d0/n0`)?.data)).toBe("v0");
      if (watch === "oneShot") {
        for (const path of [root, `${root}/d0`, `${root}/d0/n0`]) {
          expect(await client.checkWatches(path, "any")).toBe(false);
        }
      } else if (lacks("checkWatchesByType") === undefined) {
        expect(await client.checkWatches(root, "persistentRecursive")).toBe(false);
      }
    });
  });
}
