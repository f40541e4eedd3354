/**
 * Producers and consumers in separate processes on one queue path: zkwire in child Node processes beside
 * Curator's SimpleDistributedQueue (Java) on a Queue, and beside kazoo's LockingQueue (Python) on a
 * LockingQueue. Every item produced is consumed exactly once. Then at-least-once under kill -9: a
 * consumer killed while it holds an item (zkwire's, then kazoo's) loses nothing; the item is consumed by
 * another process once the dead session's marker is gone.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isZooKeeperError, ZooKeeper } from "../../src/index.js";
import {
  type ContenderHandle,
  installCurator,
  installKazoo,
  killAllContenders,
  type PeerEvent,
  spawnCuratorProgram,
  spawnKazooProgram,
  spawnZkwireProgram,
} from "../peers/peers.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
const worker = resolve(import.meta.dirname, "fixtures/state-worker.ts");
const root = `/queue-interop-${randomUUID().slice(0, 8)}`;
let admin: ZooKeeper;

beforeAll(async () => {
  await Promise.all([installCurator(), installKazoo()]);
  admin = await ZooKeeper.connect(connect);
  await admin.create(root);
}, 600_000);

afterAll(async () => {
  await killAllContenders();
  await admin.deleteRecursive(root).catch(() => undefined);
  await admin.close();
});

const items = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const dataOf = (handle: ContenderHandle, event: "item" | "consumed") =>
  (handle.events as readonly unknown[] as PeerEvent[])
    .filter((e) => e.event === event)
    .map((e) => e.data as string);

/** Starts the producers together, waits until `total` items were consumed, then stops the consumers. */
async function run(producers: ContenderHandle[], consumers: ContenderHandle[], total: number) {
  await Promise.all([...producers, ...consumers].map((h) => h.waitForEvent("ready", undefined, 90_000)));
  for (const producer of producers) producer.send("go");
  await Promise.all(producers.map((p) => p.waitForEvent("done", undefined, 120_000)));
  await until(
    `${total} items consumed`,
    () => consumers.reduce((n, c) => n + dataOf(c, "consumed").length, 0) >= total,
    120_000,
  );
  for (const consumer of consumers) consumer.send("quit");
  await Promise.all(consumers.map((c) => c.waitForEvent("done", undefined, 60_000)));
  return consumers.flatMap((c) => dataOf(c, "consumed"));
}

describe("queues shared with Curator and kazoo", () => {
  it("Queue: Curator and zkwire producers and consumers, each item consumed exactly once", async () => {
    const path = `${root}/simple`;
    const n = 40;
    const consumed = await run(
      [
        await spawnCuratorProgram("QueuePeer", ["produce", connect, path, String(n), "cur-p", "c"], {
          id: "cur-p",
        }),
        spawnZkwireProgram(worker, ["produce", connect, path, String(n), "zk-p", "queue", "z"], {
          id: "zk-p",
        }),
      ],
      [
        await spawnCuratorProgram("QueuePeer", ["consume", connect, path, "cur-c"], { id: "cur-c" }),
        spawnZkwireProgram(worker, ["consume", connect, path, "zk-c", "queue"], { id: "zk-c" }),
      ],
      2 * n,
    );
    expect(consumed.sort()).toEqual([...items("c", n), ...items("z", n)].sort());
    // Empty, or already swept: the path is a container (Curator's and zkwire's Queue both make it one).
    const left = await admin.getChildren(path).then(
      (r) => r.children,
      (err: unknown) => (isZooKeeperError(err, "NoNode") ? [] : Promise.reject(err)),
    );
    expect(left).toEqual([]);
  }, 300_000);

  it("LockingQueue: kazoo and zkwire producers and consumers, each item consumed exactly once", async () => {
    const path = `${root}/locking`;
    const n = 40;
    const consumed = await run(
      [
        await spawnKazooProgram("locking_queue_peer.py", ["produce", connect, path, String(n), "kz-p", "k"], {
          id: "kz-p",
        }),
        spawnZkwireProgram(worker, ["produce", connect, path, String(n), "zk-p", "locking", "z"], {
          id: "zk-p",
        }),
      ],
      [
        await spawnKazooProgram("locking_queue_peer.py", ["consume", connect, path, "kz-c"], { id: "kz-c" }),
        spawnZkwireProgram(worker, ["consume", connect, path, "zk-c", "locking"], { id: "zk-c" }),
      ],
      2 * n,
    );
    expect(consumed.sort()).toEqual([...items("k", n), ...items("z", n)].sort());
    expect((await admin.getChildren(`${path}/entries`)).children).toEqual([]);
    expect((await admin.getChildren(`${path}/taken`)).children).toEqual([]);
  }, 300_000);

  for (const victim of ["zkwire", "kazoo"] as const) {
    it(`LockingQueue: a ${victim} consumer killed (SIGKILL) while holding an item loses nothing`, async () => {
      const path = `${root}/killed-${victim}`;
      const n = 10;
      const holdMs = "600000"; // holds its first item until killed
      const doomed =
        victim === "zkwire"
          ? spawnZkwireProgram(worker, ["consume", connect, path, "doomed", "locking", holdMs], {
              id: "doomed",
            })
          : await spawnKazooProgram("locking_queue_peer.py", ["consume", connect, path, "doomed", holdMs], {
              id: "doomed",
            });
      const producer = spawnZkwireProgram(
        worker,
        ["produce", connect, path, String(n), "p", "locking", "i"],
        {
          id: "p",
        },
      );
      await Promise.all([doomed, producer].map((h) => h.waitForEvent("ready", undefined, 90_000)));
      producer.send("go");
      const held = (await doomed.waitForEvent("item", undefined, 60_000)).data as string;
      await producer.waitForEvent("done", undefined, 60_000);
      doomed.kill("SIGKILL");
      await doomed.result;
      expect(dataOf(doomed, "consumed")).toEqual([]);
      // The survivors: one of each, so the dead consumer's item is taken by whichever sees it free first.
      const survivors = [
        spawnZkwireProgram(worker, ["consume", connect, path, "zk-c", "locking"], { id: "zk-c" }),
        await spawnKazooProgram("locking_queue_peer.py", ["consume", connect, path, "kz-c"], { id: "kz-c" }),
      ];
      await Promise.all(survivors.map((h) => h.waitForEvent("ready", undefined, 90_000)));
      // The held item comes back once the dead session expires (the workers' session timeout is 10 s).
      await until(
        `all ${n} items consumed`,
        () => survivors.reduce((k, c) => k + dataOf(c, "consumed").length, 0) >= n,
        120_000,
      );
      for (const survivor of survivors) survivor.send("quit");
      await Promise.all(survivors.map((c) => c.waitForEvent("done", undefined, 60_000)));
      const consumed = survivors.flatMap((c) => dataOf(c, "consumed"));
      expect(consumed.sort()).toEqual(items("i", n).sort());
      expect(consumed).toContain(held);
      expect((await admin.getChildren(`${path}/entries`)).children).toEqual([]);
    }, 300_000);
  }
});
