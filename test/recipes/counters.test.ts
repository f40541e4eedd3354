/**
 * SharedValue, SharedCount and AtomicLong against a real ZooKeeper: the byte layouts, versioned writes,
 * the watched value stream, retries under contention, and the argument checks made before sending.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  AtomicLong,
  CorruptValueError,
  SharedCount,
  SharedValue,
  type VersionedValue,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { proxyTo } from "../support/proxy.js";
import { waitForState } from "../support/wait.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect);
  root = `/counters-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root);
  await zk.close();
});

const node = () => `${root}/${randomUUID().slice(0, 8)}`;

describe("SharedCount", () => {
  it("creates the node with the seed as a 4-byte big-endian int, and keeps an existing node", async () => {
    const path = node();
    await using count = await new SharedCount(zk, path, 258).start();
    expect(Buffer.from((await zk.getData(path)).data)).toEqual(Buffer.from([0, 0, 1, 2]));
    expect(count.count).toBe(258);
    await using other = await new SharedCount(zk, path, 7).start();
    expect(other.count).toBe(258);
    await other.setCount(-2);
    expect(Buffer.from((await zk.getData(path)).data)).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  });

  it("trySetCount applies at the version read and refuses a stale one", async () => {
    const path = node();
    await using count = await new SharedCount(zk, path).start();
    const seen = count.versioned;
    expect(seen.version).toBe(0);
    expect(await count.trySetCount(5, seen.version)).toBe(true);
    expect(await count.trySetCount(6, seen.version)).toBe(false);
    // The refusal read the node again, so the next try has the current version.
    expect(count.versioned).toMatchObject({ value: 5, version: 1 });
    expect(await count.trySetCount(6, count.versioned.version)).toBe(true);
    expect(count.count).toBe(6);
  });

  it("streams every value another client writes, in mzxid order", async () => {
    const path = node();
    await using count = await new SharedCount(zk, path).start();
    const writer = await ZooKeeper.connect(connect);
    try {
      const seen: VersionedValue<number>[] = [];
      const abort = new AbortController();
      const reading = (async () => {
        for await (const value of count.values(abort.signal)) {
          seen.push(value);
          if (value.value === 3) break;
        }
      })();
      const four = Buffer.alloc(4);
      for (const n of [1, 2, 3]) {
        four.writeInt32BE(n);
        await writer.setData(path, four);
        // One write per watch: wait until it was seen so that no value is folded into the next.
        await waitFor(() => count.count === n);
      }
      await reading;
      expect(seen.map((v) => v.value)).toEqual([0, 1, 2, 3]);
      const zxids = seen.map((v) => v.zxid);
      expect([...zxids].sort((a, b) => (a < b ? -1 : 1))).toEqual(zxids);
    } finally {
      await writer.close();
    }
  });

  it("reads the node again when it is deleted and created anew", async () => {
    const path = node();
    await using count = await new SharedCount(zk, path, 1).start();
    await zk.delete(path);
    await zk.create(path, Buffer.from([0, 0, 0, 9]));
    await waitFor(() => count.count === 9);
  });

  it("catches up after a connection cut: what changed while away arrives on reconnect", async () => {
    const path = node();
    await using proxy = await proxyTo(connect);
    const client = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 20_000 });
    try {
      await using count = await new SharedCount(client, path, 1).start();
      const stream = count.values();
      expect((await stream.next()).value).toMatchObject({ value: 1 });
      proxy.refuse(true);
      proxy.dropAll();
      await waitForState(client, "disconnected", 10_000);
      const four = Buffer.alloc(4);
      four.writeInt32BE(2);
      await zk.setData(path, four);
      four.writeInt32BE(3);
      await zk.setData(path, four);
      proxy.refuse(false);
      await waitFor(() => count.count === 3, 20_000);
      // One watch, so one event for both writes: the stream shows the value the node has now.
      expect((await stream.next()).value).toMatchObject({ value: 3, version: 2 });
    } finally {
      await client.close();
    }
  }, 60_000);

  it("add() from several objects at once counts every increment", async () => {
    const path = node();
    const counts = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const client = await ZooKeeper.connect(connect);
        return { client, count: await new SharedCount(client, path).start() };
      }),
    );
    try {
      await Promise.all(
        counts.map(async ({ count }) => {
          for (let i = 0; i < 25; i++) await count.add(1, { retries: 1_000 });
        }),
      );
      expect(Buffer.from((await zk.getData(path)).data).readInt32BE(0)).toBe(100);
    } finally {
      for (const { client, count } of counts) {
        await count.close();
        await client.close();
      }
    }
  });

  it("ends the stream with CorruptValueError when the node holds something else", async () => {
    const path = node();
    await using count = await new SharedCount(zk, path).start();
    const stream = count.values();
    expect((await stream.next()).value).toMatchObject({ value: 0 });
    await zk.setData(path, "not a count");
    await expect(stream.next()).rejects.toBeInstanceOf(CorruptValueError);
  });

  it("refuses bad arguments before sending anything", async () => {
    const path = node();
    expect(() => new SharedCount(zk, "no-slash")).toThrow(ZkArgumentError);
    expect(() => new SharedCount(zk, "/")).toThrow(ZkArgumentError);
    expect(() => new SharedCount(zk, path, 2 ** 31)).toThrow(ZkArgumentError);
    expect(() => new SharedCount(zk, path, 1.5)).toThrow(ZkArgumentError);
    await using count = await new SharedCount(zk, path).start();
    const before = zk.lastZxid;
    await expect(count.trySetCount(1, -1)).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(count.trySetCount(1, 2 ** 31)).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(count.setCount(2 ** 40)).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(count.add(Number.NaN)).rejects.toBeInstanceOf(ZkArgumentError);
    expect(zk.lastZxid).toBe(before);
    expect(count.versioned).toMatchObject({ value: 0, version: 0 });
  });
});

describe("SharedValue", () => {
  it("holds bytes, set with and without a version", async () => {
    const path = node();
    await using value = await new SharedValue(zk, path, "seed").start();
    expect(Buffer.from(value.value).toString()).toBe("seed");
    await value.setValue("two");
    expect(Buffer.from((await zk.getData(path)).data).toString()).toBe("two");
    const { version } = value.versioned;
    expect(await value.trySetValue("three", version)).toBe(true);
    expect(await value.trySetValue("stale", version)).toBe(false);
    expect(Buffer.from(value.value).toString()).toBe("three");
  });

  it("close() ends the streams and the object refuses writes after it", async () => {
    const path = node();
    const value = await new SharedValue(zk, path, "x").start();
    const stream = value.values();
    await stream.next();
    const ended = stream.next();
    await value.close();
    expect((await ended).done).toBe(true);
    await expect(value.setValue("y")).rejects.toMatchObject({ code: "ZK_RECIPE_CLOSED" });
    // The node stays: a shared value outlives the objects that watch it.
    expect(await zk.exists(path)).not.toBeNull();
  });
});

describe("AtomicLong", () => {
  it("stores 8 bytes big-endian (Curator's DistributedAtomicLong); a missing node is 0", async () => {
    const path = node();
    const counter = new AtomicLong(zk, path);
    expect(await counter.get()).toBe(0n);
    expect(await counter.increment()).toMatchObject({ succeeded: true, preValue: 0n, postValue: 1n });
    expect(await counter.add(2n ** 40n)).toMatchObject({ succeeded: true, postValue: 2n ** 40n + 1n });
    expect(Buffer.from((await zk.getData(path)).data)).toEqual(Buffer.from([0, 0, 1, 0, 0, 0, 0, 1]));
    expect(await counter.subtract(2n ** 40n)).toMatchObject({ postValue: 1n });
    expect(await counter.decrement()).toMatchObject({ postValue: 0n });
  });

  it("wraps at 64 bits like Java's long", async () => {
    const counter = new AtomicLong(zk, node());
    await counter.forceSet(2n ** 63n - 1n);
    expect(await counter.increment()).toMatchObject({ postValue: -(2n ** 63n) });
  });

  it("compareAndSet writes only over the expected value, once", async () => {
    const counter = new AtomicLong(zk, node());
    expect(await counter.compareAndSet(0, 5)).toMatchObject({ succeeded: false });
    expect(await counter.initialize(3)).toBe(true);
    expect(await counter.initialize(4)).toBe(false);
    expect(await counter.compareAndSet(2, 5)).toMatchObject({ succeeded: false, preValue: 3n });
    expect(await counter.compareAndSet(3, 5)).toMatchObject({ succeeded: true, postValue: 5n });
    expect(await counter.get()).toBe(5n);
  });

  it("ascii encoding is kazoo's Counter: the decimal digits; an empty node is 0", async () => {
    const path = node();
    await zk.create(path);
    const counter = new AtomicLong(zk, path, { encoding: "ascii" });
    expect(await counter.add(41)).toMatchObject({ postValue: 41n });
    expect(await counter.increment()).toMatchObject({ postValue: 42n });
    expect(Buffer.from((await zk.getData(path)).data).toString()).toBe("42");
    await zk.setData(path, "4x");
    await expect(counter.get()).rejects.toBeInstanceOf(CorruptValueError);
  });

  it("reports succeeded: false when the retries run out, and counts every increment with enough", async () => {
    const path = node();
    const clients = await Promise.all(Array.from({ length: 4 }, () => ZooKeeper.connect(connect)));
    try {
      const stingy = clients.map((c) => new AtomicLong(c, path, { retries: 0, backoff: [0, 0] }));
      const results = await Promise.all(
        stingy.flatMap((counter) => Array.from({ length: 10 }, () => counter.increment())),
      );
      const ok = results.filter((r) => r.succeeded).length;
      expect(await new AtomicLong(zk, path).get()).toBe(BigInt(ok));
      const generous = clients.map((c) => new AtomicLong(c, path, { retries: 1_000, backoff: [1, 20] }));
      const again = await Promise.all(
        generous.flatMap((counter) => Array.from({ length: 10 }, () => counter.increment())),
      );
      expect(again.every((r) => r.succeeded)).toBe(true);
      expect(await new AtomicLong(zk, path).get()).toBe(BigInt(ok + 40));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("a signal or close() stops it; await using closes it", async () => {
    const path = node();
    const abort = new AbortController();
    abort.abort(new Error("stop"));
    let closed: AtomicLong | undefined;
    {
      await using counter = new AtomicLong(zk, path);
      await expect(counter.increment({ signal: abort.signal })).rejects.toThrow("stop");
      await counter.increment();
      closed = counter;
    }
    await expect(closed.increment()).rejects.toMatchObject({ code: "ZK_RECIPE_CLOSED" });
    await expect(closed.get()).rejects.toMatchObject({ code: "ZK_RECIPE_CLOSED" });
    expect(await new AtomicLong(zk, path).get()).toBe(1n);
  });

  it("a write whose reply is lost is not retried: ConnectionLoss, and the increment counted once", async () => {
    const path = node();
    await using proxy = await proxyTo(connect);
    const client = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 20_000 });
    try {
      const counter = new AtomicLong(client, path);
      await counter.initialize(5);
      // The server applies the setData; the connection drops before its reply reaches the client.
      const dropped = proxy.dropOnRequest((request) => request.opcode === OpCode.setData);
      await expect(counter.increment()).rejects.toMatchObject({ codeName: "ConnectionLoss" });
      await dropped;
      await waitForState(client, "connected", 20_000);
      expect(await counter.get()).toBe(6n);
    } finally {
      await client.close();
    }
  }, 60_000);

  it("refuses bad arguments before sending anything", async () => {
    const path = node();
    expect(() => new AtomicLong(zk, path, { encoding: "utf16" as "ascii" })).toThrow(ZkArgumentError);
    expect(() => new AtomicLong(zk, path, { retries: -1 })).toThrow(ZkArgumentError);
    expect(() => new AtomicLong(zk, path, { backoff: [5, 1] })).toThrow(ZkArgumentError);
    const counter = new AtomicLong(zk, path);
    const before = zk.lastZxid;
    await expect(counter.add(1.5)).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(counter.add(2n ** 63n)).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(counter.compareAndSet(0, Number.MAX_SAFE_INTEGER + 2)).rejects.toBeInstanceOf(
      ZkArgumentError,
    );
    expect(zk.lastZxid).toBe(before);
    expect(await zk.exists(path)).toBeNull();
  });
});

async function waitFor(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
