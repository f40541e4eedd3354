/**
 * The codec against bytes written by the reference Java implementation. Every line of every `*.jsonl`
 * file in JUTE_GOLDEN_DIR (default ../shared/jute-golden, relative to the repository) must decode to its
 * fields and encode back to its exact bytes. A missing directory or an unknown record fails the test.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../src/protocol/jute.js";
import { fromJson, recordsByName } from "./schema.js";

const repoRoot = resolve(import.meta.dirname, "../..");
const goldenDir = resolve(repoRoot, process.env.JUTE_GOLDEN_DIR ?? "../shared/jute-golden");
const files = readdirSync(goldenDir).filter((f) => f.endsWith(".jsonl"));

interface Vector {
  record: string;
  fields: unknown;
  hex: string;
}

describe(`golden vectors in ${goldenDir}`, () => {
  it("has at least one vector file", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const lines = readFileSync(join(goldenDir, file), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    const vectors = lines.map((l) => JSON.parse(l) as Vector);

    it(`${file}: every line decodes to its fields and encodes to its bytes (${vectors.length} lines)`, () => {
      const failures: string[] = [];
      const seen = new Map<string, number>();
      vectors.forEach((v, i) => {
        const rec = recordsByName.get(v.record);
        if (rec === undefined) {
          failures.push(`line ${i + 1}: no codec for record ${v.record}`);
          return;
        }
        seen.set(v.record, (seen.get(v.record) ?? 0) + 1);
        try {
          const expected = fromJson(rec, v.fields);
          const bytes = Buffer.from(v.hex, "hex");
          expect(decode(rec, bytes), `line ${i + 1} ${v.record} decode`).toEqual(expected);
          expect(encode(rec, expected).toString("hex"), `line ${i + 1} ${v.record} encode`).toBe(v.hex);
          expect(rec.size(expected), `line ${i + 1} ${v.record} size`).toBe(bytes.length);
        } catch (err) {
          failures.push(`line ${i + 1} (${v.record}): ${(err as Error).message}`);
        }
      });
      expect(failures).toEqual([]);
      expect(seen.size).toBeGreaterThan(0);
    });
  }
});
