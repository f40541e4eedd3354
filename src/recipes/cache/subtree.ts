/**
 * Walking a subtree breadth first, with a bounded number of nodes read at once: what
 * node-zookeeper-client's listSubTreeBFS does (one getChildren per node, in turn), here pipelined.
 *
 *   const nodes = await listSubtree(zk, "/config", { data: true, concurrency: 64 });
 *   // [{ path: "/config", depth: 0, stat, children: ["a", "b"], data }, { path: "/config/a", depth: 1, ... }, ...]
 *
 * Each node costs one getChildren (its Stat and child names), plus a getData sent with it when data is
 * asked for, so a node costs one round trip either way. ZooKeeper has no snapshot read: the listing is
 * of a tree that may change while it is walked. A node deleted between its parent's listing and its own
 * read is left out (with its subtree); a node created under an already listed parent is not found.
 * Only the start node missing is an error (NoNode).
 */
import type { CallOptions, ZooKeeper } from "../../client/client.js";
import { ZkArgumentError, ZooKeeperError } from "../../errors.js";
import { ErrorCode } from "../../protocol/constants.js";
import type { Stat } from "../../protocol/records/stat.js";
import { joinPath, validatePath } from "../../session/paths.js";

export interface SubtreeNode {
  path: string;
  /** 0 for the start node. */
  depth: number;
  stat: Stat;
  /** Child names as listed (unordered, as the server gives them). */
  children: string[];
  /** With `data: true`. */
  data?: Uint8Array;
}

export interface SubtreeOptions extends CallOptions {
  /** Read each node's data too (default false). */
  data?: boolean;
  /** Nodes read at once (default 64). */
  concurrency?: number;
  /** Deepest level to list: 0 is the start node alone (default: all). */
  maxDepth?: number;
}

/** Checks a concurrency option (a positive integer), or returns the default. */
export function concurrencyOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new ZkArgumentError(`concurrency must be a positive integer, got ${String(value)}`);
  return value;
}

/** Checks a maxDepth option (an integer >= 0), or returns Infinity. */
export function maxDepthOf(value: unknown): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (
    typeof value !== "number" ||
    !(Number.isInteger(value) || value === Number.POSITIVE_INFINITY) ||
    value < 0
  )
    throw new ZkArgumentError(`maxDepth must be an integer >= 0, got ${String(value)}`);
  return value;
}

/**
 * Runs `visit` on the roots and on every item a visit returns, first in first out, with at most
 * `concurrency` visits in flight. Rejects with the first visit's error (no new visit starts after it);
 * resolves when every visit has ended.
 */
export function breadthFirst<T>(
  roots: readonly T[],
  concurrency: number,
  visit: (item: T) => Promise<readonly T[] | undefined>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue: T[] = [...roots];
    let head = 0;
    let running = 0;
    let failed = false;
    const pump = (): void => {
      while (!failed && running < concurrency && head < queue.length) {
        const item = queue[head++]!;
        running++;
        visit(item).then(
          (more) => {
            running--;
            if (more) for (const m of more) queue.push(m);
            // Drop what was visited now and then, so a long walk does not keep every item.
            if (head > 4096 && head * 2 > queue.length) {
              queue.splice(0, head);
              head = 0;
            }
            pump();
          },
          (err: unknown) => {
            running--;
            if (!failed) {
              failed = true;
              reject(err);
            }
          },
        );
      }
      if (!failed && running === 0 && head >= queue.length) resolve();
    };
    pump();
  });
}

/**
 * Every node of the subtree at `path`, breadth first (by depth, and in the order found within a
 * depth). See the file's comment for what a changing tree does to the listing.
 */
export async function listSubtree(
  zk: ZooKeeper,
  path: string,
  options: SubtreeOptions = {},
): Promise<SubtreeNode[]> {
  const root = validatePath(path);
  const concurrency = concurrencyOf(options.concurrency, 64);
  const maxDepth = maxDepthOf(options.maxDepth);
  const withData = options.data === true;
  const call: CallOptions = { signal: options.signal, timeout: options.timeout };
  options.signal?.throwIfAborted();
  const out: SubtreeNode[] = [];
  await breadthFirst([{ path: root, depth: 0 }], concurrency, async ({ path: p, depth }) => {
    let node: SubtreeNode;
    try {
      // Both requests leave together; the server answers them in order.
      const listing = zk.getChildren(p, call);
      const read = withData ? zk.getData(p, call) : undefined;
      read?.catch(() => undefined); // observed here; awaited below
      const { children, stat } = await listing;
      node = { path: p, depth, stat, children };
      if (read !== undefined) {
        const r = await read;
        node.data = r.data;
        node.stat = r.stat; // the later of the two reads
      }
    } catch (err) {
      if (p !== root && err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return undefined;
      throw err;
    }
    out.push(node);
    if (depth >= maxDepth) return undefined;
    return node.children.map((c) => ({ path: joinPath(p, c), depth: depth + 1 }));
  });
  // Visits end in any order; a stable sort by depth gives the breadth-first order back.
  return out.sort((a, b) => a.depth - b.depth);
}
