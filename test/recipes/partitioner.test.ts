/**
 * Partitioner against a real server, and beside kazoo's SetPartitioner on one path: 2 kazoo members
 * (Python processes) and 2 zkwire members split 20 items. The proof is the members' own logs of when
 * they held which items ("acquired" until "release"), in monotonic-clock microseconds of one host: no item is
 * ever held by two members at once; once stable every item is held by exactly one; and after a member (a
 * kazoo one, then a zkwire one) is killed with kill -9, the others own its items again within the session
 * timeout plus the settle time (and some slack for the machine).
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kazooPartition, Partitioner, ZkArgumentError, ZooKeeper } from "../../src/index.js";
import { trackChild } from "../../src/testing/reaper.js";
import { monotonicMicros } from "../peers/clock.js";
import {
  type ContenderHandle,
  installKazoo,
  killAllContenders,
  type PeerEvent,
  spawnKazooProgram,
} from "../peers/peers.js";
import { proxyTo } from "../support/proxy.js";

const connect = inject("zkConnect");
const root = `/zkwire-partition-${randomUUID().slice(0, 8)}`;
const SESSION_MS = 4_000;
const SETTLE_S = 1;
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

/** One member's log, in the kazoo program's terms: ACQUIRED with the items, RELEASE, FAILURE. */
interface Entry {
  state: "ACQUIRED" | "RELEASE" | "ALLOCATING" | "FAILURE";
  items?: string[];
  t: number;
}

/** A zkwire member in this process, logging like the kazoo program and releasing at once when asked. */
async function zkwireMember(path: string, id: string, items: string[]) {
  const zk = await ZooKeeper.connect(connect, { sessionTimeout: SESSION_MS });
  const partitioner = new Partitioner(zk, path, items, { id, settle: SETTLE_S * 1000 });
  const log: Entry[] = [];
  let held: string[] = [];
  const done = (async () => {
    for await (const state of partitioner.states()) {
      if (state.kind === "acquired") {
        held = [...state.items];
        log.push({ state: "ACQUIRED", items: held, t: monotonicMicros() });
      } else if (state.kind === "release") {
        log.push({ state: "RELEASE", items: held, t: monotonicMicros() });
        held = [];
        await partitioner.release();
      } else if (state.kind === "failure") {
        log.push({ state: "FAILURE", t: monotonicMicros() });
        break;
      }
    }
  })();
  return {
    id,
    log,
    partitioner,
    async close() {
      await partitioner.close();
      await done;
      await zk.close();
    },
  };
}

function kazooLog(handle: ContenderHandle): Entry[] {
  return (handle.events as unknown as PeerEvent[])
    .filter((e) => e.event === "state")
    .map((e) => ({
      state: e.state as Entry["state"],
      items: e.items as string[] | undefined,
      t: e.t as number,
    }));
}

/** What a member holds now according to its log (its last ACQUIRED, unless released since). */
function holding(log: readonly Entry[]): string[] | null {
  const last = [...log].reverse().find((e) => e.state !== "ALLOCATING");
  return last?.state === "ACQUIRED" ? (last.items ?? []) : null;
}

/** Every interval in which a member held an item; an open one ends at `end` (now, or its kill). */
function intervals(id: string, log: readonly Entry[], end: number) {
  const out: { id: string; item: string; from: number; to: number }[] = [];
  let open: Entry | null = null;
  for (const e of log) {
    if (e.state === "ACQUIRED") open = e;
    else if ((e.state === "RELEASE" || e.state === "FAILURE") && open !== null) {
      for (const item of open.items ?? []) out.push({ id, item, from: open.t, to: e.t });
      open = null;
    }
  }
  if (open !== null) for (const item of open.items ?? []) out.push({ id, item, from: open.t, to: end });
  return out;
}

function overlaps(all: ReturnType<typeof intervals>): string[] {
  const found: string[] = [];
  for (let i = 0; i < all.length; i++)
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i]!;
      const b = all[j]!;
      if (a.item === b.item && a.id !== b.id && a.from < b.to && b.from < a.to)
        found.push(`${a.item}: ${a.id} [${a.from}, ${a.to}] and ${b.id} [${b.from}, ${b.to}]`);
    }
  return found;
}

async function eventually(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Partitioner", () => {
  it("assigns as kazoo's SetPartitioner does: sorted items from the member's index, every n-th", () => {
    const items = ["i3", "i1", "i2", "i0", "i4"];
    expect(kazooPartition("b", ["c", "a", "b"], items)).toEqual(["i1", "i4"]);
    expect(kazooPartition("a", ["c", "a", "b"], items)).toEqual(["i0", "i3"]);
    expect(kazooPartition("x", ["a"], items)).toEqual([]);
  });

  it("refuses bad input before anything is sent", async () => {
    await using zk = await ZooKeeper.connect(connect);
    const path = `${root}/bad`;
    expect(() => new Partitioner(zk, path, ["ok", "a/b"])).toThrow(ZkArgumentError);
    expect(() => new Partitioner(zk, path, [".."])).toThrow(ZkArgumentError);
    expect(() => new Partitioner(zk, path, ["a", "a"])).toThrow(ZkArgumentError);
    expect(() => new Partitioner(zk, path, ["a"], { id: "x/y" })).toThrow(ZkArgumentError);
    expect(() => new Partitioner(zk, path, ["a"], { id: "x".repeat(0x100000) })).toThrow(ZkArgumentError);
    expect(() => new Partitioner(zk, path, ["a"], { settle: -1 })).toThrow(ZkArgumentError);
    expect(() => new Partitioner(zk, "/", ["a"])).toThrow(ZkArgumentError);
    expect(await admin.exists(path)).toBeNull();
  });

  it("splits a set between two zkwire members, re-splits when one leaves, and removes its nodes on close", async () => {
    const path = `${root}/local`;
    const items = Array.from({ length: 6 }, (_, i) => `item-${i}`);
    const a = await zkwireMember(path, "a", items);
    const b = await zkwireMember(path, "b", items);
    await eventually(() => {
      const ha = holding(a.log);
      const hb = holding(b.log);
      return ha !== null && hb !== null && ha.length + hb.length === 6;
    }, 30_000);
    expect(holding(a.log)).toEqual(kazooPartition("a", ["a", "b"], items));
    expect(holding(b.log)).toEqual(kazooPartition("b", ["a", "b"], items));
    const before = a.log.length;
    await b.close();
    expect((await admin.getChildren(`${path}/party`)).children).toHaveLength(1);
    await eventually(() => a.log.length > before && holding(a.log)?.length === 6, 30_000);
    expect(
      overlaps([...intervals("a", a.log, monotonicMicros()), ...intervals("b", b.log, monotonicMicros())]),
    ).toEqual([]);
    await a.close();
    expect((await admin.getChildren(`${path}/party`)).children).toEqual([]);
    for (const item of items) expect((await admin.getChildren(`${path}/locks/${item}`)).children).toEqual([]);
  }, 90_000);

  it("closes when its signal aborts: failure, the locks released and the party left", async () => {
    const path = `${root}/abort`;
    await using zk = await ZooKeeper.connect(connect);
    const controller = new AbortController();
    const partitioner = new Partitioner(zk, path, ["x"], {
      id: "solo",
      settle: 100,
      signal: controller.signal,
    });
    expect(await partitioner.waitForAcquire({ timeout: 20_000 })).toEqual(["x"]);
    expect((await admin.getChildren(`${path}/locks/x`)).children).toHaveLength(1);
    controller.abort();
    await partitioner.close(); // idempotent: resolves once the abort's close is done
    expect(partitioner.state.kind).toBe("failure");
    expect((await admin.getChildren(`${path}/party`)).children).toEqual([]);
    expect((await admin.getChildren(`${path}/locks/x`)).children).toEqual([]);
  });

  it("keeps its items through a short disconnect, and gives them up once the session could have expired", async () => {
    const path = `${root}/blip`;
    await using proxy = await proxyTo(connect);
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 3_000 });
    await using partitioner = new Partitioner(zk, path, ["x", "y"], { id: "solo", settle: 200 });
    expect(await partitioner.waitForAcquire({ timeout: 20_000 })).toEqual(["x", "y"]);
    const seen: string[] = [];
    const watching = (async () => {
      for await (const state of partitioner.states()) {
        seen.push(state.kind);
        if (state.kind === "release" || state.kind === "failure") break;
      }
    })();
    // A cut connection: the client reconnects at once, the same session, the lock nodes still there.
    const reconnected = new Promise((r) => zk.once("state", () => zk.once("state", r)));
    proxy.dropAll();
    await reconnected;
    expect(zk.state.kind).toBe("connected");
    await new Promise((r) => setTimeout(r, 500));
    expect(partitioner.state.kind).toBe("acquired");
    // Silence past two thirds of the session timeout: the session could expire, the items go.
    proxy.blackhole();
    await watching;
    expect(seen).toEqual(["acquired", "release"]);
    proxy.release();
  }, 60_000);

  it("shares a path with kazoo's SetPartitioner: 2 kazoo + 2 zkwire members, 20 items, a kazoo and a zkwire member killed", async () => {
    await installKazoo();
    const path = `${root}/mixed`;
    const items = Array.from({ length: 20 }, (_, i) => `item-${String(i).padStart(2, "0")}`);
    const memberArgs = (id: string) => [
      connect,
      path,
      id,
      String(SETTLE_S),
      items.join(","),
      `--session-timeout-ms=${SESSION_MS}`,
    ];
    const kazoo = await Promise.all(
      ["k1", "k2"].map((id) =>
        spawnKazooProgram("partitioner.py", memberArgs(id), { id, timeoutMs: 180_000 }),
      ),
    );
    // z2 is a process of its own (the same protocol as the kazoo member), so that it can be killed -9.
    const z2 = spawnZkwireMember(memberArgs("z2"));
    await Promise.all([...kazoo.map((k) => k.waitForEvent("ready")), z2.ready]);
    const z1 = await zkwireMember(path, "z1", items);
    const logs = () =>
      new Map<string, Entry[]>([
        ...kazoo.map((k) => [k.id, kazooLog(k)] as const),
        ["z1", z1.log],
        ["z2", z2.log],
      ]);

    /** Every live member acquired (after `since`), and their items split the set exactly. */
    const stable = (ids: readonly string[], since = 0) => {
      const all = logs();
      const held: string[] = [];
      for (const id of ids) {
        const log = all.get(id)!;
        const h = holding(log);
        if (h === null) return false;
        const last = [...log].reverse().find((e) => e.state === "ACQUIRED")!;
        if (last.t < since) return false;
        held.push(...h);
      }
      return held.length === items.length && new Set(held).size === items.length;
    };
    /** kill -9 `kill()`'s member, wait until `survivors` own everything again; ms from kill to re-owned. */
    const killAndRebalance = async (kill: () => Promise<unknown>, survivors: readonly string[]) => {
      const killedAt = monotonicMicros();
      await kill();
      await eventually(() => stable(survivors, killedAt), 60_000);
      const reowned = Math.max(
        ...survivors.map((id) => [...logs().get(id)!].reverse().find((e) => e.state === "ACQUIRED")!.t),
      );
      for (const id of survivors) {
        expect(holding(logs().get(id)!)).toEqual(kazooPartition(id, survivors, items));
      }
      return { killedAt, ms: (reowned - killedAt) / 1000 };
    };
    // The server expires a session T after it last heard from the client (checked every tickTime, 250 ms
    // here); then the party settles for SETTLE_S and the locks are taken. The kill comes right after the
    // member acquired, so its session lives nearly a full T after the kill: 2 s of slack for the rest on
    // a loaded 2-core machine.
    const bound = SESSION_MS + SETTLE_S * 1000 + 2_000;

    const everyone = ["k1", "k2", "z1", "z2"];
    await eventually(() => stable(everyone), 60_000);
    // Once stable: exactly kazoo's assignment over the four ids, each item with one member.
    for (const id of everyone) {
      expect(holding(logs().get(id)!)).toEqual(kazooPartition(id, everyone, items));
    }

    // kill -9 a kazoo member: its party node and locks go only when its session expires.
    const k1 = await killAndRebalance(async () => {
      kazoo[0]!.kill("SIGKILL");
      await kazoo[0]!.result;
    }, ["k2", "z1", "z2"]);
    expect(k1.ms).toBeLessThan(bound);
    // Then a zkwire member.
    const z2Kill = await killAndRebalance(() => z2.kill(), ["k2", "z1"]);
    expect(z2Kill.ms).toBeLessThan(bound);

    // At no moment was an item held by two members (a killed member's last hold ends at its kill).
    const now = monotonicMicros();
    const ends: Record<string, number> = { k1: k1.killedAt, z2: z2Kill.killedAt };
    const all = [...logs()].flatMap(([id, log]) => intervals(id, log, ends[id] ?? now));
    expect(overlaps(all)).toEqual([]);

    await z1.close();
    kazoo[1]!.send("quit");
    await kazoo[1]!.result;
    console.log(
      `partitioner: items re-owned ${k1.ms.toFixed(0)} ms after kill -9 of a kazoo member, ` +
        `${z2Kill.ms.toFixed(0)} ms after kill -9 of a zkwire member (T=${SESSION_MS} ms, settle ${SETTLE_S} s)`,
    );
  }, 180_000);
});

/** test/peers/zkwire/partition-member.ts as a process: its log (the kazoo member's events), kill -9. */
function spawnZkwireMember(args: string[]) {
  const script = fileURLToPath(new URL("../peers/zkwire/partition-member.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  trackChild(child);
  const log: Entry[] = [];
  let buffered = "";
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  child.stderr!.resume();
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const event = JSON.parse(line) as {
        event: string;
        state?: Entry["state"];
        items?: string[];
        t?: number;
      };
      if (event.event === "ready") onReady();
      if (event.event === "state") log.push({ state: event.state!, items: event.items, t: event.t! });
    }
  });
  return {
    log,
    ready,
    kill() {
      child.kill("SIGKILL");
      return exited;
    },
  };
}
