/**
 * One counter node, incremented concurrently by Curator (Java), kazoo (Python) and zkwire processes:
 * the final value is the sum of every increment each process applied, in each of the three layouts.
 * - 4-byte int: Curator's SharedCount (trySetCount loop), kazoo's Counter(support_curator=True), zkwire's
 *   SharedCount.add.
 * - 8-byte long: Curator's DistributedAtomicLong.increment and zkwire's AtomicLong.increment.
 * - ASCII: kazoo's Counter and zkwire's AtomicLong({ encoding: "ascii" }).
 * Every process connects first and waits for "go", so that they really run at the same time.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ZooKeeper } from "../../src/index.js";
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

const connect = inject("zkConnect");
const worker = resolve(import.meta.dirname, "fixtures/state-worker.ts");
const ITERATIONS = 60;
const root = `/counters-interop-${randomUUID().slice(0, 8)}`;
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

/** Waits until all are ready, lets them go together, and returns each one's "done" event. */
async function race(handles: ContenderHandle[]): Promise<PeerEvent[]> {
  try {
    await Promise.all(handles.map((h) => h.waitForEvent("ready", undefined, 90_000)));
  } catch (err) {
    for (const h of handles) h.kill();
    throw err;
  }
  for (const h of handles) h.send("go");
  const done = await Promise.all(handles.map((h) => h.waitForEvent("done", undefined, 120_000)));
  await Promise.all(handles.map((h) => h.result));
  return done;
}

const applied = (done: PeerEvent[]) => done.reduce((sum, d) => sum + (d.applied as number), 0);

describe("counters shared with Curator and kazoo", () => {
  it("4-byte count: Curator SharedCount + kazoo Counter(support_curator) + 2 zkwire processes", async () => {
    const path = `${root}/count32`;
    // Created with data: Curator's SharedCount cannot read the empty node kazoo would create.
    await admin.create(path, Buffer.alloc(4));
    const args = (id: string, mode: string) => [connect, path, String(ITERATIONS), id, mode];
    const done = await race([
      await spawnCuratorProgram("CounterPeer", args("curator", "sharedcount"), { id: "curator" }),
      await spawnKazooProgram("counter_peer.py", args("kazoo", "curator"), { id: "kazoo" }),
      spawnZkwireProgram(worker, ["count", ...args("zk1", "sharedcount")], { id: "zk1" }),
      spawnZkwireProgram(worker, ["count", ...args("zk2", "sharedcount")], { id: "zk2" }),
    ]);
    expect(done.map((d) => d.applied)).toEqual([ITERATIONS, ITERATIONS, ITERATIONS, ITERATIONS]);
    const { data } = await admin.getData(path);
    expect(data.length).toBe(4);
    expect(Buffer.from(data).readInt32BE(0)).toBe(applied(done));
  }, 300_000);

  it("8-byte long: Curator DistributedAtomicLong + 2 zkwire AtomicLong processes", async () => {
    const path = `${root}/long64`;
    const args = (id: string, mode: string) => [connect, path, String(ITERATIONS), id, mode];
    const done = await race([
      await spawnCuratorProgram("CounterPeer", args("curator", "atomiclong"), { id: "curator" }),
      spawnZkwireProgram(worker, ["count", ...args("zk1", "atomiclong")], { id: "zk1" }),
      spawnZkwireProgram(worker, ["count", ...args("zk2", "atomiclong")], { id: "zk2" }),
    ]);
    expect(done.map((d) => d.failed)).toEqual([0, 0, 0]);
    const { data } = await admin.getData(path);
    expect(data.length).toBe(8);
    expect(Buffer.from(data).readBigInt64BE(0)).toBe(BigInt(applied(done)));
    expect(applied(done)).toBe(3 * ITERATIONS);
  }, 300_000);

  it("ASCII: kazoo Counter + 2 zkwire AtomicLong({ encoding: 'ascii' }) processes", async () => {
    const path = `${root}/ascii`;
    const args = (id: string, mode: string) => [connect, path, String(ITERATIONS), id, mode];
    const done = await race([
      await spawnKazooProgram("counter_peer.py", args("kazoo", "ascii"), { id: "kazoo" }),
      spawnZkwireProgram(worker, ["count", ...args("zk1", "ascii")], { id: "zk1" }),
      spawnZkwireProgram(worker, ["count", ...args("zk2", "ascii")], { id: "zk2" }),
    ]);
    expect(applied(done)).toBe(3 * ITERATIONS);
    expect(Buffer.from((await admin.getData(path)).data).toString()).toBe(String(3 * ITERATIONS));
  }, 300_000);
});
