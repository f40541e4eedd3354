/**
 * The hand-over between zkwire contenders: a lease releases its child with a setData and a delete in
 * one transaction, and a waiter that sees both events of that transaction on its predecessor takes the
 * lock without reading the children again. Anything else (a lone deletion, someone else's write to the
 * predecessor, a server whose events carry no zxid) must fall back to reading the children.
 */
import { randomUUID } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  Ids,
  type Lease,
  Lock,
  type LockOptions,
  Perms,
  type WatchedEvent,
  ZooKeeper,
} from "../../src/index.js";
import { startZooKeeper } from "../../src/testing/index.js";
import { requires } from "../support/features.js";
import { childrenLeft } from "../support/nodes.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
let root: string;
let admin: ZooKeeper;

beforeAll(async () => {
  admin = await ZooKeeper.connect(connect);
  root = `/lock-handoff-${randomUUID().slice(0, 8)}`;
  await admin.create(root);
});

afterAll(async () => {
  await admin.deleteRecursive(root);
  await admin.close();
});

/** The lock path's listings a client asks for (its getChildren calls on that path). */
function countListings(zk: ZooKeeper, path: string): { count: number } {
  const seen = { count: 0 };
  const getChildren = zk.getChildren.bind(zk) as (p: string, o?: object) => Promise<unknown>;
  (zk as { getChildren: unknown }).getChildren = (p: string, o?: object) => {
    if (p === path) seen.count++;
    return getChildren(p, o);
  };
  return seen;
}

/** Until the lock path has `n` children. */
function waitForChildren(zk: ZooKeeper, path: string, n: number): Promise<void> {
  return until(
    `${n} children of ${path}`,
    async () => (await zk.getChildren(path)).children.length === n,
    5_000,
    10,
  );
}

/** Three sessions queued on one lock: the first holds, the second and third wait (the third has two ahead). */
async function queueOfThree(connectString: string, path: string, options: LockOptions = {}) {
  const clients = await Promise.all([1, 2, 3].map(() => ZooKeeper.connect(connectString)));
  const [a, b, c] = clients as [ZooKeeper, ZooKeeper, ZooKeeper];
  const first = await new Lock(a, path, options).acquire();
  const quitSecond = new AbortController();
  const second = new Lock(b, path, options).acquire({ signal: quitSecond.signal });
  await waitForChildren(a, path, 2);
  const listings = countListings(c, path);
  let thirdHeld = false;
  const third = new Lock(c, path, options).acquire().then((lease) => {
    thirdHeld = true;
    return lease;
  });
  await waitForChildren(a, path, 3);
  const names = (await a.getChildren(path)).children.sort((x, y) => x.slice(-10).localeCompare(y.slice(-10)));
  return {
    clients,
    first,
    second,
    quitSecond,
    third,
    listings,
    held: () => thirdHeld,
    secondPath: `${path}/${names[1]}`,
    close: () => Promise.all(clients.map((z) => z.close())),
  };
}

describe("lock hand-over", () => {
  it("a released lease hands over without another listing: both events carry the release's zxid", async (ctx) => {
    requires(ctx, "eventZxid");
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    const q = await queueOfThree(connect, path);
    const events: WatchedEvent[] = [];
    const onWatch = (m: unknown) => {
      const e = m as WatchedEvent & { session: bigint };
      if (e.session === q.clients[2]!.sessionId && e.path === q.secondPath) events.push(e);
    };
    subscribe("zkwire:watch", onWatch);
    try {
      await q.first.release();
      const second: Lease = await q.second;
      const before = q.listings.count;
      await second.release();
      const third = await q.third;
      // The third contender's one listing was its first (with its create); the hand-over added none.
      expect(before).toBe(1);
      expect(q.listings.count).toBe(1);
      expect(events.map((e) => e.type)).toEqual(["NodeDataChanged", "NodeDeleted"]);
      expect(events[0]!.zxid).toBeGreaterThan(0n);
      expect(events[1]!.zxid).toBe(events[0]!.zxid);
      await third.release();
    } finally {
      unsubscribe("zkwire:watch", onWatch);
      await q.close();
    }
  });

  it("someone else's write to the predecessor is not a release (Curator's revocation writes there)", async () => {
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    const q = await queueOfThree(connect, path);
    try {
      await admin.setData(q.secondPath, "__REVOKE__");
      // The second contender gives up: its child goes with a plain delete, while the first still holds.
      q.quitSecond.abort(new Error("gave up"));
      await expect(q.second).rejects.toThrow("gave up");
      await new Promise((r) => setTimeout(r, 200));
      expect(q.held()).toBe(false);
      expect(q.listings.count).toBe(2); // it looked at the children again, and waits for the first
      await q.first.release();
      const third = await q.third;
      expect(third.token).toBeGreaterThan(q.first.token);
      await third.release();
    } finally {
      await q.close();
    }
  });

  it("children whose ACL refuses writes are released with a plain delete, and the next waiter re-reads", async () => {
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    const acl = [{ perms: Perms.ALL & ~Perms.WRITE, id: Ids.ANYONE_ID_UNSAFE }];
    const q = await queueOfThree(connect, path, { acl });
    try {
      await q.first.release();
      const second = await q.second;
      await second.release();
      const third = await q.third;
      expect(q.listings.count).toBe(2);
      await third.release();
      expect(await childrenLeft(admin, path)).toEqual([]);
    } finally {
      await q.close();
    }
  });

  it("on a server whose events carry no zxid (3.8), the hand-over reads the children and still excludes", async () => {
    await using cluster = await startZooKeeper({ version: "3.8" });
    await using setup = await ZooKeeper.connect(cluster.connectString);
    const path = "/lock-3.8";
    await setup.create(path);
    const q = await queueOfThree(cluster.connectString, path);
    try {
      await q.first.release();
      const second = await q.second;
      expect(q.held()).toBe(false);
      await second.release();
      const third = await q.third;
      expect(q.listings.count).toBe(2);
      await third.release();

      // And exclusion under contention: four sessions, a counter written with its version.
      await setup.create("/counter", "0");
      let conflicts = 0;
      await Promise.all(
        q.clients.concat(setup).map(async (zk) => {
          const lock = new Lock(zk, path);
          for (let i = 0; i < 25; i++) {
            await lock.withLock(async () => {
              const { data, stat } = await zk.getData("/counter");
              try {
                await zk.setData("/counter", String(Number(Buffer.from(data).toString()) + 1), {
                  version: stat.version,
                });
              } catch {
                conflicts++;
              }
            });
          }
        }),
      );
      expect(conflicts).toBe(0);
      expect(Buffer.from((await setup.getData("/counter")).data).toString()).toBe("100");
    } finally {
      await q.close();
    }
  });
});
