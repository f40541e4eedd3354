/**
 * Election against the shared server: run a function while leader, Curator's LeaderSelector and
 * kazoo's Election names with the id as data, hand-over when the function ends, requeue, the lease's
 * loss signal and fencing token, stop while waiting, typed errors before sending.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  Election,
  ElectionClosedError,
  type LeaderLease,
  LeadershipTimeoutError,
  LockLostError,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { childrenLeft } from "../support/nodes.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect);
  root = `/election-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root).catch(() => undefined);
  await zk.close();
});

/** A promise and its resolver, to hold a leader's function open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe("Election", () => {
  for (const [naming, node] of [
    ["curator", /^_c_[0-9a-f-]{36}-lock-\d{10}$/],
    ["kazoo", /^[0-9a-f]{32}__lock__\d{10}$/],
  ] as const) {
    it(`runs one leader at a time, ${naming} names, the id as data, hand-over when the function returns`, async () => {
      const path = `${root}/${naming}`;
      await using other = await ZooKeeper.connect(connect);
      const a = new Election(zk, path, { id: "a", naming });
      const b = new Election(other, path, { id: "b", naming });
      const aHolds = gate();
      let aLease: LeaderLease | undefined;
      const aRun = a.run(async (lease) => {
        aLease = lease;
        await aHolds.promise;
        return "a done";
      });
      await until("a leads", () => a.hasLeadership, 5_000, 10);
      let bLease: LeaderLease | undefined;
      const bRun = b.run((lease) => {
        bLease = lease;
        expect(a.hasLeadership).toBe(false);
        return "b done";
      });
      await until("b in line", async () => (await zk.getChildren(path)).children.length === 2, 5_000, 10);
      const { children } = await zk.getChildren(path);
      for (const name of children) expect(name).toMatch(node);
      expect((await b.contenders()).map((p) => [p.id, p.isLeader])).toEqual([
        ["a", true],
        ["b", false],
      ]);
      expect((await a.leader())?.id).toBe("a");
      expect(bLease).toBeUndefined();
      aHolds.open();
      expect(await aRun).toBe("a done");
      expect(await bRun).toBe("b done");
      expect(bLease!.token).toBeGreaterThan(aLease!.token);
      expect(await childrenLeft(zk, path)).toEqual([]);
    });
  }

  it("a throwing function gives leadership up and run() rejects with its error", async () => {
    const path = `${root}/throws`;
    const e = new Election(zk, path);
    await expect(
      e.run(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await childrenLeft(zk, path)).toEqual([]);
  });

  it("requeue: leads again after each return, alternating with another contender, until stopped", async () => {
    const path = `${root}/requeue`;
    await using other = await ZooKeeper.connect(connect);
    const order: string[] = [];
    const stop = new AbortController();
    const run = (client: ZooKeeper, id: string) =>
      new Election(client, path, { id }).run(
        async () => {
          order.push(id);
          if (order.length >= 6) stop.abort();
          await new Promise((r) => setTimeout(r, 20));
        },
        { requeue: true, signal: stop.signal },
      );
    const runs = [run(zk, "a"), run(other, "b")];
    expect(await Promise.all(runs)).toEqual([undefined, undefined]);
    expect(order.length).toBeGreaterThanOrEqual(6);
    // Each gives up and lines up at the back: the two alternate.
    for (let i = 1; i < 6; i++) expect(order[i]).not.toBe(order[i - 1]);
    expect(await childrenLeft(zk, path)).toEqual([]);
  });

  it("the lease's signal fires when its child is deleted by someone else (watched from the start)", async () => {
    const path = `${root}/lost`;
    const e = new Election(zk, path);
    const reason = await e.run(async (lease) => {
      await zk.delete(lease.path);
      await until("the signal", () => lease.signal.aborted, 5_000, 10);
      await expect(lease.setData(root, "x")).rejects.toBeInstanceOf(LockLostError);
      return lease.signal.reason;
    });
    expect(reason).toBeInstanceOf(LockLostError);
  });

  it("stopping while waiting removes the child; close() asks a leader to stop via `stopped`", async () => {
    const path = `${root}/stop`;
    await using other = await ZooKeeper.connect(connect);
    const leader = new Election(zk, path);
    const leading = leader.run(async (lease) => {
      await new Promise((r) => lease.stopped.addEventListener("abort", r));
      return "stopped";
    });
    await until("leads", () => leader.hasLeadership, 5_000, 10);
    const waiter = new Election(other, path);
    const ac = new AbortController();
    const waiting = expect(waiter.run(() => "never", { signal: ac.signal })).rejects.toThrow("enough");
    await until("two children", async () => (await zk.getChildren(path)).children.length === 2, 5_000, 10);
    ac.abort(new Error("enough"));
    await waiting;
    expect((await zk.getChildren(path)).children).toHaveLength(1);
    const timedOut = expect(waiter.run(() => "never", { timeout: 100 })).rejects.toBeInstanceOf(
      LeadershipTimeoutError,
    );
    await timedOut;
    await leader.close();
    expect(await leading).toBe("stopped");
    expect(await childrenLeft(zk, path)).toEqual([]);
    await expect(leader.run(() => 1)).rejects.toBeInstanceOf(ElectionClosedError);
  });

  it("rejects bad input before sending", async () => {
    expect(() => new Election(zk, "/")).toThrow(ZkArgumentError);
    expect(() => new Election(zk, `${root}/bad`, { naming: "zk" as "kazoo" })).toThrow(ZkArgumentError);
    expect(() => new Election(zk, `${root}/bad`, { grace: -1 })).toThrow(ZkArgumentError);
    expect(() => new Election(zk, `${root}/bad`, { id: "x".repeat(2 ** 20) })).toThrow(ZkArgumentError);
    const e = new Election(zk, `${root}/bad`);
    await expect(e.run(() => 1, { timeout: Number.NaN })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(e.run(42 as unknown as () => void)).rejects.toBeInstanceOf(ZkArgumentError);
    expect(await zk.exists(`${root}/bad`)).toBeNull();
  });
});
