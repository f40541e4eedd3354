/**
 * The lock on a server whose events carry no zxid (3.8 and older): once a client has seen such an
 * event it takes the standard path: one watch on the predecessor, a plain delete on release, and no
 * exists watch on a lease nobody asks about. Requests are counted per session on the zkwire:request
 * diagnostics channel. A server started here, so the test runs whichever line the shared one is.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lease, Lock, ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { startZooKeeper, type ZooKeeperCluster } from "../harness/index.js";
import { until } from "../support/wait.js";

let cluster: ZooKeeperCluster;
let admin: ZooKeeper;

beforeAll(async () => {
  cluster = await startZooKeeper({ version: "3.8" });
  admin = await ZooKeeper.connect(cluster.connectString);
}, 180_000);

afterAll(async () => {
  await admin?.close();
  await cluster?.close();
});

/** The requests each session writes, by opcode. */
function countRequests(): { of: (zk: ZooKeeper) => Map<number, number>; stop: () => void } {
  const bySession = new Map<bigint, Map<number, number>>();
  const onRequest = (m: unknown) => {
    const { session, opcode } = m as { session: bigint; opcode: number };
    let counts = bySession.get(session);
    if (counts === undefined) bySession.set(session, (counts = new Map()));
    counts.set(opcode, (counts.get(opcode) ?? 0) + 1);
  };
  subscribe("zkwire:request", onRequest);
  return {
    of: (zk) => bySession.get(zk.sessionId) ?? new Map(),
    stop: () => unsubscribe("zkwire:request", onRequest),
  };
}

/** A contended hand-over a -> b: b waits for a, a releases, b holds. Returns b's lease. */
async function handOver(a: ZooKeeper, b: ZooKeeper, path: string): Promise<Lease> {
  const first = await new Lock(a, path).acquire();
  const second = new Lock(b, path).acquire();
  await until("two children", async () => (await admin.getChildren(path)).children.length === 2, 5_000, 10);
  await first.release();
  return second;
}

describe("the lock on a 3.8 server (events without a zxid)", () => {
  it("after the first event: one watch on the predecessor, no marker, no watch on an unread lease", async () => {
    const [a, b] = await Promise.all([1, 2].map(() => ZooKeeper.connect(cluster.connectString)));
    const path = "/lock-standard-path";
    try {
      // Both clients learn what the server is from their first event (the hand-over to b, then to a).
      await (await handOver(a!, b!, path)).release();
      await (await handOver(b!, a!, path)).release();

      const requests = countRequests();
      try {
        const lease = await handOver(a!, b!, path);
        await lease.release();
        const holder = requests.of(a!);
        const waiter = requests.of(b!);
        // The waiter: its create, its first listing, one getData watch on the predecessor, and the
        // delete; no getChildren watch on the predecessor (the listing is its only getChildren).
        expect(waiter.get(OpCode.create2)).toBe(1);
        expect(waiter.get(OpCode.getChildren2)).toBe(1);
        expect(waiter.get(OpCode.getData)).toBe(1);
        expect(waiter.get(OpCode.delete)).toBe(1);
        expect(waiter.get(OpCode.multi)).toBeUndefined();
        expect(waiter.get(OpCode.exists)).toBeUndefined();
        // The holder waited for nothing: create, listing, delete; no marker, no exists watch.
        expect(holder.get(OpCode.multi)).toBeUndefined();
        expect(holder.get(OpCode.exists)).toBeUndefined();
        expect(holder.get(OpCode.delete)).toBe(1);
        // A waiter that waited, on 3.8: a plain delete even so.
        const again = await handOver(b!, a!, path);
        const before = requests.of(a!).get(OpCode.multi) ?? 0;
        await again.release();
        expect(requests.of(a!).get(OpCode.multi) ?? 0).toBe(before);
      } finally {
        requests.stop();
      }
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it("a lease's signal (its exists watch) still reports a deletion by someone else", async () => {
    await using zk = await ZooKeeper.connect(cluster.connectString);
    const lease = await new Lock(zk, "/lock-signal").acquire();
    await admin.delete(lease.path);
    await until("the lease's signal", () => lease.signal.aborted, 5_000, 10);
    expect(lease.held).toBe(false);
    await lease.release();
  });

  it("still excludes: four sessions, a counter written with its version, no conflict", async () => {
    const clients = await Promise.all([1, 2, 3, 4].map(() => ZooKeeper.connect(cluster.connectString)));
    const path = "/lock-counter";
    await admin.create("/counter-3.8", "0");
    let conflicts = 0;
    try {
      await Promise.all(
        clients.map(async (zk) => {
          const lock = new Lock(zk, path);
          for (let i = 0; i < 25; i++) {
            await lock.withLock(async () => {
              const { data, stat } = await zk.getData("/counter-3.8");
              await new Promise((r) => setImmediate(r));
              try {
                await zk.setData("/counter-3.8", String(Number(Buffer.from(data).toString()) + 1), {
                  version: stat.version,
                });
              } catch {
                conflicts++;
              }
            });
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((zk) => zk.close()));
    }
    expect(conflicts).toBe(0);
    expect(Buffer.from((await admin.getData("/counter-3.8")).data).toString()).toBe("100");
  });
});
