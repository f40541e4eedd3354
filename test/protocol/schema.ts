/**
 * Test-side helpers driven by each record's declared grammar (`fields`): the JSON form of the golden
 * vectors, and fast-check generators. The codecs themselves are hand-written; these helpers let every
 * record be checked the same way without a test per record.
 */
import fc from "fast-check";
import type { JuteRecord, JuteType } from "../../src/protocol/jute.js";
import * as all from "../../src/protocol/records/index.js";

function isRecord(x: unknown): x is JuteRecord<unknown> {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as JuteRecord<unknown>).name === "string" &&
    Array.isArray((x as JuteRecord<unknown>).fields) &&
    typeof (x as JuteRecord<unknown>).read === "function"
  );
}

/** Every record the protocol layer exports, by its reference class name. */
export const recordsByName = new Map<string, JuteRecord<unknown>>(
  (Object.values(all) as unknown[]).filter(isRecord).map((r) => [r.name, r]),
);

/** Records described field by field (the multi bodies are sequences, not fixed records). */
export const fieldRecords = [...recordsByName.values()].filter((r) => r.fields.length > 0);

/** Converts the golden JSON form (long as decimal string, buffer as hex) into codec values. */
export function fromJson(type: JuteType, json: unknown): unknown {
  if (json === null) return null;
  if (type === "int" || type === "boolean" || type === "ustring") return json;
  if (type === "long") return BigInt(json as string);
  if (type === "buffer") return Buffer.from(json as string, "hex");
  if ("vector" in type) return (json as unknown[]).map((item) => fromJson(type.vector, item));
  const obj = json as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, fieldType] of type.fields) {
    if (!(name in obj)) throw new Error(`golden ${type.name} lacks field ${name}`);
    out[name] = fromJson(fieldType, obj[name]);
  }
  const extra = Object.keys(obj).filter((k) => !type.fields.some(([name]) => name === k));
  if (extra.length > 0) throw new Error(`golden ${type.name} has fields the codec does not know: ${extra}`);
  return out;
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

/**
 * A generator for values of a Jute type: edges included (fast-check biases integers to their bounds),
 * null for every nullable type, any Unicode code point in strings (including beyond the BMP).
 */
export function arbitraryOf(type: JuteType, depth = 0): fc.Arbitrary<unknown> {
  if (type === "int") return fc.integer(INT32);
  if (type === "long") return fc.bigInt(INT64);
  if (type === "boolean") return fc.boolean();
  // Decoded buffers are Node Buffers (a Uint8Array subclass), so generate those for deep equality.
  if (type === "buffer")
    return fc.option(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      { nil: null },
    );
  if (type === "ustring") return fc.option(fc.string({ unit: "binary", maxLength: 24 }), { nil: null });
  if ("vector" in type) {
    // Jute vectors of strings cannot hold a null element (the reference never writes one).
    const item =
      type.vector === "ustring"
        ? fc.string({ unit: "binary", maxLength: 16 })
        : arbitraryOf(type.vector, depth + 1);
    return fc.option(fc.array(item, { maxLength: depth > 0 ? 3 : 6 }), { nil: null });
  }
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, fieldType] of type.fields) shape[name] = arbitraryOf(fieldType, depth + 1);
  return fc.record(shape);
}
