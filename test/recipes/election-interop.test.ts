/**
 * Elections shared with the peers, through faults, judged from every participant's own record of when
 * it led (µs of the monotonic clock; every process on one host reads the same clock):
 * - zkwire LeaderLatch and Curator LeaderLatch (Java) participants in one latch: Curator's layout,
 *   both sides see the same leader and participants; exactly one leader at any time through a Curator
 *   leader killed with kill -9, a zkwire leader cut off until its session expires (it re-enters with a
 *   renewed session), closes, and a short cut (reconnect without reset).
 * - zkwire Election and kazoo Election (Python) contenders on one path: each leader increments a
 *   version-checked counter (a BadVersion would prove two leaders), through a kazoo leader killed with
 *   kill -9 and a zkwire leader cut off until its session expired.
 * - zkwire Election (naming "curator") and Curator LeaderSelector (Java, autoRequeue) contenders on one
 *   path: their children queue in one line in one layout (`_c_<uuid>-lock-<seq>`, data = id), each
 *   leader increments the version-checked counter, through a Curator leader killed with kill -9.
 * Judge: leadership intervals [became leader, stopped] of all participants never intersect.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Election, LeaderLatch, LockLostError, ZooKeeper, ZooKeeperError } from "../../src/index.js";
import { monotonicMicros } from "../peers/clock.js";
import {
  type ContenderHandle,
  CURATOR_LOCK_NODE,
  installCurator,
  installKazoo,
  killAllContenders,
  type PeerEvent,
  spawnCuratorProgram,
  spawnKazooProgram,
} from "../peers/peers.js";
import { proxyTo } from "../support/proxy.js";
import { until } from "../support/wait.js";

const SESSION_TIMEOUT = 4_000;
const connect = inject("zkConnect");
const root = `/zkwire-election-interop-${randomUUID().slice(0, 8)}`;
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

interface Interval {
  id: string;
  start: number;
  end: number;
}

/** Records a participant's leadership intervals; an open one is closed by `end(t)` (a kill) or at the end. */
class Record {
  readonly intervals: Interval[] = [];
  private open: { id: string; start: number } | null = null;
  lead(id: string, t: number): void {
    if (this.open === null) this.open = { id, start: t };
  }
  stop(t: number): void {
    if (this.open !== null) this.intervals.push({ ...this.open, end: t });
    this.open = null;
  }
}

/** Pairs of intervals of different participants that intersect. */
function overlaps(intervals: readonly Interval[]): [Interval, Interval][] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const found: [Interval, Interval][] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j]!.start < sorted[i]!.end; j++) {
      if (sorted[j]!.id !== sorted[i]!.id) found.push([sorted[i]!, sorted[j]!]);
    }
  }
  return found;
}

/** A Java peer's intervals from its isLeader/notLeader events; `killedAt` closes an open one. */
function javaIntervals(handle: ContenderHandle, killedAt?: number): Interval[] {
  const record = new Record();
  for (const e of handle.events as unknown as PeerEvent[]) {
    if (e.event === "isLeader") record.lead(handle.id, e.t as number);
    if (e.event === "notLeader" || e.event === "closed") record.stop(e.t as number);
  }
  record.stop(killedAt ?? monotonicMicros());
  return record.intervals;
}

describe("leader election shared with the peers", () => {
  it("zkwire and Curator LeaderLatch participants: one leader through kill -9, expiry and cuts", async () => {
    const path = `${root}/latch`;
    const spawnJava = (id: string) =>
      spawnCuratorProgram("LatchPeer", [connect, path, id, `--session-timeout-ms=${SESSION_TIMEOUT}`], {
        id,
        timeoutMs: 180_000,
      });
    await using proxy = await proxyTo(connect);
    const z1Client = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: SESSION_TIMEOUT,
      renewSessionOnExpiry: true,
    });
    const z2Client = await ZooKeeper.connect(connect, { sessionTimeout: SESSION_TIMEOUT });
    const records = new Map<string, Record>();
    const zkwireLatch = (client: ZooKeeper, id: string) => {
      const record = new Record();
      records.set(id, record);
      const latch = new LeaderLatch(client, path, { id });
      latch.on("isLeader", () => record.lead(id, monotonicMicros()));
      latch.on("notLeader", () => record.stop(monotonicMicros()));
      return latch.start();
    };
    const children = async (n: number) =>
      until(
        `${n} participants`,
        async () => (await admin.getChildren(path)).children.length === n,
        30_000,
        20,
      );
    const asked = new Map<ContenderHandle, number>();
    /** What a Curator peer sees: its latch's leader and participants (each answer numbered by the peer). */
    const curatorView = async (peer: ContenderHandle) => {
      const n = (asked.get(peer) ?? 0) + 1;
      asked.set(peer, n);
      peer.send("leader");
      return peer.waitForEvent("leader", (e) => e.n === n, 10_000);
    };
    const j1 = await spawnJava("j1");
    const j2Ready = { handle: null as ContenderHandle | null };
    let j1KilledAt: number | undefined;
    let z1: LeaderLatch | undefined;
    let z2: LeaderLatch | undefined;
    try {
      await j1.ready;
      await j1.waitForEvent("isLeader", undefined, 30_000);
      z1 = zkwireLatch(z1Client, "z1");
      await children(2);
      const j2 = await spawnJava("j2");
      j2Ready.handle = j2;
      await j2.ready;
      await children(3);
      z2 = zkwireLatch(z2Client, "z2");
      await children(4);

      // Both sides see one leader and the same line.
      const view = await curatorView(j2);
      expect(view.leader).toBe("j1");
      expect(view.participants).toEqual(["j1", "z1", "j2", "z2"]);
      expect((await z2.participants()).map((p) => p.id)).toEqual(["j1", "z1", "j2", "z2"]);
      const { children: names } = await admin.getChildren(path);
      for (const name of names) expect(name).toMatch(/^_c_[0-9a-f-]{36}-latch-\d{10}$/);

      // 1. The Curator leader is killed: its session expires, z1 (next in line) leads.
      j1.kill("SIGKILL");
      j1KilledAt = monotonicMicros();
      await z1.awaitLeadership({ timeout: 30_000 });

      // 2. z1 is cut off until its session expires: it steps down when suspended, j2 leads once the
      //    server expires z1's session, and z1 comes back with a renewed session at the back.
      const z1Session = z1Client.sessionId;
      proxy.blackhole(undefined, "drop");
      await j2.waitForEvent("isLeader", undefined, 30_000);
      proxy.release();
      await until(
        "z1 back in line",
        async () => z1Client.sessionId !== z1Session && (await admin.getChildren(path)).children.length === 3,
        30_000,
        50,
      );
      expect((await z2.participants()).map((p) => p.id)).toEqual(["j2", "z2", "z1"]);
      expect((await curatorView(j2)).participants).toEqual(["j2", "z2", "z1"]);

      // 3. The Curator leader closes: z2 leads; z2 closes (notifying): z1 leads.
      j2.send("close");
      await j2.waitForEvent("closed", undefined, 10_000);
      await z2.awaitLeadership({ timeout: 10_000 });
      await z2.close({ notify: true });
      await z1.awaitLeadership({ timeout: 10_000 });

      // 4. A short cut: z1 is suspended (not leader), reconnects with its session and leads again
      //    with the same child.
      const child = z1.nodePath;
      proxy.dropAll();
      await until("z1 suspended", () => !z1!.hasLeadership, 10_000, 5);
      await z1.awaitLeadership({ timeout: 10_000 });
      expect(z1.nodePath).toBe(child);
      await z1.close({ notify: true });

      const intervals = [
        ...javaIntervals(j1, j1KilledAt),
        ...javaIntervals(j2),
        ...[...records.values()].flatMap((r) => r.intervals),
      ];
      // Leaders in order: j1, z1, (z1 cut) j2, z2, z1, (short cut) z1.
      expect(intervals.length).toBeGreaterThanOrEqual(6);
      expect(overlaps(intervals)).toEqual([]);
    } finally {
      await z1?.close();
      await z2?.close();
      await z1Client.close();
      await z2Client.close();
      j1.kill();
      j2Ready.handle?.kill();
    }
  }, 240_000);

  it("zkwire and kazoo Election contenders: one leader through kill -9 and session expiry", async () => {
    const path = `${root}/election`;
    const counter = `${root}/election-counter`;
    await admin.create(counter, "0");
    const ITERATIONS = 8;
    const HOLD_MS = 50;
    const spawnKazoo = (id: string) =>
      spawnKazooProgram(
        "election_contender.py",
        [
          connect,
          path,
          counter,
          String(ITERATIONS),
          id,
          String(HOLD_MS),
          "--gate",
          `--session-timeout-ms=${SESSION_TIMEOUT}`,
        ],
        { id, timeoutMs: 180_000 },
      );
    await using proxy = await proxyTo(connect);
    const clients = {
      z1: await ZooKeeper.connect(proxy.connectString, {
        sessionTimeout: SESSION_TIMEOUT,
        renewSessionOnExpiry: true,
      }),
      z2: await ZooKeeper.connect(connect, { sessionTimeout: SESSION_TIMEOUT }),
    };
    const kazoo = await Promise.all([spawnKazoo("k1"), spawnKazoo("k2")]);
    const zkwireIntervals: Interval[] = [];
    let conflicts = 0;
    let writes = 0;
    let lost = 0;
    /** A zkwire contender: ITERATIONS leaderships, each one read-hold-write; z1 cuts itself off once. */
    const contend = async (id: "z1" | "z2") => {
      const election = new Election(clients[id], path, { id, naming: "kazoo" });
      const stop = new AbortController();
      let done = 0;
      let leaderships = 0;
      await election.run(
        async (lease) => {
          const start = monotonicMicros();
          let end = 0;
          lease.signal.addEventListener("abort", () => {
            end ||= monotonicMicros();
          });
          leaderships++;
          try {
            const { data, stat } = await clients[id].getData(counter);
            if (id === "z1" && leaderships === 3) proxy.blackhole(undefined, "drop"); // cut off while leading
            await new Promise((r) => setTimeout(r, HOLD_MS));
            if (lease.signal.aborted) throw lease.signal.reason;
            await lease.setData(counter, String(Number(Buffer.from(data).toString()) + 1), {
              version: stat.version,
            });
            end ||= monotonicMicros();
            writes++;
            if (++done === ITERATIONS) stop.abort();
          } catch (err) {
            end ||= monotonicMicros();
            // Lost: the lease's signal, or the write failed with the connection or the session (the
            // partition drops what it holds, so such a write never reached the server).
            if (
              err instanceof LockLostError ||
              (err instanceof ZooKeeperError && (err.isConnectionLoss || err.isSessionExpired))
            )
              lost++;
            else if (err instanceof Error && /BadVersion/.test(err.message)) conflicts++;
            else throw err;
          } finally {
            zkwireIntervals.push({ id, start, end });
          }
        },
        { requeue: true, signal: stop.signal },
      );
    };
    try {
      await Promise.all(kazoo.map((k) => k.ready));
      for (const k of kazoo) k.send("go");
      const runs = [contend("z1"), contend("z2")];
      // Kill k1 while it leads (right after an "enter": it holds for HOLD_MS).
      await kazoo[0]!.waitForEvent("enter", (e) => e.n === 2, 60_000);
      kazoo[0]!.kill("SIGKILL");
      const k1KilledAt = monotonicMicros();
      // Release the partition once z1's lease is lost and its session had time to expire.
      await until("z1 cut off and lost", () => lost > 0, 60_000, 20);
      await new Promise((r) => setTimeout(r, SESSION_TIMEOUT + 1_000));
      proxy.release();
      await Promise.all(runs);
      const k2 = await kazoo[1]!.result;
      expect(k2.exit, k2.stderr.slice(-2_000)).toBe(0);
      const k1 = await kazoo[0]!.result;

      // kazoo's own intervals: enter..exit, and k1's last enter closed by the kill.
      const kazooIntervals: Interval[] = [];
      for (const result of [k1, k2]) {
        const open = new Map<number, number>();
        for (const e of result.events as unknown as PeerEvent[]) {
          if (e.event === "enter") open.set(e.n as number, e.t as number);
          if (e.event === "exit") {
            kazooIntervals.push({ id: result.id, start: open.get(e.n as number)!, end: e.t as number });
            open.delete(e.n as number);
          }
        }
        for (const start of open.values()) kazooIntervals.push({ id: result.id, start, end: k1KilledAt });
      }
      const kazooConflicts = k2.done?.conflicts ?? -1;
      const kazooWrites =
        (k1.events as unknown as PeerEvent[]).filter((e) => e.event === "exit").length +
        (k2.done?.acquired ?? 0);
      expect(conflicts).toBe(0);
      expect(kazooConflicts).toBe(0);
      expect(lost).toBeGreaterThanOrEqual(1);
      expect(Number(Buffer.from((await admin.getData(counter)).data).toString())).toBe(writes + kazooWrites);
      // Every leadership was recorded: z1 and z2 ITERATIONS writes each plus z1's lost one; k2 all of its
      // own, k1 at least the two it entered before the kill.
      expect(zkwireIntervals.length).toBeGreaterThanOrEqual(2 * ITERATIONS + 1);
      expect(kazooIntervals.length).toBeGreaterThanOrEqual(ITERATIONS + 2);
      expect(overlaps([...zkwireIntervals, ...kazooIntervals])).toEqual([]);
      // kazoo saw the zkwire contenders in its line (their ids are the children's data).
      const seen = new Set(
        (k2.events as unknown as PeerEvent[]).flatMap((e) => (e.contenders as string[] | undefined) ?? []),
      );
      expect(seen.has("z1") || seen.has("z2")).toBe(true);
    } finally {
      for (const k of kazoo) k.kill();
      await clients.z1.close();
      await clients.z2.close();
    }
  }, 240_000);

  it("zkwire and Curator LeaderSelector contenders: one line, one leader, through kill -9", async () => {
    const path = `${root}/selector`;
    const counter = `${root}/selector-counter`;
    await admin.create(counter, "0");
    const ROUNDS = 5;
    // Long enough that a kill sent on "isLeader" lands before that leader writes the counter.
    const HOLD_MS = 100;
    const spawnJava = (id: string) =>
      spawnCuratorProgram(
        "SelectorPeer",
        [
          connect,
          path,
          counter,
          String(ROUNDS),
          id,
          String(HOLD_MS),
          "--gate",
          `--session-timeout-ms=${SESSION_TIMEOUT}`,
        ],
        { id, timeoutMs: 180_000 },
      );
    const clients = {
      z1: await ZooKeeper.connect(connect, { sessionTimeout: SESSION_TIMEOUT }),
      z2: await ZooKeeper.connect(connect, { sessionTimeout: SESSION_TIMEOUT }),
    };
    const java = await Promise.all([spawnJava("j1"), spawnJava("j2"), spawnJava("j3")]);
    const [j1, j2, j3] = java as [ContenderHandle, ContenderHandle, ContenderHandle];
    const elections = {
      z1: new Election(clients.z1, path, { id: "z1", naming: "curator" }),
      z2: new Election(clients.z2, path, { id: "z2", naming: "curator" }),
    };
    const zkwireIntervals: Interval[] = [];
    let conflicts = 0;
    let writes = 0;
    /** A zkwire contender: ROUNDS leaderships, each one read-hold-write of the counter. */
    const contend = async (id: "z1" | "z2") => {
      const stop = new AbortController();
      let done = 0;
      await elections[id].run(
        async (lease) => {
          const start = monotonicMicros();
          try {
            const { data, stat } = await clients[id].getData(counter);
            await new Promise((r) => setTimeout(r, HOLD_MS));
            await lease.setData(counter, String(Number(Buffer.from(data).toString()) + 1), {
              version: stat.version,
            });
            writes++;
          } catch (err) {
            if (err instanceof ZooKeeperError && err.is("BadVersion")) conflicts++;
            else throw err;
          } finally {
            zkwireIntervals.push({ id, start, end: monotonicMicros() });
            if (++done === ROUNDS) stop.abort();
          }
        },
        { requeue: true, signal: stop.signal },
      );
    };
    try {
      await Promise.all(java.map((j) => j.ready));
      // The fault: j1 is killed with kill -9 as it starts its second leadership (it reads, then holds
      // for HOLD_MS before writing, so it dies holding leadership and having written nothing).
      let j1KilledAt: number | undefined;
      const killed = j1
        .waitForEvent("isLeader", (e) => e.n === 2, 60_000)
        .then(() => {
          j1.kill("SIGKILL");
          j1KilledAt = monotonicMicros();
        });
      killed.catch(() => undefined); // awaited below; a failure before that must not go unhandled
      for (const j of java) j.send("go");
      const runs = [contend("z1"), contend("z2")];

      // One line: with all five queued (one leads, the others wait), every child, zkwire's and Curator's
      // alike, is named in Curator's mutex layout and holds its contender's id.
      let line: { children: string[]; ids: string[] } | undefined;
      await until(
        "all five contenders in line",
        async () => {
          try {
            const { children } = await admin.getChildren(path);
            if (children.length < 5) return false;
            const ids = await Promise.all(
              children.map(async (c) => Buffer.from((await admin.getData(`${path}/${c}`)).data).toString()),
            );
            line = { children, ids };
            return true;
          } catch {
            return false; // no path yet, or a leader released its child between the two reads
          }
        },
        30_000,
        10,
      );
      for (const name of line!.children) expect(name).toMatch(CURATOR_LOCK_NODE);
      expect([...line!.ids].sort()).toEqual(["j1", "j2", "j3", "z1", "z2"]);

      await killed;
      await Promise.all(runs);
      const [r1, r2, r3] = await Promise.all(java.map((j) => j.result));
      for (const r of [r2!, r3!]) {
        expect(r.exit, r.stderr.slice(-2_000)).toBe(0);
        expect(r.events.find((e) => e.event === "done")).toMatchObject({ leaderships: ROUNDS, conflicts: 0 });
      }
      expect(r1!.exit).toBe("SIGKILL");

      const javaEvents = [r1!, r2!, r3!].flatMap((r) => r.events as unknown as PeerEvent[]);
      const javaLeaderships = javaEvents.filter((e) => e.event === "isLeader").length;
      const javaWrites = javaEvents.filter((e) => e.event === "wrote").length;
      expect(javaEvents.filter((e) => e.event === "conflict")).toEqual([]);
      expect(conflicts).toBe(0);
      // j1 led twice; its second leadership ended with the kill, which lands within the 100 ms hold,
      // before the write, unless a loaded machine let j1 write first (its line may not be logged then).
      expect(javaEvents.filter((e) => e.id === "j1" && e.event === "isLeader").length).toBe(2);
      expect(javaLeaderships).toBe(2 + 2 * ROUNDS);
      expect(zkwireIntervals.length).toBe(2 * ROUNDS);
      // Every completed leadership incremented the counter once, from the value the previous one left
      // (a version-checked write: two leaders at once would have met a BadVersion above).
      const total = Number(Buffer.from((await admin.getData(counter)).data).toString());
      const leaderships = zkwireIntervals.length + javaLeaderships;
      expect(total).toBeGreaterThanOrEqual(writes + javaWrites);
      expect(total).toBeLessThanOrEqual(writes + javaWrites + 1); // j1's unlogged last write, at most
      expect(total).toBeGreaterThanOrEqual(leaderships - 1);
      expect(total).toBeLessThanOrEqual(leaderships);

      const intervals = [
        ...zkwireIntervals,
        ...javaIntervals(j1, j1KilledAt),
        ...javaIntervals(j2),
        ...javaIntervals(j3),
      ];
      for (const id of ["z1", "z2", "j1", "j2", "j3"]) expect(intervals.some((i) => i.id === id)).toBe(true);
      expect(overlaps(intervals)).toEqual([]);
      // Curator's LeaderSelector listed the zkwire contenders among its participants.
      const seen = new Set(javaEvents.flatMap((e) => (e.participants as string[] | undefined) ?? []));
      expect(seen.has("z1") || seen.has("z2")).toBe(true);
    } finally {
      for (const j of java) j.kill();
      await elections.z1.close();
      await elections.z2.close();
      await clients.z1.close();
      await clients.z2.close();
    }
  }, 240_000);
});
