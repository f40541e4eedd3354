/**
 * Unicode through an independent second client: node names in many scripts and data holding
 * characters beyond the BMP, written by zkwire and read by the real ZooKeeper Java client
 * (test/peers/reference-client), and the other way round. Both must agree on every byte: names are
 * UTF-8 on the wire (Jute ustring), data is bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RefClient } from "../peers/reference-client/ref-client.js";
import { Fixture, SHARED } from "./helpers.js";

let fx: Fixture;
let java: RefClient;
beforeAll(async () => {
  // The JVM compiles RefClient.java at start; overlap that with opening the fixture.
  [fx, java] = await Promise.all([Fixture.open("conformance-interop"), RefClient.start(SHARED)]);
});
afterAll(async () => {
  java?.close();
  await fx?.close();
});

/** Names the server accepts (nothing from its forbidden ranges), in many scripts. */
const NAMES = [
  "café",
  "naïve-Ünïcödé",
  "日本語のノード",
  "中文节点",
  "한국어",
  "العربية",
  "עברית",
  "Кириллица",
  "Ελληνικά",
  "हिन्दी",
  "ไทย",
  "e\u0301-combining",
  "nbsp\u00a0inside",
  "math ∑∫≈",
  "edge\ud7ff\uf900\uffef",
];

/** Data with characters beyond the BMP (surrogate pairs in UTF-16, four bytes in UTF-8). */
const DATA = [
  "emoji 😀🎉👩‍💻",
  "G clef \u{1d11e}",
  "math 𝔸𝔹ℂ",
  "CJK ext B 𠀀𪚥",
  "mixed: ascii, é, 中, 😀, \u{10ffff}",
];

describe("unicode through the reference Java client", () => {
  it("names and data written by zkwire read back intact by the Java client", async () => {
    const dir = await fx.dir("from-zkwire");
    for (const [i, name] of NAMES.entries()) {
      await fx.zk.create(`${dir}/${name}`, DATA[i % DATA.length]!);
    }
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await fx.zk.create(`${dir}/binary`, bytes);

    expect((await java.children(dir)).sort()).toEqual([...NAMES, "binary"].sort());
    for (const [i, name] of NAMES.entries()) {
      const data = await java.getData(`${dir}/${name}`);
      expect(data.toString("utf8"), name).toBe(DATA[i % DATA.length]);
      expect(data.equals(Buffer.from(DATA[i % DATA.length]!, "utf8")), name).toBe(true);
    }
    expect((await java.getData(`${dir}/binary`)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("names and data written by the Java client read back intact by zkwire", async () => {
    const dir = await fx.dir("from-java");
    for (const [i, name] of NAMES.entries()) {
      const created = await java.create(`${dir}/${name}`, Buffer.from(DATA[i % DATA.length]!, "utf8"));
      expect(created).toBe(`${dir}/${name}`);
    }
    const { children } = await fx.zk.getChildren(dir);
    expect(children.sort()).toEqual([...NAMES].sort());
    for (const [i, name] of NAMES.entries()) {
      const { data } = await fx.zk.getData(`${dir}/${name}`);
      expect(Buffer.from(data).toString("utf8"), name).toBe(DATA[i % DATA.length]);
    }
    // The names as zkwire sends them find the nodes the Java client made.
    for (const name of NAMES) expect(await fx.zk.exists(`${dir}/${name}`), name).not.toBeNull();
  });
});
