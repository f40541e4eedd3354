/**
 * The lock recipe against a real ZooKeeper: exclusion, herd-freedom, one round trip when free, fencing,
 * guarded writes, cleanup on timeout and abort, and the loss signal.
 */
import { randomUUID } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  contenders,
  Lock,
  LockLostError,
  LockTimeoutError,
  sequenceOf,
  type WatchedEvent,
  ZooKeeper,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { childrenLeft } from "../support/nodes.js";
import { giveUpMidWrite, proxyTo } from "../support/proxy.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect, { sessionTimeout: 6_000 });
  root = `/lock-test-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root);
  await zk.close();
});

const lockPath = () => `${root}/${randomUUID().slice(0, 8)}`;

describe("ordering", () => {
  it("orders contenders by the trailing ten digits only and ignores other children", () => {
    const names = [
      "_c_b-lock-0000000012",
      "x__lock__0000000003",
      "not-a-contender",
      "sequence0000000007",
      "lease-12",
    ];
    expect(contenders(names)).toEqual(["x__lock__0000000003", "sequence0000000007", "_c_b-lock-0000000012"]);
    expect(sequenceOf("lock-0000000100")).toBe(100);
    expect(sequenceOf("lock-100")).toBe(-1);
  });

  it("reads the sequence as the trailing ten ASCII digits, whatever precedes them", () => {
    const reference = (name: string) => {
      const m = /([0-9]{10})$/.exec(name);
      return m === null ? -1 : Number(m[1]);
    };
    const digits = fc.stringMatching(/^[0-9]{0,12}$/);
    const name = fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.tuple(fc.string({ unit: "binary" }), digits).map(([a, b]) => a + b),
      fc.tuple(fc.constantFrom("_c_x-lock-", "x__lock__", "sequence", "٠"), digits).map(([a, b]) => a + b),
    );
    fc.assert(fc.property(name, (n) => sequenceOf(n) === reference(n)));
  });
});

describe("Lock", () => {
  it("acquires a free lock in one round trip, creating the lock path as a container", async () => {
    const path = lockPath();
    const lock = new Lock(zk, path);
    const zxidBefore = zk.lastZxid;
    const lease = await lock.acquire();
    expect(lease.path.startsWith(`${path}/_c_`)).toBe(true);
    expect(lease.path).toMatch(/-lock-\d{10}$/);
    expect(lease.token).toBeGreaterThan(zxidBefore);
    expect(lease.held).toBe(true);
    const { stat } = await zk.getData(path);
    expect(stat.ephemeralOwner).toBe(0n);
    await lease.release();
    await lease.release(); // idempotent
    expect(lease.held).toBe(false);
    expect(await zk.exists(lease.path)).toBeNull();
    expect(lease.signal.aborted).toBe(false);
  });

  it("many leases on one client share one state listener (no leak warning past ten)", async () => {
    const before = zk.listenerCount("state");
    const leases = await Promise.all(
      Array.from({ length: 20 }, () => new Lock(zk, lockPath()).acquire({ timeout: 20_000 })),
    );
    try {
      expect(zk.listenerCount("state")).toBe(before + 1);
      for (const lease of leases) expect(lease.held).toBe(true);
    } finally {
      await Promise.all(leases.map((lease) => lease.release()));
    }
    expect(zk.listenerCount("state")).toBe(before);
  });

  it("names children the kazoo way and with a plain prefix", async () => {
    const path = lockPath();
    const kazoo = await new Lock(zk, path, { naming: "kazoo" }).acquire();
    expect(kazoo.path).toMatch(/\/[0-9a-f]{32}__lock__\d{10}$/);
    await kazoo.release();
    const plain = await new Lock(zk, path, { naming: { prefix: "sequence" } }).acquire();
    expect(plain.path).toMatch(/\/sequence\d{10}$/);
    await plain.release();
  });

  it("hands the lock over in queue order, one watch event per release, with increasing tokens", async () => {
    const path = lockPath();
    const clients = await Promise.all([1, 2, 3, 4].map(() => ZooKeeper.connect(connect)));
    const events: WatchedEvent[] = [];
    const onWatch = (e: unknown) => {
      const event = e as WatchedEvent;
      if (event.path.startsWith(path)) events.push(event);
    };
    subscribe("zkwire:watch", onWatch);
    try {
      const first = await new Lock(clients[0]!, path).acquire();
      const acquired: string[] = [first.path];
      const tokens: bigint[] = [first.token];
      const waiters = clients.slice(1).map(async (c) => {
        const lease = await new Lock(c, path).acquire();
        acquired.push(lease.path);
        tokens.push(lease.token);
        await lease.release();
      });
      await until("4 children", async () => (await zk.getChildren(path)).children.length === 4, 5_000, 10);
      const queue = contenders((await zk.getChildren(path)).children).map((n) => `${path}/${n}`);
      await first.release();
      await Promise.all(waiters);
      expect(acquired).toEqual(queue);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
      // Herd-free: nobody watched the children; each released child notified its one successor (and
      // its own holder's loss watch), never every waiter.
      expect(events.filter((e) => e.type === "NodeChildrenChanged")).toEqual([]);
      for (const child of queue) {
        expect(events.filter((e) => e.type === "NodeDeleted" && e.path === child).length).toBeLessThanOrEqual(
          2,
        );
      }
    } finally {
      unsubscribe("zkwire:watch", onWatch);
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("excludes: concurrent contenders incrementing a counter never conflict", async () => {
    const path = lockPath();
    const counter = `${root}/counter-${randomUUID().slice(0, 8)}`;
    await zk.create(counter, "0");
    const clients = await Promise.all([1, 2, 3].map(() => ZooKeeper.connect(connect)));
    let inside = 0;
    let maxInside = 0;
    let conflicts = 0;
    try {
      await Promise.all(
        clients.map(async (c) => {
          const lock = new Lock(c, path);
          for (let i = 0; i < 30; i++) {
            await lock.withLock(async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              const { data, stat } = await c.getData(counter);
              try {
                await c.setData(counter, String(Number(Buffer.from(data).toString()) + 1), {
                  version: stat.version,
                });
              } catch {
                conflicts++;
              }
              inside--;
            });
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    expect(conflicts).toBe(0);
    expect(maxInside).toBe(1);
    expect(Buffer.from((await zk.getData(counter)).data).toString()).toBe("90");
  });

  it("is not reentrant: a second acquire on the same Lock waits for the first lease", async () => {
    const lock = new Lock(zk, lockPath());
    const first = await lock.acquire();
    expect(await lock.tryAcquire()).toBeNull();
    let second = false;
    const pending = lock.acquire().then((l) => {
      second = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(second).toBe(false);
    await first.release();
    const lease = await pending;
    expect(lease.token).toBeGreaterThan(first.token);
    await lease.release();
  });

  it("tryAcquire never waits and leaves no child behind when the lock is taken", async () => {
    const path = lockPath();
    const lock = new Lock(zk, path);
    const held = await lock.tryAcquire();
    expect(held).not.toBeNull();
    expect(await lock.tryAcquire()).toBeNull();
    expect((await zk.getChildren(path)).children).toHaveLength(1);
    await held!.release();
  });

  it("timeout and abort remove the contender's child", async () => {
    const path = lockPath();
    const lock = new Lock(zk, path);
    const holder = await lock.acquire();
    await expect(lock.acquire({ timeout: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
    const ac = new AbortController();
    const aborted = lock.acquire({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 50);
    await expect(aborted).rejects.toThrow("stop");
    expect((await zk.getChildren(path)).children).toEqual([holder.path.slice(path.length + 1)]);
    await holder.release();
  });

  it("a waiter whose predecessor gives up keeps waiting for the holder, then acquires", async () => {
    const path = lockPath();
    const lock = new Lock(zk, path);
    const holder = await lock.acquire();
    const quitter = new AbortController();
    const middle = lock.acquire({ signal: quitter.signal });
    await until("2 children", async () => (await zk.getChildren(path)).children.length === 2, 5_000, 10);
    let acquired = false;
    const last = lock.acquire().then((lease) => {
      acquired = true;
      return lease;
    });
    await until("3 children", async () => (await zk.getChildren(path)).children.length === 3, 5_000, 10);
    quitter.abort(new Error("gave up"));
    await expect(middle).rejects.toThrow("gave up");
    // The last waiter was woken by its predecessor's deletion, but the holder is still ahead of it.
    await new Promise((r) => setTimeout(r, 200));
    expect(acquired).toBe(false);
    expect((await zk.getChildren(path)).children).toHaveLength(2);
    await holder.release();
    const lease = await last;
    expect(lease.token).toBeGreaterThan(holder.token);
    await lease.release();
  });

  it("withLock releases when the function throws; await using releases at scope end", async () => {
    const path = lockPath();
    const lock = new Lock(zk, path);
    await expect(
      lock.withLock(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await childrenLeft(zk, path)).toEqual([]);
    let leasePath = "";
    {
      await using lease = await lock.acquire();
      leasePath = lease.path;
      expect(await zk.exists(leasePath)).not.toBeNull();
    }
    expect(await zk.exists(leasePath)).toBeNull();
  });

  it("guards writes: lease.setData works while held and is refused once the child is gone", async () => {
    const path = lockPath();
    const data = `${root}/guarded-${randomUUID().slice(0, 8)}`;
    await zk.create(data, "a");
    const lease = await new Lock(zk, path).acquire();
    const stat = await lease.setData(data, "b");
    expect(stat.version).toBe(1);
    // Someone deletes the child: the lease is lost and its writes are refused.
    const other = await ZooKeeper.connect(connect);
    await other.delete(lease.path);
    await other.close();
    await expect(lease.setData(data, "c")).rejects.toBeInstanceOf(LockLostError);
    await until("the lease's signal", () => lease.signal.aborted, 5_000, 10);
    expect(lease.signal.reason).toBeInstanceOf(LockLostError);
    expect(Buffer.from((await zk.getData(data)).data).toString()).toBe("b");
    await lease.release();
  });

  it("one round trip when free: the create and the listing leave together, before any reply", async () => {
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString);
    const path = lockPath();
    await client.create(path);
    proxy.clearFrames();
    const lease = await new Lock(client, path).acquire();
    const frames = proxy.frames.filter((f) => f.kind === "message");
    // create2 and getChildren2 written back to back; the first reply comes after both.
    expect(frames.slice(0, 2).map((f) => [f.direction, f.opcode])).toEqual([
      ["request", OpCode.create2],
      ["request", OpCode.getChildren2],
    ]);
    expect(frames[2]?.direction).toBe("reply");
    await lease.release();
  });

  it("a connection cut while the create is in flight leaves exactly one child (protected create)", async () => {
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    const path = lockPath();
    await client.create(path);
    const cut = proxy.dropOnRequest((r) => r.opcode === OpCode.create2);
    const lease = await new Lock(client, path).acquire();
    await cut;
    const { children } = await zk.getChildren(path);
    expect(children).toEqual([lease.path.slice(path.length + 1)]);
    await lease.release();
    expect(await childrenLeft(zk, path)).toEqual([]);
  });

  it("an acquire given up while its create is in flight leaves no child, even without an id to find it by", async () => {
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString);
    const path = lockPath();
    await client.create(path);
    const abort = new AbortController();
    void giveUpMidWrite(proxy, OpCode.create2, () => abort.abort(new Error("gave up")));
    const lock = new Lock(client, path, { naming: { prefix: "lock-" } });
    await expect(lock.acquire({ signal: abort.signal })).rejects.toThrow("gave up");
    proxy.delay(0);
    expect(await childrenLeft(zk, path)).toEqual([]);
    await (await new Lock(zk, path).acquire({ timeout: 5_000 })).release();
  });

  it("a connection cut during the first create, before the lock path exists, still acquires", async () => {
    await using proxy = await proxyTo(connect);
    await using client = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    const path = lockPath(); // not created: the lost create failed on the server for want of it
    const cut = proxy.dropOnRequest((r) => r.opcode === OpCode.create2);
    const lease = await new Lock(client, path).acquire();
    await cut;
    expect((await zk.getChildren(path)).children).toEqual([lease.path.slice(path.length + 1)]);
    await lease.release();
  });

  it("the signal fires when the connection drops (grace 0) and before another contender acquires", async () => {
    const path = lockPath();
    await using proxy = await proxyTo(connect);
    const holderClient = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 2_000 });
    const lease = await new Lock(holderClient, path).acquire();
    const lostAt: number[] = [];
    lease.signal.addEventListener("abort", () => lostAt.push(performance.now()));
    const waiter = new Lock(zk, path).acquire().then((l) => {
      lostAt.push(-performance.now());
      return l;
    });
    proxy.blackhole(); // the holder's session will expire: the server hears nothing for 2 s
    const next = await waiter;
    expect(lostAt.length).toBe(2);
    expect(lostAt[0]).toBeGreaterThan(0); // the loss came first
    expect(lostAt[0]!).toBeLessThan(-lostAt[1]!);
    expect(lease.signal.reason).toBeInstanceOf(LockLostError);
    await next.release();
    proxy.release();
    await holderClient.close();
  });
});
