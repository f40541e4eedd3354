/**
 * One node, and one node with its children: the TreeCache machinery (tree-cache.ts) with the depth
 * limited to 0 and 1. The roles of kazoo's DataWatch and ChildrenWatch (and Curator's NodeCache and
 * PathChildrenCache), with the same guarantees as the tree: missed changes are found again after a
 * reconnection, the view is rebuilt on a new session, and each node's events carry increasing mzxids.
 *
 *   await using node = new NodeCache(zk, "/config/db");
 *   await node.start();
 *   node.current; // { data, stat } or null while the node does not exist
 *   node.on("changed", (e) => reconnect(e.data));
 *
 *   await using members = new ChildrenCache(zk, "/members");
 *   await members.start();
 *   members.names(); // ["m-1", "m-2"], with each child's data: members.child("m-1")
 *
 * A NodeCache on 3.6+ uses a persistent (not recursive) watch on its node; a ChildrenCache a recursive
 * one on the parent, whose events below the children are ignored (a recursive watch is the one kind that
 * reports the children's data changes).
 */
import type { ZooKeeper } from "../../client/client.js";
import { ZkArgumentError } from "../../errors.js";
import { joinPath } from "../../session/paths.js";
import { type CachedNode, TreeCache, type TreeCacheOptions } from "./tree-cache.js";

export type NodeCacheOptions = Omit<TreeCacheOptions, "maxDepth">;

export class NodeCache extends TreeCache {
  constructor(zk: ZooKeeper, path: string, options: NodeCacheOptions = {}) {
    if ((options as TreeCacheOptions).maxDepth !== undefined)
      throw new ZkArgumentError("a NodeCache has no maxDepth (it is 0)");
    super(zk, path, { ...options, maxDepth: 0 });
  }

  /** The node's data and stat, or null when it does not exist (or before start() resolved). */
  get current(): CachedNode | null {
    return this.get(this.path) ?? null;
  }
}

export class ChildrenCache extends TreeCache {
  constructor(zk: ZooKeeper, path: string, options: NodeCacheOptions = {}) {
    if ((options as TreeCacheOptions).maxDepth !== undefined)
      throw new ZkArgumentError("a ChildrenCache has no maxDepth (it is 1)");
    super(zk, path, { ...options, maxDepth: 1 });
  }

  /** The children's names, sorted ([] while the parent does not exist). */
  names(): string[] {
    return this.children(this.path) ?? [];
  }

  /** A child's data and stat by name. */
  child(name: string): CachedNode | undefined {
    return this.get(joinPath(this.path, name));
  }
}
