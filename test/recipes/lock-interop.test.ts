/**
 * zkwire contenders on one lock path with Curator's InterProcessMutex (Java) and with kazoo's Lock
 * (Python), each peer in its own processes. zkwire's contenders run in this process and log the same
 * events as the peers, so one judge (summarize) covers the whole round: zero counter conflicts (the
 * proof), the counter equal to every acquisition, no overlapping critical sections, and the lock
 * granted in sequence order across all clients.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Lock, type LockNaming, sequenceOf, ZooKeeper } from "../../src/index.js";
import { monotonicMicros } from "../peers/clock.js";
import {
  type ContenderEvent,
  type ContenderHandle,
  CURATOR_LOCK_NODE,
  installCurator,
  installKazoo,
  KAZOO_LOCK_NODE,
  killAllContenders,
  spawnCuratorContender,
  spawnKazooContender,
  summarize,
} from "../peers/peers.js";

const ITERATIONS = 40;
const connect = inject("zkConnect");
const root = `/zkwire-interop-${randomUUID().slice(0, 8)}`;
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

/** A zkwire contender speaking the peers' event protocol, in this process. */
async function zkwireContender(id: string, naming: LockNaming, lockPath: string, counter: string) {
  const events: ContenderEvent[] = [];
  const zk = await ZooKeeper.connect(connect, { sessionTimeout: 10_000 });
  try {
    const lock = new Lock(zk, lockPath, { naming });
    let conflicts = 0;
    const started = performance.now();
    for (let n = 1; n <= ITERATIONS; n++) {
      await lock.withLock(async (lease) => {
        const node = lease.path.slice(lockPath.length + 1);
        const { data, stat } = await zk.getData(counter);
        const value = Number(Buffer.from(data).toString());
        events.push({
          id,
          event: "enter",
          n,
          node,
          seq: sequenceOf(node),
          value,
          version: stat.version,
          t: monotonicMicros(),
        });
        await new Promise((r) => setTimeout(r, 1));
        try {
          await lease.setData(counter, String(value + 1), { version: stat.version });
          events.push({ id, event: "exit", n, node, value: value + 1, t: monotonicMicros() });
        } catch (err) {
          if (!(err instanceof Error && /BadVersion/.test(err.message))) throw err;
          conflicts++;
          events.push({ id, event: "conflict", n, value, version: stat.version, t: monotonicMicros() });
          events.push({ id, event: "exit", n, node, value: -1, t: monotonicMicros() });
        }
      });
    }
    events.push({ id, event: "done", acquired: ITERATIONS, conflicts, ms: performance.now() - started });
  } finally {
    await zk.close();
  }
  return events;
}

async function mixedRound(
  name: string,
  naming: LockNaming,
  spawnPeer: (id: string, lock: string, counter: string) => Promise<ContenderHandle>,
) {
  const lock = `${root}/${name}/lock`;
  const counter = `${root}/${name}/counter`;
  await admin.create(counter, "0", { createParents: true });
  const peers = await Promise.all([spawnPeer("p1", lock, counter), spawnPeer("p2", lock, counter)]);
  await Promise.all(peers.map((p) => p.ready));
  for (const p of peers) p.go();
  const ours = await Promise.all([
    zkwireContender("z1", naming, lock, counter),
    zkwireContender("z2", naming, lock, counter),
  ]);
  const results = await Promise.all(peers.map((p) => p.result));
  for (const r of results) expect(r.exit, r.stderr.slice(-2_000)).toBe(0);
  const summary = summarize([...results.map((r) => r.events), ...ours]);
  const count = Number(Buffer.from((await admin.getData(counter)).data).toString());
  return { summary, count, peerNodes: results.flatMap((r) => r.events.filter((e) => e.event === "enter")) };
}

/** Exclusion held across every client of the round, and every child had the expected name. */
function expectExclusive(round: Awaited<ReturnType<typeof mixedRound>>, nodeName: RegExp): void {
  const { summary, count, peerNodes } = round;
  expect(summary.conflicts).toBe(0);
  expect(summary.acquired).toBe(4 * ITERATIONS);
  expect(count).toBe(4 * ITERATIONS);
  expect(summary.overlaps).toEqual([]);
  expect(summary.inSequenceOrder).toBe(true);
  for (const node of summary.nodes) expect(node).toMatch(nodeName);
  expect(peerNodes).toHaveLength(2 * ITERATIONS);
}

describe("zkwire beside other clients on one lock path", () => {
  it("with Curator InterProcessMutex contenders", async () => {
    const round = await mixedRound("curator", "curator", (id, lock, counter) =>
      spawnCuratorContender({
        connect,
        lockPath: lock,
        counterPath: counter,
        iterations: ITERATIONS,
        id,
        gate: true,
      }),
    );
    expectExclusive(round, CURATOR_LOCK_NODE);
  }, 120_000);

  it("with kazoo Lock contenders", async () => {
    const round = await mixedRound("kazoo", "kazoo", (id, lock, counter) =>
      spawnKazooContender({
        connect,
        lockPath: lock,
        counterPath: counter,
        iterations: ITERATIONS,
        id,
        gate: true,
      }),
    );
    expectExclusive(round, KAZOO_LOCK_NODE);
  }, 120_000);
});
