/**
 * Shared values and counters: one znode whose data every worker reads, watches and changes with a
 * version check.
 *
 *   /config/limit          SharedValue: any bytes; SharedCount: 4-byte big-endian int32
 *   /stats/requests        AtomicLong: 8-byte big-endian int64 (or ASCII decimal, kazoo's Counter)
 *
 * Peers on the same node:
 * - `SharedValue` / `SharedCount` have the layout of Curator's SharedValue / SharedCount, and
 *   SharedCount's that of kazoo's `Counter(path, support_curator=True)` (struct ">i").
 * - `AtomicLong` has the layout of Curator's DistributedAtomicLong (ByteBuffer.putLong, big-endian);
 *   with `encoding: "ascii"` that of kazoo's plain `Counter(path)` (repr(int) in ASCII).
 *
 * Edge cases and why:
 * - An empty node reads as 0 for the counters: kazoo's Counter creates its node with ensure_path
 *   (no data) and treats "" as its default, and Curator's DistributedAtomicLong reads empty as 0.
 *   (Curator's SharedCount cannot read an empty node: give it a node created with data.)
 * - A value is applied only if its mzxid is newer than the one held (Curator does the same): a read
 *   answered after a watch event must not put an older value back. Versions are never compared as
 *   numbers (they wrap: CURATOR-688), only handed to the server.
 * - The held value cannot go stale for good (CURATOR-311: a SharedValue whose watch was lost kept an old
 *   value forever): the client re-registers the watch on reconnect with the last zxid it saw, so a change
 *   made while away fires at once, and a new session (or a deleted node) makes the object read again.
 * - trySetValue takes the version the caller read. Curator's trySetValue also compares the caller's
 *   value with its cache and refuses early; zkwire lets the server's version check decide, which is
 *   the only check that cannot race.
 * - A change is written with the version read; BadVersion means someone else wrote in between and the
 *   counters read again and retry, at most `retries` times (Curator's RetryPolicy in
 *   DistributedAtomicValue.tryOptimistic; kazoo retries with its client's retry policy).
 * - ConnectionLoss while a versioned write is in flight: the write may have been applied. Retrying
 *   blindly could count an increment twice (the retry reads the new value and adds again), so the
 *   AtomicLong and SharedCount.add throw the ConnectionLoss error and leave the decision to the caller;
 *   reads are retried once the client is connected again.
 * - The watch is re-armed after every event and survives reconnects (the client re-registers it);
 *   after a new session (renewSessionOnExpiry) or a deletion the node is read again.
 * - Nothing is removed on close: the value outlives the objects that watch it, as in both peers.
 */
import type { AclEntry } from "../client/acl.js";
import type { CallOptions, ZooKeeper } from "../client/client.js";
import type { Data } from "../client/requests.js";
import { ConflictError, CorruptValueError, RecipeClosedError, ZkArgumentError } from "../errors.js";
import type { Stat } from "../protocol/records/stat.js";
import { validatePath } from "../session/paths.js";
import type { WatchedEvent } from "../session/watches.js";
import {
  backoff,
  checkSignal,
  Deadline,
  Fanout,
  isBadVersion,
  isConnectionLoss,
  isNodeExists,
  isNoNode,
  Kick,
  whenConnected,
} from "./toolkit/state-support.js";

// The errors live with every other zkwire error (src/errors.ts); their names stay importable from here.
export { ConflictError, CorruptValueError };

/** A value with the version and mzxid of the node it was read from (version -1: not read yet). */
export interface VersionedValue<T> {
  readonly value: T;
  readonly version: number;
  readonly zxid: bigint;
}

/** How a value is stored in the node's bytes. */
export interface ValueCodec<T> {
  encode(value: T): Uint8Array;
  decode(data: Uint8Array, path: string): T;
}

const bytesCodec: ValueCodec<Uint8Array> = {
  encode: (value) => value,
  decode: (data) => data,
};

/** Curator's SharedCount and kazoo's Counter(support_curator=True): 4 bytes, big-endian, signed. */
export const int32Codec: ValueCodec<number> = {
  encode(value) {
    const out = Buffer.alloc(4);
    out.writeInt32BE(checkInt32(value, "count"));
    return out;
  },
  decode(data, path) {
    if (data.length === 0) return 0;
    if (data.length !== 4) throw new CorruptValueError(`${path}: ${data.length} bytes, not a 4-byte count`);
    return Buffer.from(data.buffer, data.byteOffset, 4).readInt32BE(0);
  },
};

function checkInt32(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)
    throw new ZkArgumentError(`${what} must be a 32-bit signed integer, got ${String(value)}`);
  return value;
}

/**
 * A node version as read, 0 to 2^31 - 1. (The server lets a version wrap past 2^31 - 1 to negative
 * numbers, CURATOR-688; the client's setData refuses versions below -1 for now, so such a node cannot be
 * written with a version check by zkwire either.)
 */
function checkVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0 || version >= 2 ** 31)
    throw new ZkArgumentError(
      `version must be the node's version as read (an integer >= 0), got ${String(version)}`,
    );
  return version;
}

function toBytes(data: Data, what: string): Uint8Array {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return data;
  throw new ZkArgumentError(`${what} must be a Uint8Array or a string`);
}

/** What a write takes: a raw-bytes value also takes a string (written as UTF-8). */
export type ValueIn<T> = T extends Uint8Array ? Data : T;

export interface SharedValueOptions {
  /** ACL of the node (and its parents) when it has to be created. Default OPEN_ACL_UNSAFE. */
  acl?: readonly AclEntry[];
}

/**
 * A node's value, read once at start(), then kept current by a watch; changed with setValue
 * (unconditionally) or trySetValue (only at the version read).
 *
 *   await using limit = await new SharedValue(zk, "/config/limit", "100").start();
 *   for await (const { value, version } of limit.values()) ...
 */
export class SharedValue<T = Uint8Array> implements AsyncDisposable {
  readonly path: string;
  protected readonly codec: ValueCodec<T>;
  private readonly seed: Uint8Array;
  private readonly acl: readonly AclEntry[] | undefined;
  private current: VersionedValue<T>;
  private readonly changes = new Fanout<VersionedValue<T>>();
  private readonly closing = new AbortController();
  private readonly kick = new Kick();
  private readonly watcher = (event: WatchedEvent) => {
    if (event.type === "None") this.sessionEnded = true;
    this.kick.kick();
  };
  private sessionEnded = false;
  private started: Promise<void> | undefined;
  private loop: Promise<void> | undefined;

  /** A value of raw bytes; subclasses pass their codec. */
  constructor(zk: ZooKeeper, path: string, seed: Data, options?: SharedValueOptions);
  constructor(
    zk: ZooKeeper,
    path: string,
    seed: T,
    options: SharedValueOptions | undefined,
    codec: ValueCodec<T>,
  );
  constructor(
    protected readonly zk: ZooKeeper,
    path: string,
    seed: unknown,
    options: SharedValueOptions = {},
    codec?: ValueCodec<T>,
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a shared value cannot live in the root node");
    this.codec = codec ?? (bytesCodec as unknown as ValueCodec<T>);
    this.seed = codec === undefined ? toBytes(seed as Data, "the seed value") : this.codec.encode(seed as T);
    this.acl = options.acl;
    this.current = { value: this.codec.decode(this.seed, this.path), version: -1, zxid: -1n };
  }

  /**
   * Creates the node with the seed value unless it exists (parents too), reads it and starts watching.
   * Resolves (with this object) once the first value is read.
   */
  async start(options: CallOptions = {}): Promise<this> {
    checkSignal(options.signal);
    if (this.closing.signal.aborted) throw new RecipeClosedError(`${this.path}: closed`);
    this.started ??= (async () => {
      try {
        await this.zk.create(this.path, this.seed, {
          acl: this.acl,
          createParents: true,
          signal: options.signal,
          timeout: options.timeout,
        });
      } catch (err) {
        if (!isNodeExists(err)) throw err;
      }
      await this.read(options);
      this.loop = this.watchLoop();
    })();
    // A start that failed (no connection, no permission) may be tried again.
    this.started.catch(() => {
      this.started = undefined;
    });
    await this.started;
    return this;
  }

  /** The value held (the seed's until start() has read the node). */
  get value(): T {
    return this.current.value;
  }

  /** The value held, with the node version to pass to trySetValue. */
  get versioned(): VersionedValue<T> {
    return this.current;
  }

  /** Writes the value whatever the node's version. */
  async setValue(value: ValueIn<T>, options: CallOptions = {}): Promise<void> {
    const data = this.encodeChecked(value);
    this.assertOpen();
    const stat = await this.zk.setData(this.path, data, options);
    this.apply(data, stat);
  }

  /**
   * Writes the value only if the node is still at `version` (from `versioned` or values()). False
   * when someone wrote in between; the value held is then read again.
   */
  async trySetValue(value: ValueIn<T>, version: number, options: CallOptions = {}): Promise<boolean> {
    const data = this.encodeChecked(value);
    checkVersion(version);
    this.assertOpen();
    try {
      const stat = await this.zk.setData(this.path, data, { ...options, version });
      this.apply(data, stat);
      return true;
    } catch (err) {
      if (!isBadVersion(err) && !isNoNode(err)) throw err;
    }
    await this.read(options).catch((err: unknown) => {
      if (!isNoNode(err)) throw err;
    });
    return false;
  }

  /**
   * The value held now, then every change seen, in mzxid order. Ends on `break`, `signal`, or close().
   * Several changes in quick succession may arrive as their last value only (a watch fires once).
   */
  values(signal?: AbortSignal): AsyncIterableIterator<VersionedValue<T>> {
    return this.changes.iterate(this.current.version >= 0 ? this.current : undefined, signal);
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new RecipeClosedError(`${this.path}: closed`));
    this.changes.end();
    await this.loop;
    // The watch would otherwise stay registered until the node next changes.
    if (this.zk.state.kind === "connected")
      await this.zk
        .removeWatches(this.path, "data", { watcher: this.watcher, local: true })
        .catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected assertOpen(): void {
    if (this.closing.signal.aborted) throw new RecipeClosedError(`${this.path}: closed`);
    if (this.started === undefined) throw new RecipeClosedError(`${this.path}: not started`);
  }

  private encodeChecked(value: ValueIn<T>): Uint8Array {
    return this.codec === (bytesCodec as unknown)
      ? toBytes(value as Data, "value")
      : this.codec.encode(value as T);
  }

  private apply(data: Uint8Array, stat: Stat): void {
    if (stat.mzxid <= this.current.zxid) return;
    this.current = { value: this.codec.decode(data, this.path), version: stat.version, zxid: stat.mzxid };
    this.changes.push(this.current);
  }

  /** Reads the node and sets the watch (on its data; on its creation when it is gone). */
  private async read(options: CallOptions = {}): Promise<void> {
    try {
      const { data, stat } = await this.zk.getData(this.path, {
        watch: this.watcher,
        signal: options.signal,
      });
      this.apply(data, stat);
    } catch (err) {
      if (!isNoNode(err)) throw err;
      const stat = await this.zk.exists(this.path, { watch: this.watcher, signal: options.signal });
      if (stat !== null) this.kick.kick();
    }
  }

  private async watchLoop(): Promise<void> {
    const closed = this.closing.signal;
    while (!closed.aborted) {
      await this.kick.wait(closed);
      if (closed.aborted) return;
      try {
        if (this.sessionEnded) {
          // The session ended: with renewSessionOnExpiry a new one follows and the node is read again.
          this.sessionEnded = false;
          await whenConnected(this.zk, closed);
        }
        await this.read({ signal: closed });
      } catch (err) {
        if (closed.aborted) return;
        if (isConnectionLoss(err)) {
          this.kick.kick();
          await whenConnected(this.zk, closed).catch(() => undefined);
          continue;
        }
        this.changes.end(err);
        return;
      }
    }
  }
}

/** Curator's SharedCount: a SharedValue holding a 32-bit int. */
export class SharedCount extends SharedValue<number> {
  constructor(zk: ZooKeeper, path: string, seed = 0, options: SharedValueOptions = {}) {
    super(zk, path, checkInt32(seed, "seed"), options, int32Codec);
  }

  get count(): number {
    return this.value;
  }

  async setCount(count: number, options?: CallOptions): Promise<void> {
    return this.setValue(checkInt32(count, "count"), options);
  }

  async trySetCount(count: number, version: number, options?: CallOptions): Promise<boolean> {
    return this.trySetValue(checkInt32(count, "count"), version, options);
  }

  /**
   * Adds `delta` with trySetCount until it applies (at most `retries` conflicts). Returns the count
   * written. The sum wraps like Java's int, as Curator's would.
   */
  async add(delta: number, options: CallOptions & { retries?: number } = {}): Promise<number> {
    checkInt32(delta, "delta");
    const retries = checkRetries(options.retries ?? 100);
    this.assertOpen();
    for (let attempt = 0; ; attempt++) {
      const { value, version } = this.versioned;
      const next = (value + delta) | 0;
      if (version >= 0 && (await this.trySetCount(next, version, options))) return next;
      if (version < 0) await this.start(options);
      if (attempt >= retries)
        throw new ConflictError(`${this.path}: still conflicting after ${retries} retries`);
      await sleep(backoff(attempt, 5, 500), options.signal);
    }
  }
}

function checkRetries(retries: unknown): number {
  if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0)
    throw new ZkArgumentError(`retries must be an integer >= 0, got ${String(retries)}`);
  return retries;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// --- AtomicLong -----------------------------------------------------------------------------------------

/** What one AtomicLong operation did (Curator's AtomicValue). */
export interface AtomicResult {
  /** False when the retries ran out (add, increment...) or the value was not the expected one. */
  readonly succeeded: boolean;
  /** The value before (0 when the node did not exist). */
  readonly preValue: bigint;
  /** The value written; equal to preValue when nothing was written. */
  readonly postValue: bigint;
  /** Writes attempted. */
  readonly tries: number;
}

export interface AtomicLongOptions {
  /**
   * "curator" (default): 8 bytes big-endian, Curator's DistributedAtomicLong. "ascii": the decimal
   * digits, kazoo's Counter without support_curator.
   */
  encoding?: "curator" | "ascii";
  /** Conflicts retried per operation before it reports succeeded: false. Default 10. */
  retries?: number;
  /** Backoff between retries, [first, max] in ms (jittered, doubling). Default [10, 1000]. */
  backoff?: readonly [number, number];
  /** ACL of the node (and parents) when an operation creates it. */
  acl?: readonly AclEntry[];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: unknown, what: string): bigint {
  let n: bigint;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else throw new ZkArgumentError(`${what} must be a safe integer or a bigint, got ${String(value)}`);
  if (n < INT64_MIN || n > INT64_MAX) throw new ZkArgumentError(`${what} is outside the 64-bit range`);
  return n;
}

/**
 * A 64-bit counter on one node, changed optimistically (read, compute, write at the version read) with a
 * bounded number of retries.
 *
 *   const hits = new AtomicLong(zk, "/stats/hits");
 *   const { succeeded, postValue } = await hits.increment();
 */
export class AtomicLong {
  readonly path: string;
  private readonly ascii: boolean;
  private readonly retries: number;
  private readonly delays: readonly [number, number];
  private readonly acl: readonly AclEntry[] | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly zk: ZooKeeper,
    path: string,
    options: AtomicLongOptions = {},
  ) {
    this.path = validatePath(path);
    if (this.path === "/") throw new ZkArgumentError("a counter cannot live in the root node");
    const encoding = options.encoding ?? "curator";
    if (encoding !== "curator" && encoding !== "ascii")
      throw new ZkArgumentError(`encoding must be "curator" or "ascii", got ${String(encoding)}`);
    this.ascii = encoding === "ascii";
    this.retries = checkRetries(options.retries ?? 10);
    const delays = options.backoff ?? [10, 1000];
    if (
      !Array.isArray(delays) ||
      delays.length !== 2 ||
      !delays.every((d) => typeof d === "number" && Number.isFinite(d) && d >= 0) ||
      delays[0] > delays[1]
    )
      throw new ZkArgumentError("backoff must be [first, max] ms with 0 <= first <= max");
    this.delays = delays;
    this.acl = options.acl;
  }

  /** Stops operations in progress (they reject with RecipeClosedError) and refuses new ones. */
  async close(): Promise<void> {
    this.closing.abort(new RecipeClosedError(`counter ${this.path}: closed`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  encode(value: bigint): Uint8Array {
    if (this.ascii) return Buffer.from(value.toString(), "ascii");
    const out = Buffer.alloc(8);
    out.writeBigInt64BE(value);
    return out;
  }

  decode(data: Uint8Array): bigint {
    if (data.length === 0) return 0n;
    if (this.ascii) {
      const text = Buffer.from(data).toString("ascii");
      if (!/^-?\d+$/.test(text)) throw new CorruptValueError(`${this.path}: "${text}" is not an integer`);
      return BigInt(text);
    }
    if (data.length !== 8) throw new CorruptValueError(`${this.path}: ${data.length} bytes, not 8`);
    return Buffer.from(data.buffer, data.byteOffset, 8).readBigInt64BE(0);
  }

  /** The current value (0 when the node does not exist). */
  async get(options: CallOptions = {}): Promise<bigint> {
    this.closing.signal.throwIfAborted();
    return (await this.readCurrent(options)).value;
  }

  async increment(options?: CallOptions): Promise<AtomicResult> {
    return this.update(() => 1n, options);
  }

  async decrement(options?: CallOptions): Promise<AtomicResult> {
    return this.update(() => -1n, options);
  }

  async add(delta: bigint | number, options?: CallOptions): Promise<AtomicResult> {
    const d = toInt64(delta, "delta");
    return this.update(() => d, options);
  }

  async subtract(delta: bigint | number, options?: CallOptions): Promise<AtomicResult> {
    const d = toInt64(delta, "delta");
    return this.update(() => -d, options);
  }

  /** Sets the value whatever it was, with retries (Curator's trySet). */
  async trySet(value: bigint | number, options?: CallOptions): Promise<AtomicResult> {
    const v = toInt64(value, "value");
    return this.update((previous) => v - previous, options);
  }

  /**
   * Writes `next` only if the value is `expected` now: one attempt, no retries (a conflict means the
   * value is no longer the expected one, or may not be). A missing node is not "expected 0".
   */
  async compareAndSet(
    expected: bigint | number,
    next: bigint | number,
    options: CallOptions = {},
  ): Promise<AtomicResult> {
    const want = toInt64(expected, "expected");
    const value = toInt64(next, "next");
    this.closing.signal.throwIfAborted();
    const current = await this.readCurrent(options);
    if (current.version < 0 || current.value !== want)
      return { succeeded: false, preValue: current.value, postValue: current.value, tries: 0 };
    try {
      await this.zk.setData(this.path, this.encode(value), { ...options, version: current.version });
      return { succeeded: true, preValue: current.value, postValue: value, tries: 1 };
    } catch (err) {
      if (!isBadVersion(err) && !isNoNode(err)) throw err;
      return { succeeded: false, preValue: current.value, postValue: current.value, tries: 1 };
    }
  }

  /** Creates the node with `value` unless it exists; true if this call created it. */
  async initialize(value: bigint | number, options: CallOptions = {}): Promise<boolean> {
    const v = toInt64(value, "value");
    this.closing.signal.throwIfAborted();
    try {
      await this.zk.create(this.path, this.encode(v), { acl: this.acl, createParents: true, ...options });
      return true;
    } catch (err) {
      if (isNodeExists(err)) return false;
      throw err;
    }
  }

  /** Writes the value unconditionally (creating the node if needed). */
  async forceSet(value: bigint | number, options: CallOptions = {}): Promise<void> {
    const data = this.encode(toInt64(value, "value"));
    this.closing.signal.throwIfAborted();
    for (;;) {
      try {
        await this.zk.setData(this.path, data, options);
        return;
      } catch (err) {
        if (!isNoNode(err)) throw err;
      }
      try {
        await this.zk.create(this.path, data, { acl: this.acl, createParents: true, ...options });
        return;
      } catch (err) {
        if (!isNodeExists(err)) throw err;
      }
    }
  }

  private async readCurrent(options: CallOptions): Promise<{ value: bigint; version: number }> {
    for (;;) {
      try {
        const { data, stat } = await this.zk.getData(this.path, options);
        return { value: this.decode(data), version: stat.version };
      } catch (err) {
        if (isNoNode(err)) return { value: 0n, version: -1 };
        // A read changes nothing: retry it once connected again.
        if (!isConnectionLoss(err)) throw err;
        await whenConnected(this.zk, options.signal);
      }
    }
  }

  private async update(
    deltaFrom: (previous: bigint) => bigint,
    options: CallOptions = {},
  ): Promise<AtomicResult> {
    // close() stops a retry loop in progress, as the caller's signal does.
    using deadline = new Deadline(`counter ${this.path}`, { signal: options.signal }, this.closing.signal);
    deadline.check();
    options = { signal: deadline.signal, timeout: options.timeout };
    let last: { value: bigint } = { value: 0n };
    for (let attempt = 0; ; attempt++) {
      const current = await this.readCurrent(options);
      last = current;
      let next = current.value + deltaFrom(current.value);
      // Java's long wraps; kazoo's Python int does not.
      if (!this.ascii) next = BigInt.asIntN(64, next);
      const data = this.encode(next);
      try {
        if (current.version < 0)
          await this.zk.create(this.path, data, { acl: this.acl, createParents: true, ...options });
        else await this.zk.setData(this.path, data, { ...options, version: current.version });
        return { succeeded: true, preValue: current.value, postValue: next, tries: attempt + 1 };
      } catch (err) {
        if (!isBadVersion(err) && !isNodeExists(err) && !isNoNode(err)) throw err;
      }
      if (attempt >= this.retries)
        return { succeeded: false, preValue: last.value, postValue: last.value, tries: attempt + 1 };
      await sleep(backoff(attempt, this.delays[0], this.delays[1]), options.signal);
    }
  }
}
