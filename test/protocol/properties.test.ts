/**
 * Properties of the codec for arbitrary values and arbitrary bytes (fast-check). Runs per property:
 * FC_RUNS (default 1000).
 */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { OpCode } from "../../src/protocol/constants.js";
import { ZkProtocolError } from "../../src/protocol/errors.js";
import { decode, encode, type JuteRecord } from "../../src/protocol/jute.js";
import {
  ConnectRequest,
  ConnectResponse,
  type MultiOp,
  MultiRequest,
  MultiResponse,
  type MultiResult,
} from "../../src/protocol/records/index.js";
import { arbitraryOf, fieldRecords } from "./schema.js";

const numRuns = Number(process.env.FC_RUNS ?? 1000);

/** Decoding arbitrary bytes must end in a value or a ZkProtocolError, allocating no more than the input. */
function decodesSafely(rec: JuteRecord<unknown>, bytes: Uint8Array): void {
  const allocUnsafe = vi.spyOn(Buffer, "allocUnsafe");
  try {
    decode(rec, bytes);
  } catch (err) {
    if (!(err instanceof ZkProtocolError)) throw err;
    expect(err.record).toBe(rec.name);
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(bytes.length);
  } finally {
    const largest = Math.max(0, ...allocUnsafe.mock.calls.map(([n]) => n));
    allocUnsafe.mockRestore();
    expect(largest).toBeLessThanOrEqual(bytes.length);
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("every record round-trips", () => {
  for (const rec of fieldRecords) {
    it(rec.name, () => {
      fc.assert(
        fc.property(arbitraryOf(rec), (value) => {
          const bytes = encode(rec, value);
          expect(bytes.length).toBe(rec.size(value));
          expect(decode(rec, bytes)).toEqual(value);
        }),
        { numRuns },
      );
    });
  }

  it("ConnectRequest and ConnectResponse with the trailing readOnly flag", () => {
    for (const rec of [ConnectRequest, ConnectResponse] as unknown as JuteRecord<Record<string, unknown>>[]) {
      fc.assert(
        fc.property(arbitraryOf(rec), fc.boolean(), (value, readOnly) => {
          const withFlag = { ...(value as object), readOnly };
          const bytes = encode(rec, withFlag);
          expect(bytes.length).toBe(encode(rec, value as Record<string, unknown>).length + 1);
          expect(decode(rec, bytes)).toEqual(withFlag);
        }),
        { numRuns },
      );
    }
  });
});

const pathWatch = fc.record({
  path: arbitraryOf("ustring") as fc.Arbitrary<string | null>,
  watch: fc.boolean(),
});
const anyRecordValue = (name: string) =>
  arbitraryOf(fieldRecords.find((r) => r.name === name)!) as fc.Arbitrary<never>;

const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  fc.record({
    type: fc.constantFrom(OpCode.create, OpCode.create2, OpCode.createContainer),
    request: anyRecordValue("CreateRequest"),
  }),
  fc.record({ type: fc.constant(OpCode.createTTL), request: anyRecordValue("CreateTTLRequest") }),
  fc.record({ type: fc.constant(OpCode.delete), request: anyRecordValue("DeleteRequest") }),
  fc.record({ type: fc.constant(OpCode.setData), request: anyRecordValue("SetDataRequest") }),
  fc.record({ type: fc.constant(OpCode.check), request: anyRecordValue("CheckVersionRequest") }),
  fc.record({ type: fc.constantFrom(OpCode.getChildren, OpCode.getData), request: pathWatch }),
) as fc.Arbitrary<MultiOp>;

const stat = anyRecordValue("Stat");
const multiResult: fc.Arbitrary<MultiResult> = fc.oneof(
  fc.record({ type: fc.constant(OpCode.create), path: arbitraryOf("ustring") }),
  fc.record({ type: fc.constant(OpCode.create2), path: arbitraryOf("ustring"), stat }),
  fc.record({ type: fc.constantFrom(OpCode.delete, OpCode.check) }),
  fc.record({ type: fc.constant(OpCode.setData), stat }),
  fc.record({ type: fc.constant(OpCode.getChildren), children: arbitraryOf({ vector: "ustring" }) }),
  fc.record({ type: fc.constant(OpCode.getData), data: arbitraryOf("buffer"), stat }),
  fc.record({ type: fc.constant(OpCode.error), err: fc.integer() }),
) as fc.Arbitrary<MultiResult>;

describe("multi bodies round-trip", () => {
  it("MultiRequest", () => {
    fc.assert(
      fc.property(fc.array(multiOp, { maxLength: 6 }), (ops) => {
        expect(decode(MultiRequest, encode(MultiRequest, ops))).toEqual(ops);
      }),
      { numRuns },
    );
  });
  it("MultiResponse", () => {
    fc.assert(
      fc.property(fc.array(multiResult, { maxLength: 6 }), (results) => {
        expect(decode(MultiResponse, encode(MultiResponse, results))).toEqual(results);
      }),
      { numRuns },
    );
  });
});

describe("arbitrary bytes end in a value or a ZkProtocolError", () => {
  const decoders = [...fieldRecords, MultiRequest, MultiResponse, ConnectRequest, ConnectResponse];
  for (const rec of decoders) {
    it(rec.name, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesSafely(rec, bytes)),
        { numRuns },
      );
      // Valid encodings cut short or with a corrupted byte: closer to what a broken peer sends.
      if (rec.fields.length > 0) {
        fc.assert(
          fc.property(arbitraryOf(rec), fc.nat(), fc.nat(255), (value, at, byte) => {
            const bytes = encode(rec, value);
            decodesSafely(rec, bytes.subarray(0, at % (bytes.length + 1)));
            if (bytes.length > 0) {
              const corrupted = Buffer.from(bytes);
              corrupted[at % bytes.length] = byte;
              decodesSafely(rec, corrupted);
            }
          }),
          { numRuns },
        );
      }
    });
  }
});
