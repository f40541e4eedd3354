/**
 * LeaderLatch against the shared server (and a fault proxy for cuts and expiry): Curator's layout, one
 * leader, hand-over on close, events and iterables, suspension and reconnect without reset, re-entry
 * after expiry with a renewed session, typed errors before sending, AbortSignal and `await using`.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  ConnectionView,
  ElectionClosedError,
  LeaderLatch,
  LeadershipTimeoutError,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { childrenLeft } from "../support/nodes.js";
import { proxyTo } from "../support/proxy.js";
import { until, waitForState } from "../support/wait.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect);
  root = `/latch-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root).catch(() => undefined);
  await zk.close();
});

const CURATOR_LATCH_NODE = /^_c_[0-9a-f-]{36}-latch-\d{10}$/;

describe("LeaderLatch", () => {
  it("elects the lowest child, Curator's names and ids, and hands over on close", async () => {
    const path = `${root}/basic`;
    const clients = await Promise.all([1, 2, 3].map(() => ZooKeeper.connect(connect)));
    try {
      const a = new LeaderLatch(clients[0]!, path, { id: "a" }).start();
      await a.awaitLeadership({ timeout: 10_000 });
      // One at a time: two sessions' creates have no order between them.
      const b = new LeaderLatch(clients[1]!, path, { id: "b" }).start();
      await until("two children", async () => (await zk.getChildren(path)).children.length === 2, 5_000, 10);
      const c = new LeaderLatch(clients[2]!, path, { id: "c" }).start();
      await until(
        "three children",
        async () => (await zk.getChildren(path)).children.length === 3,
        5_000,
        10,
      );
      expect(a.hasLeadership).toBe(true);
      expect(b.hasLeadership).toBe(false);
      const { children } = await zk.getChildren(path);
      for (const name of children) expect(name).toMatch(CURATOR_LATCH_NODE);
      expect(Buffer.from((await zk.getData(a.nodePath!)).data).toString()).toBe("a");
      expect((await zk.getData(path)).stat.ephemeralOwner).toBe(0n);
      expect((await b.participants()).map((p) => [p.id, p.isLeader])).toEqual([
        ["a", true],
        ["b", false],
        ["c", false],
      ]);
      expect((await c.leader())?.id).toBe("a");

      const bChanges: boolean[] = [];
      b.on("isLeader", () => bChanges.push(true));
      const aEvents: string[] = [];
      a.on("notLeader", () => aEvents.push("notLeader"));
      await a.close(); // silent: no event
      await b.awaitLeadership({ timeout: 10_000 });
      expect(aEvents).toEqual([]);
      expect(bChanges).toEqual([true]);
      expect(a.hasLeadership).toBe(false);
      expect((await c.participants()).map((p) => p.id)).toEqual(["b", "c"]);

      // Close with notify: the leader hears notLeader; c leads next, seen through the iterable.
      const bEvents: string[] = [];
      b.on("notLeader", () => bEvents.push("notLeader"));
      const changes = c.changes();
      await b.close({ notify: true });
      expect(bEvents).toEqual(["notLeader"]);
      expect((await changes.next()).value).toBe(true);
      expect(c.hasLeadership).toBe(true);
      await c.close();
      expect((await changes.next()).done).toBe(true);
      expect(await childrenLeft(zk, path)).toEqual([]);
    } finally {
      await Promise.all(clients.map((z) => z.close()));
    }
  });

  it("rejects bad input before sending, and awaitLeadership times out with a typed error", async () => {
    expect(() => new LeaderLatch(zk, "/")).toThrow(ZkArgumentError);
    expect(() => new LeaderLatch(zk, "no-slash")).toThrow(ZkArgumentError);
    expect(() => new LeaderLatch(zk, `${root}/x`, { id: 42 as unknown as string })).toThrow(ZkArgumentError);
    expect(() => new LeaderLatch(zk, `${root}/x`, { id: "x".repeat(2 ** 20) })).toThrow(ZkArgumentError);
    const latent = new LeaderLatch(zk, `${root}/x`);
    await expect(latent.awaitLeadership()).rejects.toBeInstanceOf(ZkArgumentError);
    expect(await zk.exists(`${root}/x`)).toBeNull(); // nothing was sent

    const path = `${root}/timeout`;
    await using other = await ZooKeeper.connect(connect);
    await using first = new LeaderLatch(zk, path, { id: "first" }).start();
    await first.awaitLeadership({ timeout: 10_000 });
    await using second = new LeaderLatch(other, path, { id: "second" }).start();
    await expect(second.awaitLeadership({ timeout: 200 })).rejects.toBeInstanceOf(LeadershipTimeoutError);
    await expect(second.awaitLeadership({ timeout: -1 })).rejects.toBeInstanceOf(ZkArgumentError);
    const waiting = expect(second.awaitLeadership()).rejects.toBeInstanceOf(ElectionClosedError);
    await second.close();
    await waiting;
  });

  it("an AbortSignal closes the latch and removes its child; `await using` does too", async () => {
    const path = `${root}/abort`;
    const ac = new AbortController();
    const latch = new LeaderLatch(zk, path, { id: "x", signal: ac.signal }).start();
    await latch.awaitLeadership({ timeout: 10_000 });
    ac.abort();
    await until(
      "the child removed",
      async () => (await zk.getChildren(path)).children.length === 0,
      5_000,
      10,
    );
    expect(latch.hasLeadership).toBe(false);
    {
      await using scoped = new LeaderLatch(zk, path, { id: "y" }).start();
      await scoped.awaitLeadership({ timeout: 10_000 });
      expect((await zk.getChildren(path)).children).toHaveLength(1);
    }
    expect((await zk.getChildren(path)).children).toHaveLength(0);
  });

  it("a leader whose child is deleted by someone else steps down and re-enters", async () => {
    const path = `${root}/deleted`;
    await using latch = new LeaderLatch(zk, path, { id: "x" }).start();
    await latch.awaitLeadership({ timeout: 10_000 });
    const first = latch.nodePath!;
    const seen: boolean[] = [];
    latch.on("isLeader", () => seen.push(true));
    latch.on("notLeader", () => seen.push(false));
    await zk.delete(first);
    await until(
      "leader again with a new child",
      () => latch.hasLeadership && latch.nodePath !== first,
      5_000,
      10,
    );
    expect(seen).toEqual([false, true]);
  });

  it("suspended: not leader at once; reconnected with the same session: leader again, same child", async () => {
    const path = `${root}/suspend`;
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 10_000 });
    await using latch = new LeaderLatch(client, path, { id: "x" }).start();
    await latch.awaitLeadership({ timeout: 10_000 });
    const child = latch.nodePath;
    const view = new ConnectionView(client);
    const states: string[] = [];
    view.on("change", (s) => states.push(s));
    const changes: boolean[] = [];
    latch.on("notLeader", () => changes.push(false));
    latch.on("isLeader", () => changes.push(true));
    proxy.dropAll();
    await waitForState(client, "disconnected", 5_000);
    expect(latch.hasLeadership).toBe(false);
    await latch.awaitLeadership({ timeout: 10_000 });
    expect(latch.nodePath).toBe(child); // no reset: the same child, the same place in line
    expect(changes).toEqual([false, true]);
    expect(states).toEqual(["suspended", "reconnected"]);
    view.close();
  });

  it("after session expiry (renewSessionOnExpiry) the old leader re-enters with a new child; another leads", async () => {
    const path = `${root}/expiry`;
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 2_000,
      renewSessionOnExpiry: true,
    });
    await using other = await ZooKeeper.connect(connect);
    const view = new ConnectionView(client);
    const states: string[] = [];
    view.on("change", (s) => states.push(s));
    await using a = new LeaderLatch(client, path, { id: "a" }).start();
    await a.awaitLeadership({ timeout: 10_000 });
    const oldSession = client.sessionId;
    const oldChild = a.nodePath;
    await using b = new LeaderLatch(other, path, { id: "b" }).start();
    await until("b in line", async () => (await zk.getChildren(path)).children.length === 2, 5_000, 10);
    proxy.blackhole(); // the server hears nothing: the session expires after 2 s
    let aLeadingWhenBLed: boolean | undefined;
    b.on("isLeader", () => {
      aLeadingWhenBLed = a.hasLeadership;
    });
    await b.awaitLeadership({ timeout: 20_000 });
    expect(aLeadingWhenBLed).toBe(false); // a stepped down when suspended, before b took over
    proxy.release();
    await until(
      "a back in line, with a new session and child",
      async () => {
        const ps = await b.participants();
        return (
          ps.length === 2 && client.sessionId !== oldSession && a.nodePath !== null && a.nodePath !== oldChild
        );
      },
      20_000,
      50,
    );
    expect((await b.participants()).map((p) => p.id)).toEqual(["b", "a"]);
    const { stat } = await zk.getData(a.nodePath!);
    expect(stat.ephemeralOwner).toBe(client.sessionId);
    expect(states).toContain("lost");
    expect(states.at(-1)).toBe("reconnected");
    await b.close();
    await a.awaitLeadership({ timeout: 10_000 });
    view.close();
  });
});
