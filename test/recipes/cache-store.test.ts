/**
 * The cache's compact node store (src/recipes/cache/store.ts) against a plain Map under random inserts
 * and removals: its hash table (linear probing, deletion by shifting back), slot reuse, the sibling
 * links, path building and trim(). No server: the store is pure data.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Stat } from "../../src/index.js";
import { NodeStore } from "../../src/recipes/cache/store.js";

const stat = (n: number): Stat => ({
  czxid: BigInt(n),
  mzxid: BigInt(n) * 3n,
  ctime: 1_700_000_000_000n + BigInt(n),
  mtime: -5n,
  version: n,
  cversion: 0 - n || 0,
  aversion: 7,
  ephemeralOwner: 0x1234_5678_9abc_def0n,
  dataLength: n % 5,
  numChildren: 2,
  pzxid: 2n ** 62n + BigInt(n),
});

for (const root of ["/", "/r", "/r/s"]) {
  describe(`a NodeStore rooted at ${root}`, () => {
    const join = (parent: string, name: string) => (parent === "/" ? `/${name}` : `${parent}/${name}`);

    it("agrees with a Map under random inserts and removals", () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.boolean(), fc.nat(400), fc.constantFrom("a", "b", "n1", "x-y", "é", "a/b")), {
            maxLength: 400,
          }),
          (steps) => {
            const store = new NodeStore(4);
            const model = new Map<string, { data: string; n: number }>();
            store.insert(root, -1, Buffer.from("root"), stat(0), 0);
            model.set(root, { data: "root", n: 0 });
            let n = 1;
            for (const [add, pick, word] of steps) {
              const paths = [...model.keys()];
              const parent = paths[pick % paths.length]!;
              if (add) {
                const path = join(parent, `${word.replace("/", "_")}${pick % 7}`);
                if (model.has(path)) continue;
                const data = `d${n}`.repeat(n % 3);
                store.insert(path, store.slot(parent), Buffer.from(data, "latin1"), stat(n), n);
                model.set(path, { data, n });
                n++;
              } else if (parent !== root) {
                // Remove the subtree, deepest first, as the cache does.
                const gone = paths.filter((p) => p === parent || p.startsWith(`${parent}/`));
                gone.sort((a, b) => b.length - a.length);
                for (const p of gone) {
                  store.remove(store.slot(p));
                  model.delete(p);
                }
              }
              if (pick % 50 === 0) store.trim();
            }
            expect(store.size).toBe(model.size);
            expect([...store.paths()].sort()).toEqual([...model.keys()].sort());
            for (const [path, { data, n: k }] of model) {
              const slot = store.slot(path);
              expect(slot).toBeGreaterThanOrEqual(0);
              expect(store.path(slot)).toBe(path);
              expect(store.data(slot).toString("latin1")).toBe(data);
              expect(store.stat(slot)).toEqual(stat(k));
              const children = store
                .children(slot)
                .map((c) => store.path(c))
                .sort();
              const expected = [...model.keys()]
                .filter((p) => p !== path && p.startsWith(path === "/" ? "/" : `${path}/`))
                .filter((p) => !p.slice(path === "/" ? 1 : path.length + 1).includes("/"))
                .sort();
              expect(children).toEqual(expected);
            }
            for (const absent of [join(root, "zz"), `${root}x`, join(join(root, "a0"), "none")]) {
              if (!model.has(absent)) expect(store.slot(absent)).toBe(-1);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
}
