/**
 * Bad input is refused with ZkArgumentError before anything is sent. The client talks to the shared
 * server through a FaultProxy that logs every frame, so "nothing was sent" is counted, not assumed:
 * after the bad calls one good request goes out as a barrier (FIFO: anything written before it would
 * have reached the proxy first), and it must be the only new request frame.
 *
 * The path rules are the server's (PathUtils.validatePath); the boundary characters on both sides of
 * each forbidden range are created on the real server, so the client refuses exactly what the server
 * would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_TTL, ZkArgumentError, type ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import { argumentError, connect, Fixture, SHARED } from "./helpers.js";

let fx: Fixture;
let proxy: FaultProxy;
let zk: ZooKeeper;

beforeAll(async () => {
  fx = await Fixture.open("conformance-validation");
  const [host, port] = SHARED.split(":");
  proxy = await FaultProxy.start({ target: { host: host!, port: Number(port) } });
  zk = await connect(proxy.connectString);
});
afterAll(async () => {
  await zk?.close();
  await proxy?.close();
  await fx?.close();
});

/** Request frames the proxy saw from the client, pings excluded (they come on their own schedule). */
function requestsSent() {
  return proxy.frames.filter(
    (f) => f.direction === "request" && f.kind === "message" && f.opcode !== OpCode.ping,
  );
}

/**
 * Runs `bad` (which must only make refused calls), then a barrier request, and asserts the barrier was
 * the only request that reached the server.
 */
async function nothingSent(bad: () => Promise<void>): Promise<void> {
  const before = requestsSent().length;
  await bad();
  await zk.sync("/");
  const after = requestsSent();
  expect(after.length - before, "request frames sent besides the barrier").toBe(1);
  expect(after.at(-1)?.opcode).toBe(OpCode.sync);
}

const BAD_PATHS: [string, string][] = [
  ["relative", "a/b"],
  ["empty", ""],
  ["empty segment", "/a//b"],
  ["trailing slash", "/a/"],
  ["dot segment", "/a/./b"],
  ["dot-dot segment", "/a/../b"],
  ["dot at the end", "/a/."],
  ["dot-dot at the end", "/.."],
  ["U+0000", "/a\u0000b"],
  ["U+0001", "/a\u0001"],
  ["U+001F", "/a\u001f"],
  ["U+007F", "/a\u007f"],
  ["U+009F", "/a\u009f"],
  ["U+D800", "/a\ud800"],
  ["U+DFFF", "/a\udfff"],
  ["U+E000", "/a\ue000"],
  ["U+F8FF", "/a\uf8ff"],
  ["an emoji (surrogate pair)", "/pizza-🍕"],
  ["U+1D11E (surrogate pair)", "/clef-\u{1d11e}"],
  ["U+FFF0", "/a\ufff0"],
  ["U+FFFF", "/a\uffff"],
];

/** Names next to the forbidden ranges, and dots that are not relative segments: the server takes them. */
const GOOD_NAMES = [
  "space \u0020",
  "tilde~\u007e",
  "nbsp\u00a0",
  "hangul-end\ud7ff",
  "cjk-compat\uf900",
  "halfwidth\uffef",
  "...",
  ".hidden",
  "trailing.",
  "a..b",
];

describe("paths", () => {
  it("every path-taking call refuses each bad path, and nothing reaches the server", async () => {
    await nothingSent(async () => {
      for (const [why, p] of BAD_PATHS) {
        const calls: [string, () => Promise<unknown>][] = [
          ["create", () => zk.create(p)],
          ["delete", () => zk.delete(p)],
          ["exists", () => zk.exists(p)],
          ["getData", () => zk.getData(p)],
          ["setData", () => zk.setData(p, "x")],
          ["getChildren", () => zk.getChildren(p)],
          ["getACL", () => zk.getACL(p)],
          ["setACL", () => zk.setACL(p, [{ perms: 31, id: { scheme: "world", id: "anyone" } }])],
          ["sync", () => zk.sync(p)],
          ["getAllChildrenNumber", () => zk.getAllChildrenNumber(p)],
          ["getEphemerals", () => zk.getEphemerals(p)],
          ["addWatch", () => zk.addWatch(p)],
          ["removeWatches", () => zk.removeWatches(p, "data")],
          ["checkWatches", () => zk.checkWatches(p, "data")],
          ["deleteRecursive", () => zk.deleteRecursive(p)],
          ["create with parents", () => zk.create(p, null, { createParents: true })],
        ];
        for (const [op, call] of calls) {
          const err = await call().then(
            () => null,
            (e: unknown) => e,
          );
          expect(err, `${op}(${why}: ${JSON.stringify(p)})`).toBeInstanceOf(ZkArgumentError);
        }
        expect(() => zk.transaction().create(p), `transaction create (${why})`).toThrow(ZkArgumentError);
        expect(() => zk.transaction().delete(p), `transaction delete (${why})`).toThrow(ZkArgumentError);
        expect(() => zk.transaction().setData(p, ""), `transaction setData (${why})`).toThrow(
          ZkArgumentError,
        );
        expect(() => zk.transaction().check(p, 0), `transaction check (${why})`).toThrow(ZkArgumentError);
        expect(() => zk.multiRead().getData(p), `multiRead getData (${why})`).toThrow(ZkArgumentError);
        expect(() => zk.multiRead().getChildren(p), `multiRead getChildren (${why})`).toThrow(
          ZkArgumentError,
        );
      }
    });
  });

  it("the error says what is wrong", async () => {
    await nothingSent(async () => {
      await argumentError(zk.create("a/b"), /must start with "\/"/);
      await argumentError(zk.create("/a//b"), /empty segment/);
      await argumentError(zk.create("/a/"), /must not end with "\/"/);
      await argumentError(zk.create("/a/../b"), /relative segment/);
      await argumentError(zk.create("/a\u0000"), /null character/);
      await argumentError(zk.create("/🍕"), /U\+D83C/);
    });
  });

  it("names right next to the forbidden ranges are accepted by the client and the server", async () => {
    const dir = await fx.dir("edges");
    for (const name of GOOD_NAMES) {
      const { path } = await zk.create(`${dir}/${name}`);
      expect(path).toBe(`${dir}/${name}`);
    }
    expect((await zk.getChildren(dir)).children.sort()).toEqual([...GOOD_NAMES].sort());
  });

  it("a trailing slash is allowed as the prefix of a sequential create only", async () => {
    const dir = await fx.dir("q");
    const a = await zk.create(`${dir}/`, "a", { mode: "persistentSequential" });
    const b = await zk.create(`${dir}/`, "b", { mode: "ephemeralSequential" });
    expect(a.path).toMatch(new RegExp(`^${dir}/\\d{10}$`));
    expect(b.path).toMatch(new RegExp(`^${dir}/\\d{10}$`));
    const [seqInTx] = await zk
      .transaction()
      .create(`${dir}/`, null, { mode: "persistentSequential" })
      .commit();
    expect(seqInTx.path).toMatch(new RegExp(`^${dir}/\\d{10}$`));
    await nothingSent(async () => {
      await argumentError(zk.create(`${dir}/`), /must not end with/);
      await argumentError(zk.create(`${dir}/`, null, { mode: "ephemeral" }), /must not end with/);
      await argumentError(zk.create(`${dir}//`, null, { mode: "persistentSequential" }));
      await argumentError(zk.getData(`${dir}/`));
    });
  });
});

describe("data size", () => {
  it("data of exactly the largest request is accepted; one byte more is refused unsent", async () => {
    const { path } = await zk.create(fx.path("big"));
    // setData's request is: xid, opcode, path (length + bytes), data (length + bytes), version. The
    // message of the refusal states the largest data that fits, and it agrees with that layout.
    const layout = 4 + 4 + (4 + Buffer.byteLength(path)) + 4 + 4;
    const max = 0xfffff - layout;
    let message = "";
    await nothingSent(async () => {
      message = await argumentError(zk.setData(path, Buffer.alloc(max + 1, 1)), /exceeds the maximum/);
    });
    expect(message).toContain(`data can be at most ${max} bytes`);

    const stat = await zk.setData(path, Buffer.alloc(max, 0x5a));
    expect(stat.dataLength).toBe(max);
    const { data } = await zk.getData(path);
    expect(data.length).toBe(max);
    expect(data.every((b) => b === 0x5a)).toBe(true);

    // The same limit for create, whose request also carries the ACL (one entry: perms, "world",
    // "anyone") and the flags.
    const p2 = fx.path("big-create");
    const createLayout = 4 + 4 + (4 + Buffer.byteLength(p2)) + 4 + (4 + 4 + (4 + 5) + (4 + 6)) + 4;
    const createMax = 0xfffff - createLayout;
    await nothingSent(async () => {
      await argumentError(zk.create(p2, Buffer.alloc(createMax + 1)), /exceeds the maximum/);
    });
    expect((await zk.create(p2, Buffer.alloc(createMax))).stat.dataLength).toBe(createMax);
  });
});

describe("create options", () => {
  it("ttl only with a TTL mode, a TTL mode only with a ttl from 1 to MAX_TTL", async () => {
    const p = fx.path("ttl");
    await nothingSent(async () => {
      await argumentError(zk.create(p, null, { ttl: 1000 }), /only for the TTL modes/);
      await argumentError(zk.create(p, null, { mode: "ephemeral", ttl: 1000 }), /only for the TTL modes/);
      await argumentError(zk.create(p, null, { mode: "persistentWithTTL" }), /needs ttl/);
      await argumentError(zk.create(p, null, { mode: "persistentSequentialWithTTL" }), /needs ttl/);
      for (const ttl of [0, -1, 1.5, Number.NaN, MAX_TTL + 1, Number.POSITIVE_INFINITY]) {
        await argumentError(zk.create(p, null, { mode: "persistentWithTTL", ttl }), /needs ttl/);
      }
      await argumentError(
        zk.create(p, null, { mode: "persistentWithTTL", ttl: "100" as unknown as number }),
        /needs ttl/,
      );
      expect(() => zk.transaction().create(p, null, { mode: "persistentWithTTL" })).toThrow(ZkArgumentError);
      await argumentError(zk.create(p, null, { mode: "bogus" as never }), /unknown create mode/);
    });
    // The largest TTL is one the server takes (it keeps TTLs in 40 bits).
    const { path } = await zk.create(p, null, { mode: "persistentWithTTL", ttl: MAX_TTL });
    expect(path).toBe(p);
  });

  it("malformed ACLs are refused unsent", async () => {
    const p = fx.path("acl");
    const bad: unknown[] = [
      [],
      "world:anyone",
      [null],
      [{ perms: 32, id: { scheme: "world", id: "anyone" } }],
      [{ perms: -1, id: { scheme: "world", id: "anyone" } }],
      [{ perms: 1.5, id: { scheme: "world", id: "anyone" } }],
      [{ id: { scheme: "world", id: "anyone" } }],
      [{ perms: 31 }],
      [{ perms: 31, id: null }],
      [{ perms: 31, id: { scheme: "world" } }],
      [{ perms: 31, id: { id: "anyone" } }],
      [{ perms: 31, id: { scheme: "", id: "anyone" } }],
    ];
    await nothingSent(async () => {
      for (const acl of bad) {
        await argumentError(zk.create(p, null, { acl: acl as never }), /acl/);
        await argumentError(zk.setACL("/", acl as never), /acl/);
      }
    });
  });

  it("bad versions are refused unsent", async () => {
    const p = fx.path("v");
    await nothingSent(async () => {
      for (const version of [-2, 1.5, 2 ** 31, Number.NaN, "1" as unknown as number]) {
        await argumentError(zk.delete(p, { version }), /version/);
        await argumentError(zk.setData(p, "x", { version }), /version/);
        await argumentError(
          zk.setACL(p, [{ perms: 31, id: { scheme: "world", id: "anyone" } }], { version }),
        );
        expect(() => zk.transaction().check(p, version)).toThrow(ZkArgumentError);
        expect(() => zk.transaction().delete(p, version)).toThrow(ZkArgumentError);
        expect(() => zk.transaction().setData(p, "x", version)).toThrow(ZkArgumentError);
      }
    });
  });

  it("other malformed arguments are refused unsent", async () => {
    const p = fx.path("misc");
    await nothingSent(async () => {
      await argumentError(zk.create(p, 42 as never), /data must be/);
      await argumentError(zk.setData(p, { length: 1 } as never), /data must be/);
      await argumentError(zk.getData(p, { watch: "yes" as never }), /watch must be/);
      await argumentError(zk.removeWatches(p, "bogus" as never), /unknown watch type/);
      await argumentError(zk.checkWatches(p, "bogus" as never), /unknown watch type/);
      await argumentError(zk.addWatch(p, { mode: "bogus" as never }), /mode must be/);
      await argumentError(zk.addAuth("", "x"), /scheme/);
      await argumentError(zk.reconfig({}), /reconfig needs/);
      await argumentError(zk.reconfig({ newMembers: ["a"], leaving: [1] }), /not both/);
    });
  });
});
