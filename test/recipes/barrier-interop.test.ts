/**
 * One double barrier, members from three clients in their own processes: kazoo DoubleBarrier (Python),
 * Curator DistributedDoubleBarrier (Java) and zkwire DoubleBarrier (child Node processes). The test lets
 * members enter one at a time, 300 ms apart, and checks with their clocks (the monotonic clock of one host) that no member
 * got in before the last one had started to enter; then the same for leaving.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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
import { childrenLeft } from "../support/nodes.js";

const connect = inject("zkConnect");
const worker = resolve(import.meta.dirname, "fixtures/state-worker.ts");
const root = `/barrier-interop-${randomUUID().slice(0, 8)}`;
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

const t = async (handle: ContenderHandle, event: string) =>
  (await handle.waitForEvent(event, undefined, 120_000)).t as number;

/** Sends `command` to each member in turn, `gapMs` apart; returns when all reported `after`. */
async function staggered(members: ContenderHandle[], command: string, before: string, after: string) {
  const starts: number[] = [];
  for (const member of members) {
    member.send(command);
    starts.push(await t(member, before));
    await sleep(300);
  }
  const ends = await Promise.all(members.map((member) => t(member, after)));
  return { lastStart: Math.max(...starts), firstEnd: Math.min(...ends) };
}

describe("double barrier shared with kazoo and Curator", () => {
  it("kazoo, Curator and zkwire members enter together and leave together", async () => {
    const path = `${root}/round`;
    const n = 5;
    const args = (id: string) => [connect, path, String(n), id];
    const members = [
      await spawnKazooProgram("double_barrier_peer.py", args("kazoo-1"), { id: "kazoo-1" }),
      spawnZkwireProgram(worker, ["barrier", ...args("zk-1")], { id: "zk-1" }),
      await spawnCuratorProgram("DoubleBarrierPeer", args("curator"), { id: "curator" }),
      spawnZkwireProgram(worker, ["barrier", ...args("zk-2")], { id: "zk-2" }),
      await spawnKazooProgram("double_barrier_peer.py", args("kazoo-2"), { id: "kazoo-2" }),
    ];
    await Promise.all(members.map((m) => m.waitForEvent("ready", undefined, 90_000)));

    const enter = await staggered(members, "enter", "entering", "entered");
    expect(enter.firstEnd).toBeGreaterThanOrEqual(enter.lastStart);
    const { children } = await admin.getChildren(path);
    expect(children.filter((name) => name !== "ready").length).toBe(n);

    // Leave in another order: the Curator member (the one that counts again) last.
    const order = [members[4]!, members[3]!, members[0]!, members[1]!, members[2]!];
    const leave = await staggered(order, "leave", "leaving", "left");
    expect(leave.firstEnd).toBeGreaterThanOrEqual(leave.lastStart);
    const results = await Promise.all(members.map((m) => m.result));
    expect(results.map((r) => r.exit)).toEqual([0, 0, 0, 0, 0]);
    expect(results.every((r) => (r.events as unknown as PeerEvent[]).some((e) => e.event === "done"))).toBe(
      true,
    );
    expect(await childrenLeft(admin, path)).toEqual([]);
  }, 300_000);
});
