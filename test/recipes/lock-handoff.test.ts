/**
 * The hand-over between zkwire contenders: a lease that waited releases its child in one transaction
 * with the creation and deletion of its release marker, and a waiter with others ahead of it, watching
 * that marker, takes the lock without reading the children again. Anything else (a lone deletion,
 * someone else's write to the predecessor, a marker path someone else made) falls back to reading the
 * children. The file runs on every server line: the marker needs no zxid in events (3.8 sends none).
 */
import { randomUUID } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { contenders, type Lease, Lock, type WatchedEvent, ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { releaseMarker } from "../../src/recipes/toolkit/lease.js";
import { requires } from "../support/features.js";
import { childrenLeft } from "../support/nodes.js";
import { countRequests } from "../support/requests.js";
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

/** Until the lock path has `n` contenders (children with a sequence number). */
function waitForChildren(zk: ZooKeeper, path: string, n: number): Promise<void> {
  return until(
    `${n} contenders under ${path}`,
    async () => contenders((await zk.getChildren(path)).children).length === n,
    5_000,
    10,
  );
}

/**
 * Three sessions queued on one lock: the first holds, the second and third wait (the third has two
 * ahead). `beforeThird` runs once the second's child exists, before the third contends.
 */
async function queueOfThree(path: string, beforeThird?: (secondPath: string) => Promise<unknown>) {
  const clients = await Promise.all([1, 2, 3].map(() => ZooKeeper.connect(connect)));
  const [a, b, c] = clients as [ZooKeeper, ZooKeeper, ZooKeeper];
  const first = await new Lock(a, path).acquire();
  const quitSecond = new AbortController();
  const second = new Lock(b, path).acquire({ signal: quitSecond.signal });
  await waitForChildren(admin, path, 2);
  const names = contenders((await admin.getChildren(path)).children);
  const secondPath = `${path}/${names[1]}`;
  if (beforeThird !== undefined) await beforeThird(secondPath);
  const listings = countListings(c, path);
  let thirdHeld = false;
  const third = new Lock(c, path).acquire().then((lease) => {
    thirdHeld = true;
    return lease;
  });
  await waitForChildren(admin, path, 3);
  return {
    clients,
    first,
    second,
    quitSecond,
    third,
    listings,
    held: () => thirdHeld,
    secondPath,
    close: () => Promise.all(clients.map((z) => z.close())),
  };
}

describe("lock hand-over", () => {
  it("a released lease hands over without another listing: the marker's creation, then the deletion", async () => {
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    const q = await queueOfThree(path);
    const marker = releaseMarker(q.secondPath);
    const events: WatchedEvent[] = [];
    const onWatch = (m: unknown) => {
      const e = m as WatchedEvent & { session: bigint };
      if (e.session === q.clients[2]!.sessionId && (e.path === q.secondPath || e.path === marker))
        events.push(e);
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
      expect(events.map((e) => [e.type, e.path])).toEqual([
        ["NodeCreated", marker],
        ["NodeDeleted", q.secondPath],
      ]);
      // One transaction: where the server sends the zxid (3.9+), both events carry the same one.
      if (events[0]!.zxid >= 0n) expect(events[1]!.zxid).toBe(events[0]!.zxid);
      // The marker was never seen by a listing, and is gone.
      expect(await q.clients[0]!.exists(marker)).toBeNull();
      await third.release();
      expect(await childrenLeft(admin, path)).toEqual([]);
    } finally {
      unsubscribe("zkwire:watch", onWatch);
      await q.close();
    }
  });

  it("the requests of a hand-over: a marker watch only with others ahead, a marked release only after a wait", async () => {
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    await admin.create(path);
    const requests = countRequests();
    try {
      const q = await queueOfThree(path);
      try {
        await q.first.release();
        await (await q.second).release();
        await (await q.third).release();
        const [a, b, c] = q.clients.map((zk) => requests.of(zk));
        const mine = (counts: Map<number, number>) =>
          Object.fromEntries(
            (["create2", "getChildren2", "exists", "getData", "multi", "delete", "removeWatches"] as const)
              .map((op) => [op, counts.get(OpCode[op]) ?? 0])
              .filter(([, n]) => n !== 0),
          );
        // The holder waited for nothing: its create and listing (one write), then a plain delete; no
        // exists watch on a lease nobody asked about.
        expect(mine(a!)).toEqual({ create2: 1, getChildren2: 1, delete: 1 });
        // One ahead: a watch on the predecessor's data alone (any deletion of it says enough); it
        // waited, so it releases with the marker.
        expect(mine(b!)).toEqual({ create2: 1, getChildren2: 1, getData: 1, multi: 1 });
        // Two ahead: the marker's watch beside the predecessor's, no second listing, a marked release.
        expect(mine(c!)).toEqual({ create2: 1, getChildren2: 1, exists: 1, getData: 1, multi: 1 });
      } finally {
        await q.close();
      }
    } finally {
      requests.stop();
    }
  });

  it("someone else's write to the predecessor is not a release (Curator's revocation writes there)", async () => {
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    const q = await queueOfThree(path);
    try {
      await admin.setData(q.secondPath, "__REVOKE__");
      // The second contender gives up: its child goes with a plain delete, while the first still holds.
      q.quitSecond.abort(new Error("gave up"));
      await expect(q.second).rejects.toThrow("gave up");
      await new Promise((r) => setTimeout(r, 200));
      expect(q.held()).toBe(false);
      expect(q.listings.count).toBe(2); // it looked at the children again, and waits for the first
      // The watch on the marker of a child that went without one is taken off the server again.
      const marker = releaseMarker(q.secondPath);
      await until(
        "the marker's watch removed",
        async () => !(await q.clients[2]!.checkWatches(marker, "data")),
        5_000,
        10,
      );
      await q.first.release();
      const third = await q.third;
      expect(third.token).toBeGreaterThan(q.first.token);
      await third.release();
    } finally {
      await q.close();
    }
  });

  it("a marker path someone else made: the release is a plain delete, and the next waiter re-reads", async () => {
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    let marker = "";
    const q = await queueOfThree(path, (second) => admin.create((marker = releaseMarker(second))));
    try {
      await q.first.release();
      const second = await q.second;
      await second.release();
      expect(await admin.exists(q.secondPath)).toBeNull();
      const third = await q.third;
      expect(q.listings.count).toBe(2);
      await third.release();
      expect(await childrenLeft(admin, path)).toEqual([marker.slice(path.length + 1)]);
      await admin.delete(marker);
    } finally {
      await q.close();
    }
  });

  it("a marker made by hand while a waiter watches, then a give-up, is no release (3.9+: two zxids)", async (ctx) => {
    requires(ctx, "eventZxid");
    const path = `${root}/${randomUUID().slice(0, 8)}`;
    const q = await queueOfThree(path);
    const marker = releaseMarker(q.secondPath);
    try {
      // The third watches the marker; someone makes it, then the second gives up while the first holds.
      await until("the third's marker watch", () => q.clients[2]!.checkWatches(marker, "data"), 5_000, 10);
      await admin.create(marker);
      q.quitSecond.abort(new Error("gave up"));
      await expect(q.second).rejects.toThrow("gave up");
      await new Promise((r) => setTimeout(r, 200));
      expect(q.held()).toBe(false);
      expect(q.listings.count).toBe(2);
      await q.first.release();
      await (await q.third).release();
      await admin.delete(marker);
    } finally {
      await q.close();
    }
  });
});
