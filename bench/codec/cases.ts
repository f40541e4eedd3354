/**
 * The codec micro-benchmarks: the same records, with the same values, encoded and decoded by each
 * codec in its own representation (zkwire: plain objects with bigint longs; node-zookeeper-client:
 * its generated Record classes with 8-byte Buffer longs).
 *
 * - Requests are encoded from the caller's values inside the timed loop (record built, sized, written),
 *   because each client does exactly that per call. Responses and Stat are encoded from a record built
 *   beforehand (only a server encodes them; included for symmetry).
 * - Decoding starts from the record's bytes and ends with the record in the codec's representation.
 * - node-zookeeper-client has no GetChildrenResponse record (its getChildren uses opcode getChildren2),
 *   so the children case is GetChildren2Response (names and a Stat) for both.
 */

export const CODEC_CASES = [
  "get-data-request",
  "get-data-response",
  "create-request",
  "stat",
  "get-children2-response-1000",
] as const;
export type CodecRecord = (typeof CODEC_CASES)[number];
export type CodecOp = "encode" | "decode";

export const CODEC_IMPLS = ["zkwire", "node-zookeeper-client"] as const;
export type CodecImpl = (typeof CODEC_IMPLS)[number];

export function codecScenarioName(record: CodecRecord, op: CodecOp): string {
  return `codec-${record}-${op}`;
}

/** A case ready to time: `run(n)` does the operation n times and returns a value built from results. */
export interface PreparedCase {
  run(iterations: number): number;
  /**
   * The canonical bytes of the case, hex: an encode's output, or a decode's result encoded again. Equal
   * across codecs, or the two are not doing the same work.
   */
  check(): string;
}

export type CodecImplementation = Record<CodecRecord, Record<CodecOp, () => PreparedCase>>;

/** The values every case uses. */
export const fixture = {
  path: "/zkwire-bench/data",
  createPath: "/zkwire-bench/cd-zkwire",
  data: Buffer.alloc(100, 0x61),
  createFlags: 1, // ephemeral
  acl: { perms: 31, scheme: "world", id: "anyone" },
  stat: {
    czxid: 0x1_0000_0002n,
    mzxid: 0x1_0000_0005n,
    ctime: 1_700_000_000_000n,
    mtime: 1_700_000_000_123n,
    version: 3,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
    dataLength: 100,
    numChildren: 1000,
    pzxid: 0x1_0000_0002n,
  },
  /** 1,000 names as a lock or a queue has them: prefix and a ten-digit sequence number. */
  children: Array.from({ length: 1000 }, (_, i) => `lock-${String(i).padStart(10, "0")}`),
} as const;
