/**
 * Every operation of the client API against the shared real server: what each returns, and that the
 * server really did what the call says (read back, often from a second session).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AclEntry,
  digestAcl,
  ErrorCode,
  OPEN_ACL_UNSAFE,
  Perms,
  READ_ACL_UNSAFE,
  type Stat,
  TransactionError,
  ZooKeeperError,
} from "../../src/index.js";
import { lacks } from "../support/features.js";
import { connect, Fixture, within, zkError } from "./helpers.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await Fixture.open("conformance-ops");
});
afterAll(async () => {
  await fx?.close();
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
const SEQUENCE = /^\d{10}$/;

/**
 * The server keeps containers and TTL nodes apart with a marker in the owner field (EphemeralType), but
 * shows clients 0 there (DataNode.copyStat: only a session owns a node); the Java client sees 0 too.
 */
const NOT_EPHEMERAL = 0n;

describe("create", () => {
  it("persistent: the path asked for and the Stat of the new node", async () => {
    const { zk } = fx;
    const p = fx.path("persistent");
    const { path, stat } = await zk.create(p, "hello");
    expect(path).toBe(p);
    expect(stat.dataLength).toBe(5);
    expect(stat.version).toBe(0);
    expect(stat.ephemeralOwner).toBe(0n);
    expect(stat.czxid).toBe(stat.mzxid);
    expect(stat.czxid).toBeGreaterThan(0n);
    // The Stat returned by create is the node's Stat as the server stores it.
    expect(await zk.exists(p)).toEqual(stat);
  });

  it("ephemeral: owned by this session", async () => {
    const { zk } = fx;
    const { path, stat } = await zk.create(fx.path("ephemeral"), null, { mode: "ephemeral" });
    expect(stat.ephemeralOwner).toBe(zk.sessionId);
    expect(stat.ephemeralOwner).not.toBe(0n);
    expect(await zk.exists(path)).toEqual(stat);
  });

  it("persistentSequential and ephemeralSequential: a 10-digit counter appended, increasing", async () => {
    const { zk } = fx;
    const dir = await fx.dir("seq");
    const a = await zk.create(`${dir}/job-`, "a", { mode: "persistentSequential" });
    const b = await zk.create(`${dir}/job-`, "b", { mode: "ephemeralSequential" });
    const c = await zk.create(`${dir}/job-`, "c", { mode: "persistentSequential" });
    for (const r of [a, b, c]) {
      expect(r.path.startsWith(`${dir}/job-`)).toBe(true);
      expect(r.path.slice(`${dir}/job-`.length)).toMatch(SEQUENCE);
    }
    const n = (p: string) => Number(p.slice(-10));
    expect(n(b.path)).toBe(n(a.path) + 1);
    expect(n(c.path)).toBe(n(b.path) + 1);
    expect(a.stat.ephemeralOwner).toBe(0n);
    expect(b.stat.ephemeralOwner).toBe(zk.sessionId);
    expect(text((await zk.getData(b.path)).data)).toBe("b");
  });

  it("container, persistentWithTTL, persistentSequentialWithTTL: created, then removed by the server", async () => {
    const { zk } = fx;
    const dir = await fx.dir("reaped");
    const container = await zk.create(`${dir}/container`, null, { mode: "container" });
    expect(container.path).toBe(`${dir}/container`);
    expect(container.stat.ephemeralOwner).toBe(NOT_EPHEMERAL);
    const ttl = await zk.create(`${dir}/ttl`, "t", { mode: "persistentWithTTL", ttl: 200 });
    expect(ttl.path).toBe(`${dir}/ttl`);
    expect(ttl.stat.ephemeralOwner).toBe(NOT_EPHEMERAL);
    const seqTtl = await zk.create(`${dir}/ttl-`, "s", { mode: "persistentSequentialWithTTL", ttl: 300 });
    expect(seqTtl.path.slice(`${dir}/ttl-`.length)).toMatch(SEQUENCE);
    expect(seqTtl.stat.ephemeralOwner).toBe(NOT_EPHEMERAL);

    // A container goes once it had children and has none left (ContainerManager checks cversion > 0).
    await zk.create(`${container.path}/child`);
    await zk.delete(`${container.path}/child`);
    // The server sweeps every znode.container.checkIntervalMs (1 s in the harness): wait for the
    // NodeDeleted each exists watch gets, not a fixed time.
    const gone = await Promise.all(
      [container.path, ttl.path, seqTtl.path].map(async (p) => {
        const { stat, watch } = await zk.exists(p, { watch: true });
        expect(stat, `${p} exists before the sweep`).not.toBeNull();
        return within(watch, 10_000, `the server to delete ${p}`);
      }),
    );
    expect(gone.map((e) => e.type)).toEqual(["NodeDeleted", "NodeDeleted", "NodeDeleted"]);
    expect(await zk.exists(container.path)).toBeNull();
    expect(await zk.exists(ttl.path)).toBeNull();
    expect(await zk.exists(seqTtl.path)).toBeNull();
  });

  it("with an ACL: the server stores exactly that ACL", async () => {
    const { zk } = fx;
    const acl: AclEntry[] = [...READ_ACL_UNSAFE, digestAcl("alice", "secret", Perms.ALL)];
    const { path, stat } = await zk.create(fx.path("acl"), "x", { acl });
    expect(stat.aversion).toBe(0);
    // With ADMIN (alice) the caller sees the ACL as stored...
    await using alice = await connect();
    await alice.addAuth("digest", "alice:secret");
    const got = await alice.getACL(path);
    expect(got.acl).toEqual(acl);
    expect(got.stat).toEqual(stat);
    // ...with READ only, 3.9 servers mask digests (ZOOKEEPER-1392): "user:x".
    const masked = await zk.getACL(path);
    expect(masked.acl[1]?.id).toEqual({ scheme: "digest", id: "alice:x" });
  });

  it("with createParents: missing ancestors are created (persistent, empty), existing ones kept", async () => {
    const { zk } = fx;
    const base = fx.path("parents");
    const { path } = await zk.create(`${base}/a/b/leaf`, "leaf", { createParents: true, mode: "ephemeral" });
    expect(path).toBe(`${base}/a/b/leaf`);
    for (const p of [base, `${base}/a`, `${base}/a/b`]) {
      const { data, stat } = await zk.getData(p);
      expect(data.length, p).toBe(0);
      expect(stat.ephemeralOwner, `${p} is persistent`).toBe(0n);
    }
    expect((await zk.exists(path))?.ephemeralOwner).toBe(zk.sessionId);
    // Some parents already there: only the missing ones are made.
    await zk.create(`${base}/a/c/d`, null, { createParents: true });
    expect((await zk.getChildren(`${base}/a`)).children.sort()).toEqual(["b", "c"]);
    // Without createParents the missing parent is the caller's problem.
    await zkError(zk.create(`${base}/x/y`), "NoNode");
  });
});

describe("delete and deleteRecursive", () => {
  it("delete at a version: BadVersion when it moved on, deleted at the right one", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("del"));
    await zk.setData(path, "v1");
    await zkError(zk.delete(path, { version: 0 }), "BadVersion");
    expect(await zk.exists(path)).not.toBeNull();
    await zk.delete(path, { version: 1 });
    expect(await zk.exists(path)).toBeNull();
    // -1 (or no version) deletes whatever the version.
    const again = await zk.create(fx.path("del"));
    await zk.setData(again.path, "x");
    await zk.delete(again.path, { version: -1 });
    expect(await zk.exists(again.path)).toBeNull();
  });

  it("deleteRecursive removes a tree, counts what it removed, and is fine with a missing node", async () => {
    const { zk } = fx;
    const top = fx.path("tree");
    for (const p of ["a/b/c", "a/d", "e"]) await zk.create(`${top}/${p}`, null, { createParents: true });
    expect(await zk.getAllChildrenNumber(top)).toBe(5);
    expect(await zk.deleteRecursive(top)).toBe(6);
    expect(await zk.exists(top)).toBeNull();
    expect(await zk.deleteRecursive(top)).toBe(0);
  });
});

describe("reads and writes", () => {
  it("exists: the Stat, or null for a missing node", async () => {
    const { zk } = fx;
    const { path, stat } = await zk.create(fx.path("ex"), "abc");
    expect(await zk.exists(path)).toEqual(stat);
    expect(await zk.exists(`${path}-missing`)).toBeNull();
  });

  it("getData: bytes and Stat; empty data reads as zero bytes", async () => {
    const { zk } = fx;
    const bytes = Uint8Array.from([0, 1, 2, 0xff, 0xfe]);
    const { path, stat } = await zk.create(fx.path("data"), bytes);
    const got = await zk.getData(path);
    expect(Buffer.from(got.data).equals(Buffer.from(bytes))).toBe(true);
    expect(got.stat).toEqual(stat);
    const empty = await zk.create(fx.path("empty"));
    expect((await zk.getData(empty.path)).data).toHaveLength(0);
  });

  it("getData: the bytes stay as read while the connection reads on (a socket read's memory is reused)", async () => {
    const { zk } = fx;
    // Around the 64 KiB a connection reads at once: a reply alone in one read, just fitting, spanning two.
    const sizes = [5, 1_000, 63_000, 64_600, 65_400, 70_000, 200_000];
    const paths = await Promise.all(
      sizes.map(async (n, i) => (await zk.create(fx.path(`sized-${n}`), Buffer.alloc(n, 0x41 + i))).path),
    );
    const read = [];
    for (const path of paths) read.push((await zk.getData(path)).data);
    // More replies through the same read buffer, on this connection and on another client's (the
    // process's connections share it), then look again at what was read first.
    await using other = await connect();
    const both = await Promise.all(
      paths.flatMap((path) => [zk.getData(path), other.getData(path), other.getData(path)]),
    );
    const expected = (i: number) => Buffer.alloc(sizes[i]!, 0x41 + i);
    for (const [i, data] of read.entries()) {
      expect(data.length).toBe(sizes[i]);
      expect(Buffer.from(data).equals(expected(i))).toBe(true);
    }
    for (const [j, { data }] of both.entries()) {
      expect(Buffer.from(data).equals(expected(Math.floor(j / 3)))).toBe(true);
    }
  });

  it("setData at a version returns the new Stat; BadVersion at an old one", async () => {
    const { zk } = fx;
    const { path, stat: created } = await zk.create(fx.path("set"), "v0");
    const s1 = await zk.setData(path, "version one", { version: 0 });
    expect(s1.version).toBe(1);
    expect(s1.dataLength).toBe("version one".length);
    expect(s1.mzxid).toBeGreaterThan(created.mzxid);
    expect(s1.czxid).toBe(created.czxid);
    await zkError(zk.setData(path, "stale", { version: 0 }), "BadVersion");
    const s2 = await zk.setData(path, "any");
    expect(s2.version).toBe(2);
    const got = await zk.getData(path);
    expect(text(got.data)).toBe("any");
    expect(got.stat).toEqual(s2);
  });

  it("getACL and setACL at an ACL version (aversion)", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("setacl"));
    // ADMIN kept: setACL itself needs it.
    const acl: AclEntry[] = [{ perms: Perms.READ | Perms.ADMIN, id: { scheme: "world", id: "anyone" } }];
    await zkError(zk.setACL(path, acl, { version: 3 }), "BadVersion");
    const stat = await zk.setACL(path, acl, { version: 0 });
    expect(stat.aversion).toBe(1);
    const got = await zk.getACL(path);
    expect(got.acl).toEqual(acl);
    expect(got.stat.aversion).toBe(1);
    // Without a version any aversion will do.
    expect((await zk.setACL(path, OPEN_ACL_UNSAFE)).aversion).toBe(2);
  });

  it("getChildren: the names and the parent's Stat", async () => {
    const { zk } = fx;
    const dir = await fx.dir("kids");
    for (const name of ["x", "y", "z"]) await zk.create(`${dir}/${name}`);
    const { children, stat } = await zk.getChildren(dir);
    expect(children.sort()).toEqual(["x", "y", "z"]);
    expect(stat.numChildren).toBe(3);
    expect(stat.cversion).toBe(3);
    expect(await zk.exists(dir)).toEqual(stat);
    expect((await zk.getChildren(await fx.dir("none"))).children).toEqual([]);
  });

  it("getAllChildrenNumber counts every descendant", async () => {
    const { zk } = fx;
    const dir = await fx.dir("count");
    for (const p of ["a", "a/x", "a/y", "b"]) await zk.create(`${dir}/${p}`);
    expect(await zk.getAllChildrenNumber(dir)).toBe(4);
    expect(await zk.getAllChildrenNumber(`${dir}/a`)).toBe(2);
    expect(await zk.getAllChildrenNumber(`${dir}/b`)).toBe(0);
  });

  it("sync returns the path, and a read after it sees another session's write", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("sync"), "before");
    await using other = await connect();
    await other.setData(path, "after");
    expect(await zk.sync(path)).toBe(path);
    expect(text((await zk.getData(path)).data)).toBe("after");
  });

  it("getEphemerals lists this session's ephemeral nodes under a prefix", async () => {
    const { zk } = fx;
    const dir = await fx.dir("eph");
    const a = await zk.create(`${dir}/a`, null, { mode: "ephemeral" });
    const b = await zk.create(`${dir}/sub/b`, null, { mode: "ephemeral", createParents: true });
    const c = await zk.create(`${dir}/c-`, null, { mode: "ephemeralSequential" });
    await zk.create(`${dir}/persistent`);
    await using other = await connect();
    await other.create(`${dir}/others`, null, { mode: "ephemeral" });

    expect((await zk.getEphemerals(dir)).sort()).toEqual([a.path, c.path, b.path].sort());
    expect(await zk.getEphemerals(`${dir}/sub`)).toEqual([b.path]);
    const all = await zk.getEphemerals();
    expect(all).toEqual(expect.arrayContaining([a.path, b.path, c.path]));
    expect(all).not.toContain(`${dir}/others`);
    expect(await other.getEphemerals(dir)).toEqual([`${dir}/others`]);
  });
});

describe("transaction (multi)", () => {
  it("applies every op and returns a typed result per op", async () => {
    const { zk } = fx;
    const dir = await fx.dir("tx");
    const old = await zk.create(`${dir}/old`);
    const dirStat = (await zk.exists(dir)) as Stat;
    const [created, seq, checked, updated, deleted] = await zk
      .transaction()
      .create(`${dir}/new`, "n", { mode: "ephemeral" })
      .create(`${dir}/seq-`, "s", { mode: "persistentSequential" })
      .check(dir, dirStat.version)
      .setData(`${dir}/new`, "updated", 0)
      .delete(old.path, 0)
      .commit();
    expect(created.type).toBe("create");
    expect(created.path).toBe(`${dir}/new`);
    // A server before 3.8.2 answers a create in a multi without its Stat (ZOOKEEPER-4026).
    const withStat = lacks("multiCreateStat") === undefined;
    if (withStat) expect(created.stat?.ephemeralOwner).toBe(zk.sessionId);
    else expect(created.stat).toBeUndefined();
    expect(seq.type).toBe("create");
    expect(seq.path.slice(`${dir}/seq-`.length)).toMatch(SEQUENCE);
    expect(checked).toEqual({ type: "check" });
    expect(updated.type).toBe("setData");
    expect(updated.stat.version).toBe(1);
    // One transaction, one zxid for every change in it.
    if (withStat) expect(updated.stat.mzxid).toBe(created.stat?.czxid);
    expect(deleted).toEqual({ type: "delete" });
    expect(text((await zk.getData(`${dir}/new`)).data)).toBe("updated");
    expect(await zk.exists(old.path)).toBeNull();
  });

  it("creates containers and TTL nodes inside a transaction", async () => {
    const { zk } = fx;
    const dir = await fx.dir("tx-types");
    const [container, ttl] = await zk
      .transaction()
      .create(`${dir}/container`, null, { mode: "container" })
      .create(`${dir}/ttl`, null, { mode: "persistentWithTTL", ttl: 60_000 })
      .commit();
    expect(container.path).toBe(`${dir}/container`);
    expect(container.stat?.ephemeralOwner).toBe(NOT_EPHEMERAL);
    expect(ttl.path).toBe(`${dir}/ttl`);
    expect(ttl.stat?.ephemeralOwner).toBe(NOT_EPHEMERAL);
  });

  it("fails as a whole: TransactionError names the failed op and every op's outcome", async () => {
    const { zk } = fx;
    const dir = await fx.dir("txfail");
    const err = await zkError(
      zk.transaction().create(`${dir}/a`).setData(`${dir}/missing`, "x").create(`${dir}/b`).commit(),
      "NoNode",
    );
    expect(err).toBeInstanceOf(TransactionError);
    const tx = err as TransactionError;
    expect(tx.code).toBe(ErrorCode.NoNode);
    expect(tx.index).toBe(1);
    expect(tx.op).toBe("multi");
    expect(tx.path).toBe(`${dir}/missing`);
    expect(tx.outcomes).toEqual([
      { op: "create", path: `${dir}/a`, code: 0 },
      { op: "setData", path: `${dir}/missing`, code: ErrorCode.NoNode },
      { op: "create", path: `${dir}/b`, code: ErrorCode.RuntimeInconsistency },
    ]);
    // Nothing was applied.
    expect(await zk.exists(`${dir}/a`)).toBeNull();
    expect(await zk.exists(`${dir}/b`)).toBeNull();

    const version = await zkError(zk.transaction().check(dir, 42).create(`${dir}/c`).commit(), "BadVersion");
    expect((version as TransactionError).index).toBe(0);
  });

  it("an empty transaction resolves with no results", async () => {
    expect(await fx.zk.transaction().commit()).toEqual([]);
  });
});

describe("multiRead (ReadBatch)", () => {
  it("answers each read on its own: results and errors side by side", async () => {
    const { zk } = fx;
    const dir = await fx.dir("mr");
    const { stat } = await zk.create(`${dir}/a`, "alpha");
    await zk.create(`${dir}/b`);
    const [data, missingData, kids, missingKids] = await zk
      .multiRead()
      .getData(`${dir}/a`)
      .getData(`${dir}/nope`)
      .getChildren(dir)
      .getChildren(`${dir}/nope`)
      .run();
    if (data.type !== "getData") expect.unreachable(`getData failed: ${String(data.type)}`);
    expect(text(data.data)).toBe("alpha");
    expect(data.stat).toEqual(stat);
    if (missingData.type !== "error") expect.unreachable("getData of a missing node succeeded");
    expect(missingData.error).toBeInstanceOf(ZooKeeperError);
    expect(missingData.error.codeName).toBe("NoNode");
    expect(missingData.error.path).toBe(`${dir}/nope`);
    if (kids.type !== "getChildren") expect.unreachable("getChildren failed");
    expect(kids.children.sort()).toEqual(["a", "b"]);
    if (missingKids.type !== "error") expect.unreachable("getChildren of a missing node succeeded");
    expect(missingKids.error.codeName).toBe("NoNode");
  });
});

describe("auth", () => {
  it("addAuth digest: NoAuth before, allowed after; whoAmI shows the identity", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("secret"), "s3cret", { acl: [digestAcl("bob", "pw")] });
    await using other = await connect();
    expect(await other.whoAmI()).toEqual([{ authScheme: "ip", user: "127.0.0.1" }]);
    const denied = await zkError(other.getData(path), "NoAuth");
    expect(denied.path).toBe(path);
    await zkError(other.setData(path, "x"), "NoAuth");

    await other.addAuth("digest", "bob:wrong");
    await zkError(other.getData(path), "NoAuth");
    await other.addAuth("digest", "bob:pw");
    expect(text((await other.getData(path)).data)).toBe("s3cret");
    const ids = await other.whoAmI();
    expect(ids).toEqual(
      expect.arrayContaining([
        { authScheme: "ip", user: "127.0.0.1" },
        { authScheme: "digest", user: "bob" },
      ]),
    );
    // Deleting needs DELETE on the parent only; the fixture's recursive cleanup could not list it.
    await zk.delete(path);
  });

  it("the auth scheme in an ACL means the creator's identities", async () => {
    await using zk = await connect();
    await zk.addAuth("digest", "carol:pw");
    const { path } = await zk.create(fx.path("creator"), "mine", {
      acl: [{ perms: Perms.ALL, id: { scheme: "auth", id: "" } }],
    });
    expect((await zk.getACL(path)).acl).toEqual([digestAcl("carol", "pw")]);
    await zkError(fx.zk.getData(path), "NoAuth");
    await fx.zk.delete(path);
  });
});
