/**
 * ReadWriteLock against a real server, and beside its peers on one path: Curator's
 * InterProcessReadWriteLock (naming "curator") and kazoo's ReadLock/WriteLock (naming "kazoo"), each in
 * its own processes. Readers share, writers exclude, across peer and zkwire: checked in known states
 * (a peer reader holds: a zkwire reader gets in, a zkwire writer does not...) and over a round of
 * readers and writers looping together, from their logged hold intervals.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  LockTimeoutError,
  ReadWriteLock,
  type ReadWriteLockNaming,
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
import { childrenLeft } from "../support/nodes.js";
import { countRequests } from "../support/requests.js";
import { command, type Hold, peerHolds, writerOverlaps } from "./holders.js";

const connect = inject("zkConnect");
const root = `/zkwire-rwlock-${randomUUID().slice(0, 8)}`;
let admin: ZooKeeper;
let zk: ZooKeeper;

beforeAll(async () => {
  admin = await ZooKeeper.connect(connect);
  zk = await ZooKeeper.connect(connect);
  await admin.create(root);
}, 60_000);

afterAll(async () => {
  await killAllContenders();
  await zk.close();
  await admin.deleteRecursive(root).catch(() => undefined);
  await admin.close();
});

const CURATOR_READ = /^_c_[0-9a-f-]{36}-__READ__\d{10}$/;
const CURATOR_WRITE = /^_c_[0-9a-f-]{36}-__WRIT__\d{10}$/;

describe("ReadWriteLock", () => {
  it("refuses bad input before anything is sent", () => {
    expect(() => new ReadWriteLock(zk, "/")).toThrow(ZkArgumentError);
    expect(() => new ReadWriteLock(zk, "x")).toThrow(ZkArgumentError);
    expect(() => new ReadWriteLock(zk, `${root}/x`, { naming: "other" as never })).toThrow(ZkArgumentError);
    expect(() => new ReadWriteLock(zk, `${root}/x`, { grace: -1 })).toThrow(ZkArgumentError);
    return expect(
      new ReadWriteLock(zk, `${root}/x`).readLock.acquire({ timeout: Number.NaN }),
    ).rejects.toThrow(ZkArgumentError);
  });

  it("readers share; a writer waits for earlier readers; a later reader waits for the earlier writer", async () => {
    const path = `${root}/local`;
    const rw = new ReadWriteLock(zk, path);
    await using zk2 = await ZooKeeper.connect(connect);
    const requests = countRequests();
    const rw2 = new ReadWriteLock(zk2, path);
    const r1 = await rw.readLock.acquire();
    const r2 = await rw2.readLock.acquire({ timeout: 5_000 }); // readers share
    const { children } = await admin.getChildren(path);
    expect(children.every((c) => CURATOR_READ.test(c))).toBe(true);
    expect(await rw.writeLock.tryAcquire()).toBeNull();
    const order: string[] = [];
    const writer = rw2.writeLock.acquire().then((l) => {
      order.push("writer");
      return l;
    });
    await new Promise((r) => setTimeout(r, 200)); // the writer's child exists before the next reader's
    expect((await admin.getChildren(path)).children.some((c) => CURATOR_WRITE.test(c))).toBe(true);
    const reader = rw.readLock.acquire().then((l) => {
      order.push("reader");
      return l;
    });
    await r1.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual([]); // r2 still holds: the writer waits; the later reader waits for the writer
    await r2.release();
    const w = await writer;
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(["writer"]);
    const listed = requests.of(zk).get(OpCode.getChildren2);
    await w.release();
    const r3 = await reader;
    const relisted = requests.of(zk).get(OpCode.getChildren2) !== listed;
    expect(order).toEqual(["writer", "reader"]);
    await expect(rw2.writeLock.acquire({ timeout: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
    await r3.release();
    expect(await childrenLeft(admin, path)).toEqual([]);
    requests.stop();
    // Only a writer's release is marked, so only a wait for a writer watches for the marker: the
    // writer waited on a reader (no marker watch) and released marked; the later reader, behind three,
    // waited on the writer (one marker watch) and took over without a second listing.
    expect(requests.of(zk2).get(OpCode.exists)).toBeUndefined();
    expect(requests.of(zk2).get(OpCode.multi)).toBe(1);
    expect(requests.of(zk).get(OpCode.exists)).toBe(1);
    expect(relisted).toBe(false);
  });

  const peers: Record<
    ReadWriteLockNaming,
    (id: string, path: string, kind: "read" | "write") => Promise<ContenderHandle>
  > = {
    curator: async (id, path, kind) => {
      await installCurator();
      return spawnCuratorProgram("HolderPeer", [connect, kind, path, id], { id });
    },
    kazoo: async (id, path, kind) => {
      await installKazoo();
      return spawnKazooProgram("holder.py", [connect, kind, path, id], { id });
    },
  };

  for (const naming of ["curator", "kazoo"] as const) {
    it(`shares a path with ${naming}'s read-write lock: readers share, writers exclude, across both`, async () => {
      const path = `${root}/mixed-${naming}`;
      const [reader, writer] = await Promise.all([
        peers[naming]("peer-reader", path, "read"),
        peers[naming]("peer-writer", path, "write"),
      ]);
      await Promise.all([reader!.waitForEvent("ready"), writer!.waitForEvent("ready")]);
      const rw = new ReadWriteLock(zk, path, { naming });

      // A peer reader holds: a zkwire reader gets in, a zkwire writer does not.
      await command(reader!, "acquire", "acquired");
      const r = await rw.readLock.acquire({ timeout: 10_000 });
      expect(await rw.writeLock.tryAcquire()).toBeNull();
      expect((await command(writer!, "try", "tried")).got).toBe(false);
      await command(reader!, "release", "released");
      await r.release();
      // A zkwire writer holds: neither peer gets in.
      const w = await rw.writeLock.acquire({ timeout: 10_000 });
      expect((await command(reader!, "try", "tried")).got).toBe(false);
      expect((await command(writer!, "try", "tried")).got).toBe(false);
      await w.release();
      // A peer writer holds: neither zkwire side gets in.
      await command(writer!, "acquire", "acquired");
      expect(await rw.readLock.tryAcquire()).toBeNull();
      expect(await rw.writeLock.tryAcquire()).toBeNull();
      await command(writer!, "release", "released");

      // A round: peer reader and writer, zkwire reader and writer, looping together.
      const holds: Hold[] = [];
      const zkwireLoop = async (id: string, kind: "read" | "write") => {
        await using client = await ZooKeeper.connect(connect);
        const side = new ReadWriteLock(client, path, { naming })[kind === "read" ? "readLock" : "writeLock"];
        for (let i = 0; i < 6; i++) {
          const lease = await side.acquire({ timeout: 60_000 });
          const from = monotonicMicros();
          await new Promise((res) => setTimeout(res, 30));
          holds.push({ id, kind, from, to: monotonicMicros() });
          await lease.release();
        }
      };
      reader!.send("loop 6 30");
      writer!.send("loop 6 30");
      await Promise.all([
        zkwireLoop("zkwire-reader", "read"),
        zkwireLoop("zkwire-writer", "write"),
        reader!.waitForEvent("looped"),
        writer!.waitForEvent("looped"),
      ]);
      holds.push(...peerHolds(reader!, "read"), ...peerHolds(writer!, "write"));
      expect(holds.filter((h) => h.kind === "write").length).toBe(6 + 6 + 1);
      expect(writerOverlaps(holds)).toEqual([]);
      await Promise.all([command(reader!, "quit", "done"), command(writer!, "quit", "done")]);
      expect(await childrenLeft(admin, path)).toEqual([]);
    }, 120_000);
  }
});
