/**
 * Barrier and DoubleBarrier against a real ZooKeeper: the layout, waiting until lifted / until all have
 * entered and left, timeouts and abort (which withdraw the member), and the argument checks.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Barrier, DoubleBarrier, RecipeTimeoutError, ZkArgumentError, ZooKeeper } from "../../src/index.js";
import { childrenLeft } from "../support/nodes.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect);
  root = `/barrier-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root);
  await zk.close();
});

const node = () => `${root}/${randomUUID().slice(0, 8)}`;

describe("Barrier", () => {
  it("is up while its node exists; wait() returns when another client removes it", async () => {
    const path = node();
    await using barrier = new Barrier(zk, path);
    await barrier.wait({ timeout: 1_000 }); // not up: returns at once
    expect(await barrier.set()).toBe(true);
    expect(await barrier.set()).toBe(false);
    expect(await zk.exists(path)).not.toBeNull();
    await expect(barrier.wait({ timeout: 300 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    const other = await ZooKeeper.connect(connect);
    try {
      let lifted = false;
      const waiting = barrier.wait({ timeout: 20_000 }).then(() => {
        lifted = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(lifted).toBe(false);
      expect(await new Barrier(other, path).remove()).toBe(true);
      await waiting;
    } finally {
      await other.close();
    }
  });

  it("a wait ends on abort and on close", async () => {
    const path = node();
    const barrier = new Barrier(zk, path);
    await barrier.set();
    const abort = new AbortController();
    const waiting = barrier.wait({ signal: abort.signal });
    abort.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    const closing = barrier.wait();
    await barrier.close();
    await expect(closing).rejects.toMatchObject({ code: "ZK_RECIPE_CLOSED" });
    expect(await zk.exists(path)).not.toBeNull();
  });
});

describe("DoubleBarrier", () => {
  it("lets members in once all joined and out once all left, with a ready node", async () => {
    const path = node();
    const clients = await Promise.all(Array.from({ length: 3 }, () => ZooKeeper.connect(connect)));
    try {
      const barriers = clients.map((c) => new DoubleBarrier(c, path, 3));
      const entered: boolean[] = [false, false, false];
      const entering = barriers.slice(0, 2).map((b, i) =>
        b.enter({ timeout: 30_000 }).then(() => {
          entered[i] = true;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(entered).toEqual([false, false, false]);
      const { children } = await zk.getChildren(path);
      expect(children.length).toBe(2);
      expect(children.every((name) => /^[0-9a-f]{32}$/.test(name))).toBe(true);
      await barriers[2]!.enter({ timeout: 30_000 });
      await Promise.all(entering);
      expect((await zk.getChildren(path)).children).toContain("ready");
      const left: boolean[] = [false, false, false];
      const leaving = barriers.slice(0, 2).map((b, i) =>
        b.leave({ timeout: 30_000 }).then(() => {
          left[i] = true;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(left).toEqual([false, false, false]);
      await barriers[2]!.leave({ timeout: 30_000 });
      await Promise.all(leaving);
      expect(await childrenLeft(zk, path)).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("a member that times out or aborts while entering is not counted", async () => {
    const path = node();
    const barrier = new DoubleBarrier(zk, path, 2);
    await expect(barrier.enter({ timeout: 300 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    expect(await childrenLeft(zk, path)).toEqual([]);
    const abort = new AbortController();
    const entering = barrier.enter({ signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort(new Error("stop"));
    await expect(entering).rejects.toThrow("stop");
    expect(await childrenLeft(zk, path)).toEqual([]);
  });

  it("close() removes the member's node; naming: 'curator' names it with a dashed uuid", async () => {
    const path = node();
    const other = await ZooKeeper.connect(connect);
    try {
      const a = new DoubleBarrier(zk, path, 2, { naming: "curator", identifier: "me" });
      const b = new DoubleBarrier(other, path, 2);
      await Promise.all([a.enter({ timeout: 10_000 }), b.enter({ timeout: 10_000 })]);
      const data = await zk.getData(a.memberPath);
      expect(Buffer.from(data.data).toString()).toBe("me");
      expect(a.memberPath).toMatch(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      await a.close();
      expect(await zk.exists(a.memberPath)).toBeNull();
      // b is the only member left: its leave does not wait for anyone.
      await b.leave({ timeout: 10_000 });
      expect(await childrenLeft(zk, path)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("refuses bad arguments before sending anything", async () => {
    const path = node();
    expect(() => new DoubleBarrier(zk, path, 0)).toThrow(ZkArgumentError);
    expect(() => new DoubleBarrier(zk, path, 1.5)).toThrow(ZkArgumentError);
    expect(() => new DoubleBarrier(zk, "/", 2)).toThrow(ZkArgumentError);
    expect(() => new DoubleBarrier(zk, path, 2, { naming: "x" as "kazoo" })).toThrow(ZkArgumentError);
    expect(() => new Barrier(zk, "bad")).toThrow(ZkArgumentError);
    const barrier = new DoubleBarrier(zk, path, 2);
    await expect(barrier.enter({ timeout: -5 })).rejects.toBeInstanceOf(ZkArgumentError);
    expect(await zk.exists(path)).toBeNull();
  });
});
