/**
 * Queue (Curator SimpleDistributedQueue's layout) and LockingQueue (kazoo LockingQueue's layout) against
 * a real ZooKeeper: order, waiting, timeouts and abort, the at-least-once hand-back of a held item, and
 * the argument checks made before sending.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LockingQueue, Queue, RecipeTimeoutError, ZkArgumentError, ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { giveUpMidWrite, proxyTo } from "../support/proxy.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect);
  root = `/queue-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root);
  await zk.close();
});

const node = () => `${root}/${randomUUID().slice(0, 8)}`;
const text = (data: Uint8Array | null) => (data === null ? null : Buffer.from(data).toString());

describe("Queue", () => {
  it("puts qn-<seq> children in a container and takes them in order", async () => {
    const path = node();
    await using queue = new Queue(zk, path);
    for (const item of ["a", "b", "c"]) await queue.put(item);
    const { children } = await zk.getChildren(path);
    expect(children.sort()).toEqual(["qn-0000000000", "qn-0000000001", "qn-0000000002"]);
    expect((await zk.exists(path))?.ephemeralOwner).toBe(0n);
    expect(text(await queue.peek())).toBe("a");
    expect(await queue.size()).toBe(3);
    expect(text(await queue.take())).toBe("a");
    expect(text(await queue.poll())).toBe("b");
    expect(text(await queue.take())).toBe("c");
    expect(await queue.poll()).toBeNull();
    expect(await queue.peek()).toBeNull();
  });

  it("take() waits for an item put by another client", async () => {
    const path = node();
    await using queue = new Queue(zk, path);
    const producer = await ZooKeeper.connect(connect);
    try {
      const taking = queue.take({ timeout: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await new Queue(producer, path).put("late");
      expect(text(await taking)).toBe("late");
    } finally {
      await producer.close();
    }
  });

  it("every item is taken exactly once by competing consumers", async () => {
    const path = node();
    const clients = await Promise.all(Array.from({ length: 3 }, () => ZooKeeper.connect(connect)));
    try {
      const producer = new Queue(zk, path);
      const taken: string[] = [];
      const consumers = clients.map(async (client) => {
        const queue = new Queue(client, path);
        for (;;) {
          const item = await queue.poll({ timeout: 4_000 });
          if (item === null) return;
          taken.push(text(item)!);
        }
      });
      for (let i = 0; i < 60; i++) await producer.put(`item-${i}`);
      await Promise.all(consumers);
      expect(taken.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `item-${i}`).sort());
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("ends a wait at its timeout and on abort, and creates its path again after a sweep", async () => {
    const path = node();
    await using queue = new Queue(zk, path);
    await expect(queue.take({ timeout: 300 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    expect(await queue.poll({ timeout: 300 })).toBeNull();
    const abort = new AbortController();
    const waiting = queue.take({ signal: abort.signal });
    abort.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    await zk.delete(path);
    await queue.put("again");
    expect(text(await queue.take({ timeout: 5_000 }))).toBe("again");
  });

  it("a take whose caller gives up while the delete is in flight still hands the item over", async () => {
    const path = node();
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString);
    await using queue = new Queue(client, path);
    await queue.put("x");
    const abort = new AbortController();
    void giveUpMidWrite(proxy, OpCode.delete, () => abort.abort(new Error("gave up")));
    // The item left the queue with that delete: it goes to this caller, late, or it would be lost.
    expect(text(await queue.take({ signal: abort.signal }))).toBe("x");
    expect(await queue.size()).toBe(0);
  });

  it("refuses bad arguments before sending anything", async () => {
    expect(() => new Queue(zk, "relative")).toThrow(ZkArgumentError);
    expect(() => new Queue(zk, "/")).toThrow(ZkArgumentError);
    const path = node();
    const queue = new Queue(zk, path);
    await expect(queue.put(42 as unknown as string)).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(queue.take({ timeout: -1 })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(queue.take({ signal: "no" as unknown as AbortSignal })).rejects.toBeInstanceOf(
      ZkArgumentError,
    );
    expect(await zk.exists(path)).toBeNull();
  });
});

describe("LockingQueue", () => {
  it("has kazoo's layout: entries/entry-<priority>-<seq>, an ephemeral taken/ marker with the id", async () => {
    const path = node();
    await using queue = new LockingQueue(zk, path);
    await queue.put("low", { priority: 500 });
    await queue.put("high", { priority: 7 });
    const { children } = await zk.getChildren(`${path}/entries`);
    expect(children.sort()).toEqual(["entry-007-0000000001", "entry-500-0000000000"]);
    const item = (await queue.get())!;
    expect(text(item.data)).toBe("high");
    expect(item.name).toBe("entry-007-0000000001");
    const marker = await zk.getData(`${path}/taken/${item.name}`);
    expect(text(marker.data)).toBe(queue.id);
    expect(marker.stat.ephemeralOwner).toBe(zk.sessionId);
    expect(await item.holds()).toBe(true);
    expect(await item.consume()).toBe(true);
    expect(await zk.exists(`${path}/entries/${item.name}`)).toBeNull();
    expect(await zk.exists(`${path}/taken/${item.name}`)).toBeNull();
    expect(await item.consume()).toBe(false);
    expect(await queue.size()).toBe(1);
  });

  it("a held item is skipped by others; released, or its session gone, it is taken again", async () => {
    const path = node();
    const other = await ZooKeeper.connect(connect);
    try {
      await using mine = new LockingQueue(zk, path);
      const theirs = new LockingQueue(other, path);
      await mine.put("one");
      const held = (await mine.get())!;
      expect(await theirs.get({ timeout: 300 })).toBeNull();
      const waiting = theirs.get({ timeout: 20_000 });
      expect(await held.release()).toBe(true);
      const again = (await waiting)!;
      expect(text(again.data)).toBe("one");
      // The second holder's session ends without consuming: the item is free again.
      await other.close();
      const third = (await mine.get({ timeout: 20_000 }))!;
      expect(text(third.data)).toBe("one");
      expect(await third.consume()).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("close() gives back the items the object holds", async () => {
    const path = node();
    const queue = new LockingQueue(zk, path);
    await queue.putAll(["x", "y"]);
    const item = (await queue.get())!;
    await queue.close();
    expect(await zk.exists(`${path}/taken/${item.name}`)).toBeNull();
    await expect(queue.get()).rejects.toMatchObject({ code: "ZK_RECIPE_CLOSED" });
    await using next = new LockingQueue(zk, path);
    expect(text((await next.get())!.data)).toBe("x");
  });

  // A marker created on the server but not known to the queue object would hold its item until the
  // session ends: no consumer, this one included, could take it.
  it("a get abandoned while its marker's create is in flight leaves no marker behind", async () => {
    const path = node();
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString);
    await using queue = new LockingQueue(client, path);
    await queue.put("x");
    const abort = new AbortController();
    void giveUpMidWrite(proxy, OpCode.create2, () => abort.abort(new Error("gave up")));
    await expect(queue.get({ signal: abort.signal })).rejects.toThrow("gave up");
    proxy.delay(0);
    expect((await zk.getChildren(`${path}/taken`)).children).toEqual([]);
    await using other = new LockingQueue(zk, path);
    expect(text((await other.get({ timeout: 5_000 }))?.data ?? null)).toBe("x");
  });

  it("a connection cut while its marker's create is in flight: the item is still taken, once", async () => {
    const path = node();
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 10_000 });
    await using queue = new LockingQueue(client, path);
    await queue.put("x");
    // The server creates the marker; the client never hears of it.
    const cut = proxy.dropOnRequest((r) => r.opcode === OpCode.create2);
    const item = await queue.get({ timeout: 8_000 });
    await cut;
    expect(text(item?.data ?? null)).toBe("x");
    const { children } = await zk.getChildren(`${path}/taken`);
    expect(children).toEqual([item!.name]);
    expect(await item!.consume()).toBe(true);
  });

  it("every item is consumed exactly once by competing consumers", async () => {
    const path = node();
    const clients = await Promise.all(Array.from({ length: 3 }, () => ZooKeeper.connect(connect)));
    try {
      const producer = new LockingQueue(zk, path);
      const consumed: string[] = [];
      const consumers = clients.map(async (client) => {
        const queue = new LockingQueue(client, path);
        for (;;) {
          const item = await queue.get({ timeout: 4_000 });
          if (item === null) return;
          if (await item.consume()) consumed.push(text(item.data)!);
        }
      });
      for (let i = 0; i < 40; i++) await producer.put(`item-${i}`, { priority: i % 3 });
      await Promise.all(consumers);
      expect(consumed.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `item-${i}`).sort());
      await until("queue empty", async () => (await producer.size()) === 0, 5_000);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("refuses bad arguments before sending anything", async () => {
    const path = node();
    const queue = new LockingQueue(zk, path);
    await expect(queue.put("x", { priority: 1000 })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(queue.put("x", { priority: 1.5 })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(queue.putAll("x" as unknown as string[])).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(queue.putAll(["x", 3 as unknown as string])).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(queue.get({ timeout: Number.NaN })).rejects.toBeInstanceOf(ZkArgumentError);
    expect(await zk.exists(path)).toBeNull();
  });
});
