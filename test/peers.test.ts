/**
 * The peers zkwire's lock must interoperate with, checked on their own first: Curator's
 * InterProcessMutex and kazoo's Lock, each run as several processes on one lock path against the shared
 * real server. If these rounds fail, a failing zkwire-vs-peer test says nothing about zkwire.
 *
 * Proof of exclusion is the counter: each critical section does a version-checked increment, so two
 * holders at once show up as a BadVersion ("conflict") and a count short of the acquisitions.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ZooKeeper } from "../src/index.js";
import {
  type ContenderHandle,
  type ContenderResult,
  CURATOR_LOCK_NODE,
  installCurator,
  installKazoo,
  KAZOO_LOCK_NODE,
  killAllContenders,
  type RoundSummary,
  runGated,
  spawnCuratorContender,
  spawnKazooContender,
  summarize,
} from "./peers/peers.js";

const ITERATIONS = 50;
const root = `/zkwire-peers-${randomUUID().slice(0, 8)}`;
let zk: ZooKeeper;

beforeAll(async () => {
  // Cached after the first run (.ci/install-peers does it ahead); a cold install takes ~15 s.
  await Promise.all([installCurator(), installKazoo()]);
  zk = new ZooKeeper(inject("zkConnect"), { sessionTimeout: 10_000 });
  await zk.ready();
}, 600_000);

afterAll(async () => {
  await killAllContenders();
  if (zk !== undefined) {
    await zk.deleteRecursive(root).catch(() => {});
    await zk.close();
  }
});

interface Round {
  readonly lock: string;
  readonly counter: string;
  readonly results: ContenderResult[];
  readonly summary: RoundSummary;
  readonly count: number;
  /** Children left under the lock path once every contender is gone. */
  readonly leftover: string[];
  readonly ms: number;
}

type Spawn = (paths: { lock: string; counter: string }) => Promise<ContenderHandle>;

/** Starts the contenders, releases them together, and reads the counter and lock path afterwards. */
async function round(name: string, spawns: readonly Spawn[]): Promise<Round> {
  const lock = `${root}/${name}/lock`;
  const counter = `${root}/${name}/counter`;
  const started = performance.now();
  const handles = await Promise.all(spawns.map((spawn) => spawn({ lock, counter })));
  const results = await runGated(handles);
  const ms = Math.round(performance.now() - started);
  const { data } = await zk.getData(counter);
  let leftover: string[] = [];
  try {
    ({ children: leftover } = await zk.getChildren(lock));
  } catch {
    // Curator makes the lock path a container node, which the server removes once it is empty.
  }
  const summary = summarize(results.map((result) => result.events));
  return { lock, counter, results, summary, count: Number(new TextDecoder().decode(data)), leftover, ms };
}

function curator(id: string, holdMs = 0): Spawn {
  return ({ lock, counter }) =>
    spawnCuratorContender({
      connect: inject("zkConnect"),
      lockPath: lock,
      counterPath: counter,
      iterations: ITERATIONS,
      id,
      holdMs,
      gate: true,
    });
}

function kazoo(id: string, holdMs = 0, extraLockPatterns: string[] = []): Spawn {
  return ({ lock, counter }) =>
    spawnKazooContender({
      connect: inject("zkConnect"),
      lockPath: lock,
      counterPath: counter,
      iterations: ITERATIONS,
      id,
      holdMs,
      gate: true,
      extraLockPatterns,
    });
}

function expectClean(results: readonly ContenderResult[]): void {
  for (const result of results) {
    expect(
      result.error?.message,
      `${result.peer} ${result.id}: ${result.stderr.slice(-2_000)}`,
    ).toBeUndefined();
    expect(result.exit).toBe(0);
    expect(result.noise).toEqual([]);
    expect(result.done?.acquired).toBe(ITERATIONS);
  }
}

function describeRound(label: string, r: Round): string {
  const { acquired, conflicts, overlaps, inSequenceOrder } = r.summary;
  return (
    `${label}: ${r.ms} ms, acquired ${acquired}, counter ${r.count}, conflicts ${conflicts}, ` +
    `overlapping sections ${overlaps.length}, in sequence order ${inSequenceOrder}`
  );
}

describe("peer lock contenders", () => {
  it("3 Curator InterProcessMutex contenders exclude each other", async () => {
    const r = await round("curator", [curator("c1"), curator("c2"), curator("c3")]);
    console.info(describeRound("curator x3", r));
    expectClean(r.results);
    expect(r.summary.conflicts).toBe(0);
    expect(r.count).toBe(3 * ITERATIONS);
    expect(r.summary.overlaps).toEqual([]);
    expect(r.summary.inSequenceOrder).toBe(true);
    expect(r.summary.nodes).toHaveLength(3 * ITERATIONS);
    for (const node of r.summary.nodes) expect(node).toMatch(CURATOR_LOCK_NODE);
    // Curator takes a fresh protected-mode UUID for every create, so no two acquisitions share a name.
    expect(new Set(r.summary.nodes.map((node) => node.slice(0, -10))).size).toBe(3 * ITERATIONS);
    expect(r.leftover).toEqual([]);
  });

  it("3 kazoo Lock contenders exclude each other", async () => {
    const r = await round("kazoo", [kazoo("k1"), kazoo("k2"), kazoo("k3")]);
    console.info(describeRound("kazoo x3", r));
    expectClean(r.results);
    expect(r.summary.conflicts).toBe(0);
    expect(r.count).toBe(3 * ITERATIONS);
    expect(r.summary.overlaps).toEqual([]);
    expect(r.summary.inSequenceOrder).toBe(true);
    expect(r.summary.nodes).toHaveLength(3 * ITERATIONS);
    for (const node of r.summary.nodes) expect(node).toMatch(KAZOO_LOCK_NODE);
    // kazoo picks its UUID prefix once per Lock object, so one contender reuses it for every acquisition.
    expect(new Set(r.summary.nodes.map((node) => node.slice(0, 32))).size).toBe(3);
    expect(r.leftover).toEqual([]);
  });

  // Informative, not a requirement: zkwire must be compatible with each peer, and these show whether the
  // peers are compatible with each other. They are not. Curator (5.9.0, StandardLockInternalsDriver
  // .standardFixForSorting) sorts every child by what follows its last "lock-", and a kazoo name has
  // none, so "<hex>__lock__<seq>" is compared whole and lands after all of Curator's "<seq>" keys. kazoo
  // (2.11.0, lock.py Lock._get_predecessor) only counts children matching "__lock__(-?\d{10})$" plus
  // extra_lock_patterns. So conflicts are expected here, even with kazoo told Curator's pattern.
  it("2 Curator + 2 kazoo contenders on one lock path (informative)", async () => {
    const r = await round("mixed", [curator("c1", 2), curator("c2", 2), kazoo("k1", 2), kazoo("k2", 2)]);
    console.info(describeRound("curator x2 + kazoo x2", r));
    // Whatever the locks did, the bookkeeping must add up: every acquisition either incremented the
    // counter or was refused with BadVersion.
    for (const result of r.results) expect(result.exit, result.stderr.slice(-2_000)).toBe(0);
    expect(r.count).toBe(r.summary.acquired - r.summary.conflicts);
  });

  it("2 Curator + 2 kazoo with kazoo's extra_lock_patterns=['-lock-'] (informative)", async () => {
    const r = await round("mixed-pattern", [
      curator("c1", 2),
      curator("c2", 2),
      kazoo("k1", 2, ["-lock-"]),
      kazoo("k2", 2, ["-lock-"]),
    ]);
    console.info(describeRound("curator x2 + kazoo(-lock-) x2", r));
    for (const result of r.results) expect(result.exit, result.stderr.slice(-2_000)).toBe(0);
    expect(r.count).toBe(r.summary.acquired - r.summary.conflicts);
  });

  // Deterministic versions of the above with manual contenders, one step at a time.
  it("manual: Curator's holder blocks Curator and kazoo(-lock-) waiters, not a plain kazoo Lock", async () => {
    const paths = manualPaths("curator-holds");
    await using holder = await spawnCuratorContender({ ...paths, id: "c-holder", manual: true });
    await using plain = await spawnKazooContender({ ...paths, id: "k-plain", manual: true });
    await using curatorWaiter = await spawnCuratorContender({ ...paths, id: "c-waiter", manual: true });
    await using patterned = await spawnKazooContender({
      ...paths,
      id: "k-pattern",
      manual: true,
      extraLockPatterns: ["-lock-"],
    });
    await Promise.all([holder.ready, plain.ready, curatorWaiter.ready, patterned.ready]);

    const held = await holder.acquire();
    expect(held.node).toMatch(CURATOR_LOCK_NODE);
    // kazoo's default pattern only matches "__lock__<seq>": it does not see the holder at all.
    const intruder = await plain.acquire(5_000);
    expect(intruder.node).toMatch(KAZOO_LOCK_NODE);
    await plain.release();

    const curatorTurn = curatorWaiter.acquire();
    expect(await settlesWithin(curatorTurn, 500)).toBe(false);
    // Created after the Curator waiter's node, so kazoo waits for that one (its predecessor), not the holder.
    const patternedTurn = patterned.acquire();
    expect(await settlesWithin(patternedTurn, 500)).toBe(false);

    // The intruder incremented the counter under the holder's feet: the holder's versioned write fails.
    expect((await holder.release()).value).toBe(-1);
    const second = await curatorTurn;
    expect(second.seq).toBeGreaterThan(held.seq);
    expect(await settlesWithin(patternedTurn, 300)).toBe(false);
    await curatorWaiter.release();
    const third = await patternedTurn;
    expect(third.seq).toBeGreaterThan(second.seq);
    expect(third.value).toBe(second.value + 1);
    await patterned.release();
    const results = await Promise.all([holder, plain, curatorWaiter, patterned].map((h) => h.quit()));
    expect(results.map((result) => result.exit)).toEqual([0, 0, 0, 0]);
  });

  it("manual: kazoo's holder does not block a Curator waiter", async () => {
    const paths = manualPaths("kazoo-holds");
    await using holder = await spawnKazooContender({ ...paths, id: "k-holder", manual: true });
    await using waiter = await spawnCuratorContender({ ...paths, id: "c-waiter", manual: true });
    await Promise.all([holder.ready, waiter.ready]);
    const held = await holder.acquire();
    // Curator sorts "<hex>__lock__<seq>" by its whole name (it has no "lock-"), after every "<seq>" of its
    // own nodes, so the Curator node counts as first.
    const intruder = await waiter.acquire(5_000);
    expect(intruder.seq).toBeGreaterThan(held.seq);
    await Promise.all([holder.release(), waiter.release()]);
    const results = await Promise.all([holder.quit(), waiter.quit()]);
    expect(results.map((result) => result.exit)).toEqual([0, 0]);
  });
});

function manualPaths(name: string) {
  return {
    connect: inject("zkConnect"),
    lockPath: `${root}/${name}/lock`,
    counterPath: `${root}/${name}/counter`,
    iterations: 0,
  };
}

/** Whether the promise settles within ms (its outcome is left to whoever awaits it later). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, sleep(ms).then(() => false)]);
}
