/**
 * Semaphore against a real server, and beside its peers on one path: Curator's InterProcessSemaphoreV2
 * (layout "curator") and kazoo's Semaphore (layout "kazoo"), each in its own processes. Never more than
 * maxLeases leases are held across peer and zkwire holders: checked in known states (a peer holds, does
 * zkwire wait?) and over a round of holders looping together, from their logged hold intervals.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  Semaphore,
  type SemaphoreLayout,
  SemaphoreTimeoutError,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { monotonicMicros } from "../peers/clock.js";
import {
  type ContenderHandle,
  installCurator,
  installKazoo,
  killAllContenders,
  spawnCuratorProgram,
  spawnKazooProgram,
} from "../peers/peers.js";
import { giveUpMidWrite, proxyTo } from "../support/proxy.js";
import { command, type Hold, maxConcurrent, peerHolds } from "./holders.js";

const connect = inject("zkConnect");
const root = `/zkwire-semaphore-${randomUUID().slice(0, 8)}`;
let admin: ZooKeeper;

beforeAll(async () => {
  admin = await ZooKeeper.connect(connect);
  await admin.create(root);
}, 60_000);

afterAll(async () => {
  await killAllContenders();
  await admin.deleteRecursive(root).catch(() => undefined);
  await admin.close();
});

describe("Semaphore", () => {
  it("refuses bad input before anything is sent", async () => {
    await using zk = await ZooKeeper.connect(connect);
    const path = `${root}/bad`;
    expect(() => new Semaphore(zk, path, 0)).toThrow(ZkArgumentError);
    expect(() => new Semaphore(zk, path, 1.5)).toThrow(ZkArgumentError);
    expect(() => new Semaphore(zk, "/", 1)).toThrow(ZkArgumentError);
    expect(() => new Semaphore(zk, path, 1, { layout: "other" as never })).toThrow(ZkArgumentError);
    const semaphore = new Semaphore(zk, path, 2);
    await expect(semaphore.acquire(0)).rejects.toThrow(ZkArgumentError);
    await expect(semaphore.acquire(3)).rejects.toThrow(ZkArgumentError);
    await expect(semaphore.acquire(1, { timeout: -1 })).rejects.toThrow(ZkArgumentError);
    expect(await admin.exists(path)).toBeNull();
  });

  for (const layout of ["curator", "kazoo"] as const) {
    it(`(${layout} layout) an acquire given up while its lease's create is in flight leaves no lease`, async () => {
      await using proxy = await proxyTo(connect);
      await using zk = await ZooKeeper.connect(proxy.connectString);
      const path = `${root}/abandoned-${layout}`;
      const semaphore = new Semaphore(zk, path, 2, { layout });
      await (await semaphore.acquire()).release(); // the paths exist: the next acquire creates two nodes
      const abort = new AbortController();
      // The mutex's child first, then the lease: give up once the lease's create is on its way.
      const gaveUp = giveUpMidWrite(proxy, OpCode.create2, () => abort.abort(new Error("gave up")), {
        nth: 2,
      });
      await expect(semaphore.acquire(1, { signal: abort.signal })).rejects.toThrow("gave up");
      await gaveUp;
      proxy.delay(0);
      expect(await semaphore.holders()).toEqual([]);
    });

    it(`(${layout} layout) holds at most maxLeases, times out and aborts cleanly, and removes its nodes`, async () => {
      await using zk = await ZooKeeper.connect(connect);
      const path = `${root}/local-${layout}`;
      const semaphore = new Semaphore(zk, path, 3, { layout });
      const two = await semaphore.acquire(2);
      const one = await semaphore.acquire(1, { timeout: 5_000 });
      expect(await semaphore.holders()).toHaveLength(3);
      await expect(semaphore.acquire(1, { timeout: 300 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
      const controller = new AbortController();
      const aborted = semaphore.acquire(1, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error("stop")), 200);
      await expect(aborted).rejects.toThrow("stop");
      expect(await semaphore.holders()).toHaveLength(3); // the failed attempts left nothing behind
      const waiting = semaphore.acquire(2, { timeout: 10_000 });
      await two.release();
      await using got = await waiting;
      expect(got.leases).toHaveLength(2);
      expect(got.signal.aborted).toBe(false);
      await one.release();
      await got.release();
      expect(await semaphore.holders()).toEqual([]);
      const lockPath = layout === "curator" ? `${path}/locks` : `${path}-__lock__`;
      expect((await admin.getChildren(lockPath)).children).toEqual([]);
      if (layout === "kazoo") expect(Buffer.from((await admin.getData(path)).data).toString()).toBe("3");
    });
  }

  it("(kazoo layout) refuses a path that stores another maximum, as kazoo does", async () => {
    await using zk = await ZooKeeper.connect(connect);
    const path = `${root}/kazoo-max`;
    await admin.create(path, "5");
    await expect(new Semaphore(zk, path, 2, { layout: "kazoo" }).acquire()).rejects.toThrow(ZkArgumentError);
  });

  const peers: Record<SemaphoreLayout, (id: string, path: string, max: number) => Promise<ContenderHandle>> =
    {
      curator: async (id, path, max) => {
        await installCurator();
        return spawnCuratorProgram("HolderPeer", [connect, `semaphore:${max}`, path, id], { id });
      },
      kazoo: async (id, path, max) => {
        await installKazoo();
        return spawnKazooProgram("holder.py", [connect, `semaphore:${max}`, path, id], { id });
      },
    };

  for (const layout of ["curator", "kazoo"] as const) {
    it(`shares a path with ${layout}'s semaphore: never more than maxLeases held across both`, async () => {
      const path = `${root}/mixed-${layout}`;
      const MAX = 2;
      const [p1, p2] = await Promise.all([peers[layout]("p1", path, MAX), peers[layout]("p2", path, MAX)]);
      await Promise.all([p1!.waitForEvent("ready"), p2!.waitForEvent("ready")]);
      await using zk = await ZooKeeper.connect(connect);
      const semaphore = new Semaphore(zk, path, MAX, { layout });

      // Known states: a peer holds one, zkwire takes the other; then neither side gets a third.
      await command(p1!, "acquire", "acquired");
      const mine = await semaphore.acquire(1, { timeout: 10_000 });
      expect((await command(p2!, "try", "tried")).got).toBe(false);
      await command(p1!, "release", "released");
      await expect(semaphore.acquire(2, { timeout: 300 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
      expect((await command(p2!, "try", "tried")).got).toBe(true);
      await expect(semaphore.acquire(1, { timeout: 300 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
      await command(p2!, "release", "released");
      await mine.release();

      // A round: two peers and two zkwire holders (own sessions) loop together.
      const holds: Hold[] = [];
      const zkwireLoop = async (id: string) => {
        await using client = await ZooKeeper.connect(connect);
        const s = new Semaphore(client, path, MAX, { layout });
        for (let i = 0; i < 6; i++) {
          const leases = await s.acquire(1, { timeout: 60_000 });
          const from = monotonicMicros();
          await new Promise((r) => setTimeout(r, 40));
          holds.push({ id, kind: "lease", from, to: monotonicMicros() });
          await leases.release();
        }
      };
      p1!.send("loop 6 40");
      p2!.send("loop 6 40");
      await Promise.all([
        zkwireLoop("z1"),
        zkwireLoop("z2"),
        p1!.waitForEvent("looped"),
        p2!.waitForEvent("looped"),
      ]);
      holds.push(...peerHolds(p1!, "lease"), ...peerHolds(p2!, "lease"));
      expect(holds.length).toBe(6 * 4 + 1); // + p1's known-state hold (p2's "try" logs no acquired)
      expect(maxConcurrent(holds)).toBeLessThanOrEqual(MAX);
      await Promise.all([command(p1!, "quit", "done"), command(p2!, "quit", "done")]);
      expect(await semaphore.holders()).toEqual([]);
    }, 120_000);
  }
});
