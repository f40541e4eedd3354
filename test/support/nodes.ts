/**
 * What a recipe leaves behind. Recipes with Curator's naming (and the latch, the queue, the
 * semaphore's leases) make their path a container, and the test servers sweep empty containers every
 * second, so "nothing left" is either an empty listing or no node at all.
 */

import type { ZooKeeper } from "../../src/index.js";
import { ZooKeeperError } from "../../src/index.js";

/** The children under `path`, or none when the node is gone (an empty container the server swept). */
export async function childrenLeft(zk: ZooKeeper, path: string): Promise<string[]> {
  try {
    return (await zk.getChildren(path)).children;
  } catch (err) {
    if (err instanceof ZooKeeperError && err.is("NoNode")) return [];
    throw err;
  }
}
