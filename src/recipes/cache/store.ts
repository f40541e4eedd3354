/**
 * The cache's nodes, stored compactly: a 10,000-node tree should cost about what its names, data and
 * stats weigh, not the 300+ bytes of objects and bigints a plain `{ data, stat }` per node costs
 * (a Stat object alone holds six bigints).
 *
 *   index    Map<path, slot>             the only per-node object besides the strings
 *   paths    slot -> path                the Map's own key string, shared
 *   data     slot -> data as a latin1 string (one byte per char, so a byte-for-byte copy: an
 *            on-heap string costs 16 bytes plus its length, where a Uint8Array costs ~100 bytes
 *            plus its length, and a view into a reply would keep the whole socket chunk alive)
 *   stats    68 bytes per slot, the Stat's wire layout (big-endian)
 *   links    parent, first child, next and previous sibling per slot (a subtree is removed or
 *            listed without scanning the index)
 *   seen     per slot, the cache's sequence number of the read that last confirmed the node (see
 *            tree-cache.ts: a later NoNode or listing may remove the node only if it was issued after)
 *
 * Freed slots are reused; the columns grow by half when full.
 */
import type { Stat } from "../../protocol/records/stat.js";
import { STAT_SIZE } from "../../protocol/records/stat.js";

const NONE = -1;
const PARENT = 0;
const FIRST = 1;
const NEXT = 2;
const PREV = 3;

export class NodeStore {
  readonly #index = new Map<string, number>();
  #paths: string[] = [];
  #data: string[] = [];
  #stats: Uint8Array;
  #view: DataView;
  #links: Int32Array;
  #seen: Float64Array;
  #free: number[] = [];
  #capacity: number;

  constructor(capacity = 64) {
    this.#capacity = capacity;
    this.#stats = new Uint8Array(capacity * STAT_SIZE);
    this.#view = new DataView(this.#stats.buffer);
    this.#links = new Int32Array(capacity * 4);
    this.#seen = new Float64Array(capacity);
  }

  get size(): number {
    return this.#index.size;
  }

  /** The node's slot, or -1. */
  slot(path: string): number {
    return this.#index.get(path) ?? NONE;
  }

  paths(): IterableIterator<string> {
    return this.#index.keys();
  }

  path(slot: number): string {
    return this.#paths[slot]!;
  }

  parent(slot: number): number {
    return this.#links[slot * 4 + PARENT]!;
  }

  /** The slots of the node's children (a copy: safe to remove while iterating). */
  children(slot: number): number[] {
    const out: number[] = [];
    for (let c = this.#links[slot * 4 + FIRST]!; c !== NONE; c = this.#links[c * 4 + NEXT]!) out.push(c);
    return out;
  }

  hasChildren(slot: number): boolean {
    return this.#links[slot * 4 + FIRST] !== NONE;
  }

  /** The node's data, as a new Buffer of its own. */
  data(slot: number): Buffer {
    return Buffer.from(this.#data[slot]!, "latin1");
  }

  stat(slot: number): Stat {
    const v = this.#view;
    const o = slot * STAT_SIZE;
    return {
      czxid: v.getBigInt64(o),
      mzxid: v.getBigInt64(o + 8),
      ctime: v.getBigInt64(o + 16),
      mtime: v.getBigInt64(o + 24),
      version: v.getInt32(o + 32),
      cversion: v.getInt32(o + 36),
      aversion: v.getInt32(o + 40),
      ephemeralOwner: v.getBigInt64(o + 44),
      dataLength: v.getInt32(o + 52),
      numChildren: v.getInt32(o + 56),
      pzxid: v.getBigInt64(o + 60),
    };
  }

  czxid(slot: number): bigint {
    return this.#view.getBigInt64(slot * STAT_SIZE);
  }

  mzxid(slot: number): bigint {
    return this.#view.getBigInt64(slot * STAT_SIZE + 8);
  }

  pzxid(slot: number): bigint {
    return this.#view.getBigInt64(slot * STAT_SIZE + 60);
  }

  seen(slot: number): number {
    return this.#seen[slot]!;
  }

  confirm(slot: number, seq: number): void {
    if (seq > this.#seen[slot]!) this.#seen[slot] = seq;
  }

  /** Adds a node under `parent` (-1 for the cache's root). */
  insert(path: string, parent: number, data: Uint8Array, stat: Stat, seq: number): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#paths.length;
      if (slot === this.#capacity) this.#grow();
      this.#paths.push(path);
      this.#data.push("");
    } else {
      this.#paths[slot] = path;
    }
    this.#index.set(path, slot);
    const l = this.#links;
    const b = slot * 4;
    l[b + PARENT] = parent;
    l[b + FIRST] = NONE;
    l[b + PREV] = NONE;
    if (parent === NONE) {
      l[b + NEXT] = NONE;
    } else {
      const first = l[parent * 4 + FIRST]!;
      l[b + NEXT] = first;
      if (first !== NONE) l[first * 4 + PREV] = slot;
      l[parent * 4 + FIRST] = slot;
    }
    this.#seen[slot] = seq;
    this.set(slot, data, stat);
    return slot;
  }

  /** Replaces the node's data and stat. */
  set(slot: number, data: Uint8Array, stat: Stat): void {
    this.#data[slot] =
      data.length === 0 ? "" : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
    this.setStat(slot, stat);
  }

  setStat(slot: number, stat: Stat): void {
    const v = this.#view;
    const o = slot * STAT_SIZE;
    v.setBigInt64(o, stat.czxid);
    v.setBigInt64(o + 8, stat.mzxid);
    v.setBigInt64(o + 16, stat.ctime);
    v.setBigInt64(o + 24, stat.mtime);
    v.setInt32(o + 32, stat.version);
    v.setInt32(o + 36, stat.cversion);
    v.setInt32(o + 40, stat.aversion);
    v.setBigInt64(o + 44, stat.ephemeralOwner);
    v.setInt32(o + 52, stat.dataLength);
    v.setInt32(o + 56, stat.numChildren);
    v.setBigInt64(o + 60, stat.pzxid);
  }

  /** Removes one node (its children must be gone already) and frees its slot. */
  remove(slot: number): void {
    const l = this.#links;
    const b = slot * 4;
    const parent = l[b + PARENT]!;
    const next = l[b + NEXT]!;
    const prev = l[b + PREV]!;
    if (prev !== NONE) l[prev * 4 + NEXT] = next;
    else if (parent !== NONE) l[parent * 4 + FIRST] = next;
    if (next !== NONE) l[next * 4 + PREV] = prev;
    this.#index.delete(this.#paths[slot]!);
    this.#paths[slot] = "";
    this.#data[slot] = "";
    this.#free.push(slot);
  }

  clear(): void {
    this.#index.clear();
    this.#paths = [];
    this.#data = [];
    this.#free = [];
  }

  #grow(): void {
    const capacity = Math.ceil(this.#capacity * 1.5);
    const stats = new Uint8Array(capacity * STAT_SIZE);
    stats.set(this.#stats);
    const links = new Int32Array(capacity * 4);
    links.set(this.#links);
    const seen = new Float64Array(capacity);
    seen.set(this.#seen);
    this.#stats = stats;
    this.#view = new DataView(stats.buffer);
    this.#links = links;
    this.#seen = seen;
    this.#capacity = capacity;
  }
}
