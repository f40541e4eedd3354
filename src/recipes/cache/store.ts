/**
 * The cache's nodes, stored compactly: a 10,000-node tree should cost about what its names, data and
 * stats weigh, not the 300+ bytes of objects and bigints a plain `{ data, stat }` per node costs
 * (a Stat object alone holds six bigints).
 *
 *   names    slot -> the node's name (its last path segment; the root's whole path), so a node costs
 *            one short string instead of its full path; paths are joined from the names on demand
 *   table    an open-addressing hash table (linear probing, Int32Array) from (parent slot, name) to
 *            slot: a few bytes per node where a Map<path, slot> costs about 50 plus the key string.
 *            A path is found by walking its segments from the root, without allocating them
 *   data     slot -> data as a latin1 string (one byte per char, so a byte-for-byte copy: an
 *            on-heap string costs 16 bytes plus its length, where a Uint8Array costs ~100 bytes
 *            plus its length, and a view into a reply would keep the whole socket chunk alive)
 *   stats    68 bytes per slot, the Stat's wire layout (big-endian)
 *   links    parent, first child, next and previous sibling per slot (a subtree is removed or
 *            listed without scanning the index)
 *   seen     per slot, the cache's sequence number of the read that last confirmed the node (see
 *            tree-cache.ts: a later NoNode or listing may remove the node only if it was issued after)
 *
 * Freed slots are reused; the columns grow by half when full, and trim() gives back the slack once a
 * walk is done.
 */
import type { Stat } from "../../protocol/records/stat.js";
import { STAT_SIZE } from "../../protocol/records/stat.js";

const NONE = -1;
/** In a free slot's parent link. */
const DEAD = -2;
const PARENT = 0;
const FIRST = 1;
const NEXT = 2;
const PREV = 3;

export class NodeStore {
  #names: string[] = [];
  #data: string[] = [];
  #stats: Uint8Array;
  #view: DataView;
  #links: Int32Array;
  #seen: Float64Array;
  #free: number[] = [];
  #capacity: number;
  /** slot + 1 per entry, 0 for empty; its size a power of two, at most three quarters full. */
  #table = new Int32Array(64);
  #count = 0;
  #root = NONE;

  constructor(capacity = 64) {
    this.#capacity = capacity;
    this.#stats = new Uint8Array(capacity * STAT_SIZE);
    this.#view = new DataView(this.#stats.buffer);
    this.#links = new Int32Array(capacity * 4);
    this.#seen = new Float64Array(capacity);
  }

  get size(): number {
    return this.#count;
  }

  /** The node's slot, or -1. */
  slot(path: string): number {
    const root = this.#root;
    if (root === NONE) return NONE;
    const rootPath = this.#names[root]!;
    if (path.length === rootPath.length) return path === rootPath ? root : NONE;
    // Below the root: "<root>/a/b" ("/a/b" when the root is "/").
    const start = rootPath === "/" ? 1 : rootPath.length + 1;
    if (!path.startsWith(rootPath) || (rootPath !== "/" && path.charCodeAt(start - 1) !== 0x2f)) return NONE;
    let slot = root;
    let i = start;
    while (i <= path.length) {
      let j = path.indexOf("/", i);
      if (j < 0) j = path.length;
      slot = this.#find(slot, path, i, j);
      if (slot === NONE) return NONE;
      i = j + 1;
    }
    return slot;
  }

  /** Every live node's path. */
  *paths(): IterableIterator<string> {
    for (let s = 0; s < this.#names.length; s++) if (this.#live(s)) yield this.path(s);
  }

  path(slot: number): string {
    if (slot === this.#root) return this.#names[slot]!;
    const parts: string[] = [];
    let s = slot;
    for (; s !== this.#root; s = this.#links[s * 4 + PARENT]!) parts.push(this.#names[s]!);
    const rootPath = this.#names[s]!;
    parts.reverse();
    return rootPath === "/" ? `/${parts.join("/")}` : `${rootPath}/${parts.join("/")}`;
  }

  /** The node's name: its last path segment. */
  name(slot: number): string {
    return this.#names[slot]!;
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

  /** The length of the node's data, as its last read said. */
  dataLength(slot: number): number {
    return this.#view.getInt32(slot * STAT_SIZE + 52);
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

  /** Adds a node under `parent` (-1 for the cache's root, whose name is its whole path). */
  insert(path: string, parent: number, data: Uint8Array, stat: Stat, seq: number): number {
    const name = parent === NONE ? path : path.slice(path.lastIndexOf("/") + 1);
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#names.length;
      if (slot === this.#capacity) this.#resize(Math.ceil(this.#capacity * 1.5));
      this.#names.push(name);
      this.#data.push("");
    } else {
      this.#names[slot] = name;
    }
    const l = this.#links;
    const b = slot * 4;
    l[b + PARENT] = parent;
    l[b + FIRST] = NONE;
    l[b + PREV] = NONE;
    if (parent === NONE) {
      l[b + NEXT] = NONE;
      this.#root = slot;
    } else {
      const first = l[parent * 4 + FIRST]!;
      l[b + NEXT] = first;
      if (first !== NONE) l[first * 4 + PREV] = slot;
      l[parent * 4 + FIRST] = slot;
      if ((this.#count + 1) * 4 > this.#table.length * 3) this.#rehash(this.#table.length * 2);
      this.#place(slot);
    }
    this.#count++;
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
    if (parent === NONE) this.#root = NONE;
    else this.#unplace(slot);
    this.#count--;
    this.#names[slot] = "";
    this.#data[slot] = "";
    l[b + PARENT] = DEAD;
    this.#free.push(slot);
  }

  /** Gives back the columns' slack (after a walk: the tree's size is known). */
  trim(): void {
    const used = this.#names.length;
    if (this.#capacity - used > 64 && this.#capacity > used * 1.1) {
      this.#resize(Math.max(64, Math.ceil(used * 1.05)));
      // Copies of the arrays are allocated at their length; the originals keep their growth slack.
      this.#names = this.#names.slice();
      this.#data = this.#data.slice();
    }
    const size = tableSize(this.#count);
    if (size < this.#table.length) this.#rehash(size);
  }

  #live(slot: number): boolean {
    return this.#links[slot * 4 + PARENT] !== DEAD;
  }

  /** Hash of (parent, name), name being key[from, to). FNV-1a, then mixed with the parent's slot. */
  #hash(parent: number, key: string, from: number, to: number): number {
    let h = 0x811c9dc5 ^ parent;
    for (let i = from; i < to; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }

  #find(parent: number, key: string, from: number, to: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const len = to - from;
    for (let i = this.#hash(parent, key, from, to) & mask; ; i = (i + 1) & mask) {
      const e = table[i]!;
      if (e === 0) return NONE;
      const s = e - 1;
      if (this.#links[s * 4 + PARENT] === parent) {
        const name = this.#names[s]!;
        if (name.length === len && key.startsWith(name, from)) return s;
      }
    }
  }

  #place(slot: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    const name = this.#names[slot]!;
    let i = this.#hash(this.#links[slot * 4 + PARENT]!, name, 0, name.length) & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  /** Takes the slot out of the table, shifting later entries of its run back (no tombstones). */
  #unplace(slot: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    let i = 0;
    const name = this.#names[slot]!;
    for (
      i = this.#hash(this.#links[slot * 4 + PARENT]!, name, 0, name.length) & mask;
      table[i] !== slot + 1;
    )
      i = (i + 1) & mask;
    table[i] = 0;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const s = table[j]! - 1;
      const n = this.#names[s]!;
      const home = this.#hash(this.#links[s * 4 + PARENT]!, n, 0, n.length) & mask;
      // Move the entry into the hole unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        table[i] = table[j]!;
        table[j] = 0;
        i = j;
      }
    }
  }

  #rehash(size: number): void {
    this.#table = new Int32Array(size);
    for (let s = 0; s < this.#names.length; s++) {
      if (this.#live(s) && s !== this.#root) this.#place(s);
    }
  }

  #resize(capacity: number): void {
    const stats = new Uint8Array(capacity * STAT_SIZE);
    stats.set(this.#stats.subarray(0, Math.min(this.#stats.length, stats.length)));
    const links = new Int32Array(capacity * 4);
    links.set(this.#links.subarray(0, Math.min(this.#links.length, links.length)));
    const seen = new Float64Array(capacity);
    seen.set(this.#seen.subarray(0, Math.min(this.#seen.length, seen.length)));
    this.#stats = stats;
    this.#view = new DataView(stats.buffer);
    this.#links = links;
    this.#seen = seen;
    this.#capacity = capacity;
  }
}

/** The smallest power of two (at least 64) that holds `count` entries at most three quarters full. */
function tableSize(count: number): number {
  let size = 64;
  while (count * 4 > size * 3) size *= 2;
  return size;
}
