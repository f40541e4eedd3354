/**
 * What the cache tests share: building a tree, comparing a cache with a fresh read of the server node
 * by node, a mutator that records every state it made (so an event can be checked against real
 * transitions), and the checks on a cache's event log.
 */
import { randomUUID } from "node:crypto";
import {
  type CacheNodeEvent,
  listSubtree,
  type Stat,
  type TreeCache,
  type TreeCacheEvent,
  type ZooKeeper,
  ZooKeeperError,
} from "../../src/index.js";
import { until } from "../support/wait.js";

/** root, `dirs` directories d0.., each with `leaves` leaves n0.. (data "v0"). */
export async function buildTree(zk: ZooKeeper, root: string, dirs: number, leaves: number): Promise<void> {
  await zk.create(root, "root", { createParents: true });
  await Promise.all(Array.from({ length: dirs }, (_, d) => zk.create(`${root}/d${d}`, `dir ${d}`)));
  const creates: Promise<unknown>[] = [];
  for (let d = 0; d < dirs; d++) {
    for (let n = 0; n < leaves; n++) creates.push(zk.create(`${root}/d${d}/n${n}`, "v0"));
  }
  await Promise.all(creates);
}

/** Differences between the cache and a fresh read of the server (empty: equal, node by node). */
export async function differences(cache: TreeCache, zk: ZooKeeper, root: string): Promise<string[]> {
  let nodes: Awaited<ReturnType<typeof listSubtree>>;
  try {
    nodes = await listSubtree(zk, root, { data: true, maxDepth: maxDepthOf(cache) });
  } catch (err) {
    if (err instanceof ZooKeeperError && err.is("NoNode")) nodes = [];
    else throw err;
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const node of nodes) {
    seen.add(node.path);
    const cached = cache.get(node.path);
    if (cached === undefined) {
      out.push(`${node.path}: on the server, not cached`);
      continue;
    }
    if (Buffer.compare(Buffer.from(cached.data), Buffer.from(node.data!)) !== 0)
      out.push(`${node.path}: data ${show(cached.data)} != server ${show(node.data!)}`);
    for (const k of [
      "czxid",
      "mzxid",
      "version",
      "ctime",
      "mtime",
      "ephemeralOwner",
      "dataLength",
    ] as const) {
      if (cached.stat[k] !== node.stat[k])
        out.push(`${node.path}: ${k} ${cached.stat[k]} != server ${node.stat[k]}`);
    }
    const names = [...node.children].sort();
    const cachedNames = cache.children(node.path) ?? [];
    if (node.depth < maxDepthOf(cache) && names.join("/") !== cachedNames.join("/"))
      out.push(`${node.path}: children ${cachedNames.length} cached != ${names.length} on the server`);
  }
  for (const p of cache.paths()) if (!seen.has(p)) out.push(`${p}: cached, not on the server`);
  return out;
}

function maxDepthOf(cache: TreeCache): number {
  return cache.maxDepth;
}

function show(data: Uint8Array): string {
  return JSON.stringify(Buffer.from(data).toString());
}

/** Waits (bounded) until the cache equals the server; fails with the differences left. */
export async function untilEqual(
  cache: TreeCache,
  zk: ZooKeeper,
  root: string,
  timeoutMs = 30_000,
): Promise<void> {
  let last: string[] = [];
  try {
    await until(
      "the cache to equal the server",
      async () => {
        last = await differences(cache, zk, root);
        return last.length === 0;
      },
      timeoutMs,
      200,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; ${last.length} differences, first: ${last.slice(0, 5).join("; ")}`,
    );
  }
}

/** Records every event of a cache, from before start(). */
export function record(cache: TreeCache): TreeCacheEvent[] {
  const log: TreeCacheEvent[] = [];
  for (const type of [
    "created",
    "changed",
    "deleted",
    "initialized",
    "resynced",
    "expired",
    "error",
  ] as const) {
    cache.on(type, (e: TreeCacheEvent) => log.push(e));
  }
  return log;
}

/**
 * Every state the mutator made a node take, per path: "czxid:mzxid" pairs, from the reply of the write
 * that made it or, when that reply was lost with the connection, from a read once a second attempt
 * proved the first applied (one writer per path, one write at a time).
 */
export type Truth = Map<string, Set<string>>;

export function stateKey(stat: Stat): string {
  return `${stat.czxid}:${stat.mzxid}`;
}

/** Records the initial tree's states. */
export async function truthOf(zk: ZooKeeper, root: string): Promise<Truth> {
  const truth: Truth = new Map();
  for (const node of await listSubtree(zk, root)) truth.set(node.path, new Set([stateKey(node.stat)]));
  return truth;
}

function note(truth: Truth, path: string, stat: Stat): void {
  let set = truth.get(path);
  if (set === undefined) truth.set(path, (set = new Set()));
  set.add(stateKey(stat));
}

export interface MutatorOptions {
  root: string;
  dirs: number;
  leaves: number;
  ops: number;
  workers: number;
  /** Called after each op with the number done, to inject faults at points of the run. */
  progress?: (done: number) => void | Promise<void>;
  seed?: number;
}

/**
 * `ops` random creates, sets and deletes over the tree from buildTree, by `workers` sequential workers
 * each owning whole directories (so each path has one writer, one write at a time). Names are reused, so
 * nodes are deleted and created again. A write whose answer a connection loss hid is sent again until
 * it has one, made so that at most one of the two can apply: setData carries the version the writer
 * knows (a BadVersion then says the first one applied, and a read shows its state), a create and a
 * delete fail the second time if the first applied.
 */
export async function mutate(
  zk: ZooKeeper,
  truth: Truth,
  options: MutatorOptions,
): Promise<{ done: number }> {
  let seed = options.seed ?? 12345;
  const random = () => {
    // mulberry32: a reproducible run
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let done = 0;
  const worker = async (w: number) => {
    const dirs = Array.from({ length: options.dirs }, (_, d) => d).filter((d) => d % options.workers === w);
    const live = new Map<number, Set<number>>(
      dirs.map((d) => [d, new Set(Array.from({ length: options.leaves }, (_, n) => n))]),
    );
    // The version of each node this worker wrote or created (buildTree's nodes are at version 0).
    const versions = new Map<string, number>();
    const set = async (path: string, data: string) => {
      const stat = await settleSet(zk, truth, path, data, versions.get(path) ?? 0);
      versions.set(path, stat.version);
    };
    while (done < options.ops) {
      const d = dirs[Math.floor(random() * dirs.length)]!;
      const leaves = live.get(d)!;
      const r = random();
      const n = Math.floor(random() * (options.leaves + 20));
      const path = `${options.root}/d${d}/n${n}`;
      const dirPath = `${options.root}/d${d}`;
      if (r < 0.05) {
        await set(dirPath, `dir ${d} ${randomUUID().slice(0, 6)}`);
      } else if (!leaves.has(n) && r < 0.5) {
        await settleCreate(zk, truth, path, `c${done}`);
        versions.set(path, 0);
        leaves.add(n);
      } else if (leaves.has(n) && r < 0.75) {
        await settleDelete(zk, path);
        versions.delete(path);
        leaves.delete(n);
      } else if (leaves.has(n)) {
        await set(path, `s${done}-${randomUUID().slice(0, 8)}`);
      } else {
        continue;
      }
      done++;
      await options.progress?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return { done };
}

const pause = () => new Promise((r) => setTimeout(r, 200));

function retryable(err: unknown): boolean {
  return err instanceof ZooKeeperError && (err.isConnectionLoss || err.is("SessionExpired"));
}

async function settleSet(
  zk: ZooKeeper,
  truth: Truth,
  path: string,
  data: string,
  version: number,
): Promise<Stat> {
  for (;;) {
    try {
      const stat = await zk.setData(path, data, { version });
      note(truth, path, stat);
      return stat;
    } catch (err) {
      if (err instanceof ZooKeeperError && err.is("BadVersion")) {
        // The attempt whose answer was lost applied; the node is in the state it left.
        const stat = (await readStat(zk, path))!;
        note(truth, path, stat);
        return stat;
      }
      if (!retryable(err)) throw err;
      await pause();
    }
  }
}

async function settleCreate(zk: ZooKeeper, truth: Truth, path: string, data: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      note(truth, path, (await zk.create(path, data)).stat);
      return;
    } catch (err) {
      if (attempt > 0 && err instanceof ZooKeeperError && err.is("NodeExists")) {
        note(truth, path, (await readStat(zk, path))!);
        return;
      }
      if (!retryable(err)) throw err;
      await pause();
    }
  }
}

async function settleDelete(zk: ZooKeeper, path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await zk.delete(path);
      return;
    } catch (err) {
      if (attempt > 0 && err instanceof ZooKeeperError && err.is("NoNode")) return;
      if (!retryable(err)) throw err;
      await pause();
    }
  }
}

async function readStat(zk: ZooKeeper, path: string): Promise<Stat | null> {
  for (;;) {
    try {
      return await zk.exists(path);
    } catch (err) {
      if (!retryable(err)) throw err;
      await pause();
    }
  }
}

/**
 * Checks a cache's event log: per node, events alternate created -> changed* -> deleted, each created or
 * changed state is one the mutator made (czxid and mzxid), and mzxids increase within an incarnation,
 * czxids from one incarnation to the next. Returns the problems found.
 */
export function checkEvents(
  log: TreeCacheEvent[],
  truth: Truth,
  initial = new Map<string, Stat>(),
): string[] {
  const problems: string[] = [];
  const last = new Map<string, { alive: boolean; stat: Stat }>();
  for (const [path, stat] of initial) last.set(path, { alive: true, stat });
  for (const e of log) {
    if (e.type !== "created" && e.type !== "changed" && e.type !== "deleted") continue;
    const ev = e as CacheNodeEvent;
    const prev = last.get(ev.path);
    const where = `${ev.type} ${ev.path} (czxid ${ev.stat.czxid}, mzxid ${ev.stat.mzxid})`;
    if (ev.type !== "deleted" && !(truth.get(ev.path)?.has(stateKey(ev.stat)) ?? false))
      problems.push(`${where}: a state the server never had`);
    if (ev.type === "created") {
      if (prev?.alive) problems.push(`${where}: created while cached`);
      if (prev && ev.stat.czxid <= prev.stat.czxid)
        problems.push(`${where}: an incarnation not newer than the last`);
      last.set(ev.path, { alive: true, stat: ev.stat });
    } else if (ev.type === "changed") {
      if (!prev?.alive) problems.push(`${where}: changed while not cached`);
      else if (ev.stat.czxid !== prev.stat.czxid || ev.stat.mzxid <= prev.stat.mzxid)
        problems.push(`${where}: not after the last state (mzxid ${prev.stat.mzxid})`);
      last.set(ev.path, { alive: true, stat: ev.stat });
    } else {
      if (!prev?.alive) problems.push(`${where}: deleted while not cached`);
      else if (ev.stat.czxid !== prev.stat.czxid || ev.stat.mzxid !== prev.stat.mzxid)
        problems.push(`${where}: deleted with a state other than the last announced`);
      last.set(ev.path, { alive: false, stat: ev.stat });
    }
  }
  return problems;
}
