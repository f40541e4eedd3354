/**
 * Jute, ZooKeeper's serialization, as the reference `BinaryOutputArchive`/`BinaryInputArchive` write and
 * read it:
 *
 *   int      4 bytes, big-endian two's complement
 *   long     8 bytes, big-endian two's complement (a `bigint` here: zxids and session ids need 64 bits)
 *   boolean  1 byte, 0 or 1 (any non-zero byte reads as true, like Java's DataInput)
 *   buffer   int length, then the bytes; length -1 is null
 *   ustring  int byte length, then UTF-8; length -1 is null
 *   vector   int count, then the items; count -1 is null
 *   record   its fields in declaration order, nothing around them
 *
 * A record knows its exact encoded size, so encoding allocates once and writes in one pass. Reading never
 * goes past the end of its view: a short or malformed input is a ZkProtocolError naming the record and
 * the offset, and a length prefix larger than what remains is refused before anything is allocated.
 */
import { ZkProtocolError } from "./errors.js";

/** The shape of a field, used by tests (golden vectors, generators) and by tooling; the codecs are hand-written. */
export type JuteType =
  | "int"
  | "long"
  | "boolean"
  | "buffer"
  | "ustring"
  | { readonly vector: JuteType }
  | JuteRecord<unknown>;

/** One Jute record: its grammar as data, its exact size, and its hand-written writer and reader. */
export interface JuteRecord<T> {
  readonly name: string;
  /** Fields in wire order, with the reference implementation's names. */
  readonly fields: readonly (readonly [name: string, type: JuteType])[];
  size(value: T): number;
  write(w: JuteWriter, value: T): void;
  read(r: JuteReader): T;
}

const NULL_LENGTH = -1;

export function sizeOfUstring(s: string | null): number {
  return s === null ? 4 : 4 + Buffer.byteLength(s, "utf8");
}

export function sizeOfBuffer(b: Uint8Array | null): number {
  return b === null ? 4 : 4 + b.length;
}

export function sizeOfUstringVector(v: readonly string[] | null): number {
  if (v === null) return 4;
  let n = 4 + 4 * v.length;
  for (const s of v) n += Buffer.byteLength(s, "utf8");
  return n;
}

export function sizeOfRecordVector<T>(rec: JuteRecord<T>, v: readonly T[] | null): number {
  if (v === null) return 4;
  let n = 4;
  for (const item of v) n += rec.size(item);
  return n;
}

/** Strings up to this many characters are tried as ASCII before the UTF-8 encoder is called. */
const SHORT_STRING = 256;

/**
 * Writes into a buffer that was sized exactly beforehand. Writing past its end is a bug in a `size()`,
 * and Buffer's own range checks turn that into an exception rather than silent truncation.
 */
export class JuteWriter {
  readonly buf: Buffer;
  pos: number;

  constructor(buf: Buffer, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  static alloc(size: number): JuteWriter {
    return new JuteWriter(Buffer.allocUnsafe(size));
  }

  int(v: number): void {
    const b = this.buf;
    const p = this.pos;
    if ((v | 0) === v && p + 4 <= b.length) {
      // An int32 where it fits, by hand; anything else goes to writeInt32BE, which refuses it.
      b[p] = v >>> 24;
      b[p + 1] = v >>> 16;
      b[p + 2] = v >>> 8;
      b[p + 3] = v;
      this.pos = p + 4;
    } else {
      this.pos = b.writeInt32BE(v, p);
    }
  }

  long(v: bigint): void {
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }

  boolean(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0;
  }

  buffer(v: Uint8Array | null): void {
    if (v === null) {
      this.int(NULL_LENGTH);
      return;
    }
    this.int(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  ustring(v: string | null): void {
    if (v === null) {
      this.int(NULL_LENGTH);
      return;
    }
    const b = this.buf;
    const start = this.pos + 4;
    const length = v.length;
    if (length <= SHORT_STRING && start + length <= b.length) {
      // Short strings (paths, mostly) are ASCII: copied by hand, as UTF-8 would encode them; the first
      // character that is not ASCII sends the whole string to the encoder below instead.
      let i = 0;
      for (; i < length; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === length) {
        this.int(length);
        this.pos = start + length;
        return;
      }
    }
    // Write the text first, then its byte length in front of it: one UTF-8 pass instead of two.
    const n = b.write(v, start, "utf8");
    this.int(n);
    this.pos = start + n;
  }

  ustringVector(v: readonly string[] | null): void {
    if (v === null) {
      this.int(NULL_LENGTH);
      return;
    }
    this.int(v.length);
    for (const s of v) this.ustring(s);
  }

  recordVector<T>(rec: JuteRecord<T>, v: readonly T[] | null): void {
    if (v === null) {
      this.int(NULL_LENGTH);
      return;
    }
    this.int(v.length);
    for (const item of v) rec.write(this, item);
  }
}

/** The long with these two 32-bit halves (`hi` signed, `lo` unsigned). */
function makeLong(hi: number, lo: number): bigint {
  // Most longs on the wire (zxids, times, versions of things) are below 2^53 in magnitude: one exact
  // double makes one BigInt, where a 64-bit read makes four (two halves, a shift, an add).
  if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * 4294967296 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Recently read longs by their bits, direct-mapped (a slot holds the last long that hashed to it). */
const LONG_CACHE_MASK = 255;
const longCacheHi = new Int32Array(LONG_CACHE_MASK + 1);
const longCacheLo = new Int32Array(LONG_CACHE_MASK + 1);
const longCacheValue: bigint[] = new Array<bigint>(LONG_CACHE_MASK + 1).fill(0n);

/** How much more memory than the bytes themselves a view from JuteReader.buffer() may keep alive. */
const VIEW_SLACK = 1024;

/**
 * Reads from a view `[pos, end)` of a buffer. Every read checks what remains first, so a truncated input
 * never reaches Buffer's RangeError and a huge length prefix never reaches an allocation.
 */
export class JuteReader {
  readonly buf: Buffer;
  pos: number;
  readonly start: number;
  readonly end: number;
  /** The record being read, named in errors. */
  record: string;
  /**
   * True when nothing else holds or will reuse `buf`'s memory (a frame the socket handed over). buffer()
   * may then hand out a view instead of a copy, when that memory is little larger than the bytes viewed:
   * the view keeps nothing large alive, and nobody can change it underneath the caller.
   */
  exclusive = false;

  constructor(buf: Buffer, record = "record", start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.start = start;
    this.end = end;
    this.record = record;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string): never {
    throw new ZkProtocolError(this.record, this.pos - this.start, message);
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      this.fail(`truncated: ${what} needs ${n} bytes, ${this.end - this.pos} remain`);
    }
  }

  int(): number {
    this.need(4, "int");
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    // By hand rather than readInt32BE: the bounds are checked above, and this is every reply's hot path.
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  long(): bigint {
    this.need(8, "long");
    const b = this.buf;
    const p = this.pos;
    const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const lo = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
    this.pos = p + 8;
    // Making a BigInt costs far more than reading it: a reply's longs mostly repeat ones seen just before
    // (the header's zxid is the Stat's mzxid after a write; a node read again has the same Stat), so
    // recent values are kept by their bits and handed out again. A bigint is a value: sharing one is
    // invisible to the caller.
    const slot = (hi ^ lo) & LONG_CACHE_MASK;
    if (longCacheHi[slot] === hi && longCacheLo[slot] === lo) return longCacheValue[slot]!;
    const v = makeLong(hi, lo >>> 0);
    longCacheHi[slot] = hi;
    longCacheLo[slot] = lo;
    longCacheValue[slot] = v;
    return v;
  }

  boolean(): boolean {
    this.need(1, "boolean");
    return this.buf[this.pos++] !== 0;
  }

  /** A length prefix: -1 (null) or 0..remaining. Anything else is refused before allocating. */
  private length(what: string, minItemSize: number): number {
    const n = this.int();
    if (n === NULL_LENGTH) return n;
    if (n < 0) {
      this.pos -= 4;
      this.fail(`negative ${what} length ${n}`);
    }
    if (n * minItemSize > this.end - this.pos) {
      this.pos -= 4;
      this.fail(`${what} length ${n} exceeds the ${this.end - this.pos - 4} bytes that remain`);
    }
    return n;
  }

  /**
   * The bytes, which callers keep long after the frame they came in is gone: a copy, unless the memory
   * is `exclusive` and at most VIEW_SLACK bytes larger than they are (a large reply joined from several
   * reads, or one alone in a TLS read), when a view costs nothing and holds nothing more.
   */
  buffer(): Uint8Array | null {
    const n = this.length("buffer", 1);
    if (n === NULL_LENGTH) return null;
    const b = this.buf;
    const start = this.pos;
    this.pos = start + n;
    if (this.exclusive && b.buffer.byteLength <= n + VIEW_SLACK) return b.subarray(start, start + n);
    const out = Buffer.allocUnsafe(n);
    out.set(b.subarray(start, start + n));
    return out;
  }

  /** Invalid UTF-8 decodes to U+FFFD, as the reference reader does, rather than failing. */
  ustring(): string | null {
    const n = this.length("ustring", 1);
    if (n === NULL_LENGTH) return null;
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  ustringVector(): string[] | null {
    const n = this.length("vector", 4);
    if (n === NULL_LENGTH) return null;
    // Grown by push rather than sized by the prefix: memory follows the items actually read.
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.ustring();
      // A null element cannot be represented in a string[]: the reference never writes one.
      if (s === null) this.fail("null string inside a vector");
      out.push(s);
    }
    return out;
  }

  recordVector<T>(rec: JuteRecord<T>, minItemSize: number): T[] | null {
    const n = this.length("vector", minItemSize);
    if (n === NULL_LENGTH) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(rec.read(this));
    return out;
  }
}

/** Encodes one record into a buffer of exactly its size. */
export function encode<T>(rec: JuteRecord<T>, value: T): Buffer {
  const w = JuteWriter.alloc(rec.size(value));
  rec.write(w, value);
  return w.buf;
}

/**
 * Decodes one record that fills `bytes` exactly; trailing bytes are an error here. (Inside a frame the
 * session reads with a JuteReader directly, where newer servers may append fields older clients ignore.)
 */
export function decode<T>(rec: JuteRecord<T>, bytes: Uint8Array): T {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new JuteReader(buf, rec.name);
  const value = rec.read(r);
  if (r.remaining !== 0) r.fail(`${r.remaining} trailing bytes`);
  return value;
}
