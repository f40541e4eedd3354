/**
 * A chroot in the connect string ("host:port/app"): every path sent is prefixed with it and every path
 * returned is stripped of it, whatever the operation. A second client without the chroot checks where
 * things really are on the server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZooKeeper } from "../../src/index.js";
import { requires } from "../support/features.js";
import { brief, connect, Fixture, nextEvent, Recorder, SHARED, within, zkError } from "./helpers.js";

let fx: Fixture;
/** The chroot node, as seen without chroot. */
let chroot: string;
let zk: ZooKeeper;

beforeAll(async () => {
  fx = await Fixture.open("conformance-chroot");
  chroot = await fx.dir("app");
  zk = await connect(`${SHARED}${chroot}`);
});
afterAll(async () => {
  await zk?.close();
  await fx?.close();
});

/** The same node through the client without chroot. */
const outside = (p: string) => (p === "/" ? chroot : `${chroot}${p}`);

describe("chroot", () => {
  it("'/' inside the chroot is the chroot node", async () => {
    expect(zk.chroot).toBe(chroot);
    await fx.zk.setData(chroot, "the app's root");
    const inside = await zk.getData("/");
    expect(Buffer.from(inside.data).toString()).toBe("the app's root");
    expect(inside.stat).toEqual(await fx.zk.exists(chroot));
  });

  it("create: the path sent is prefixed, the path returned stripped (sequential too)", async () => {
    const plain = await zk.create("/plain", "x");
    expect(plain.path).toBe("/plain");
    expect(await fx.zk.exists(outside("/plain"))).toEqual(plain.stat);
    const seq = await zk.create("/job-", null, { mode: "ephemeralSequential" });
    expect(seq.path).toMatch(/^\/job-\d{10}$/);
    expect(await fx.zk.exists(outside(seq.path))).not.toBeNull();
    const parents = await zk.create("/deep/er/node", null, { createParents: true });
    expect(parents.path).toBe("/deep/er/node");
    expect(await fx.zk.exists(outside("/deep/er"))).not.toBeNull();
    await zkError(zk.create("/plain"), "NodeExists");
  });

  it("getChildren, getAllChildrenNumber, exists, sync, delete", async () => {
    await zk.create("/list");
    await zk.create("/list/a");
    await zk.create("/list/b");
    expect((await zk.getChildren("/list")).children.sort()).toEqual(["a", "b"]);
    expect((await zk.getChildren("/")).children).toContain("list");
    expect((await zk.getChildren("/")).children.sort()).toEqual(
      (await fx.zk.getChildren(chroot)).children.sort(),
    );
    expect(await zk.getAllChildrenNumber("/list")).toBe(2);
    expect(await zk.sync("/list")).toBe("/list");
    expect(await zk.sync("/")).toBe("/");
    await zk.delete("/list/a");
    expect(await fx.zk.exists(outside("/list/a"))).toBeNull();
    const err = await zkError(zk.getData("/list/a"), "NoNode");
    expect(err.path).toBe("/list/a");
  });

  it("getEphemerals returns paths inside the chroot", async () => {
    const a = await zk.create("/eph-a", null, { mode: "ephemeral" });
    const b = await zk.create("/eph-dir/b", null, { mode: "ephemeral", createParents: true });
    expect(await zk.getEphemerals("/eph-dir")).toEqual([b.path]);
    const all = await zk.getEphemerals();
    expect(all).toEqual(expect.arrayContaining(["/eph-a", "/eph-dir/b"]));
    for (const p of all) expect(p.startsWith(chroot)).toBe(false);
    expect(a.path).toBe("/eph-a");
  });

  it("transaction results and errors carry client paths", async () => {
    const [created, seq, updated] = await zk
      .transaction()
      .create("/tx", "t")
      .create("/tx/s-", null, { mode: "persistentSequential" })
      .setData("/tx", "u")
      .commit();
    expect(created.path).toBe("/tx");
    expect(seq.path).toMatch(/^\/tx\/s-\d{10}$/);
    expect(updated.stat.version).toBe(1);
    expect(await fx.zk.exists(outside("/tx"))).not.toBeNull();
    const err = await zkError(zk.transaction().create("/tx").commit(), "NodeExists");
    expect(err.path).toBe("/tx");
    const [read] = await zk.multiRead().getChildren("/tx").run();
    if (read.type !== "getChildren") expect.unreachable("multiRead getChildren failed");
    expect(read.children).toEqual([seq.path.slice("/tx/".length)]);
  });

  it("one-shot watch events carry client paths", async () => {
    await zk.create("/w");
    const data = await zk.getData("/w", { watch: true });
    const kids = new Recorder();
    await zk.getChildren("/w", { watch: kids.watcher });
    const created = await zk.exists("/w/new", { watch: true });
    await fx.zk.create(outside("/w/new"));
    await fx.zk.setData(outside("/w"), "x");
    expect(await within(created.watch, 5_000, "NodeCreated")).toMatchObject({
      type: "NodeCreated",
      path: "/w/new",
    });
    expect(brief(await kids.waitFor(1))).toEqual(["NodeChildrenChanged /w"]);
    expect(await within(data.watch, 5_000, "NodeDataChanged")).toMatchObject({
      type: "NodeDataChanged",
      path: "/w",
    });
    // A watch on the chroot node itself reports "/".
    const root = await zk.getData("/", { watch: true });
    await fx.zk.setData(chroot, "root changed");
    expect(await within(root.watch, 5_000, "NodeDataChanged on /")).toMatchObject({
      type: "NodeDataChanged",
      path: "/",
    });
  });

  it("persistent watch events carry client paths", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    await zk.create("/pw");
    await using recursive = await zk.addWatch("/pw", { mode: "persistentRecursive" });
    await using plain = await zk.addWatch("/pw");
    expect(await zk.checkWatches("/pw", "persistentRecursive")).toBe(true);
    await fx.zk.create(outside("/pw/child"));
    await fx.zk.setData(outside("/pw"), "x");
    expect(brief([await nextEvent(recursive), await nextEvent(recursive)])).toEqual([
      "NodeCreated /pw/child",
      "NodeDataChanged /pw",
    ]);
    expect(brief([await nextEvent(plain), await nextEvent(plain)])).toEqual([
      "NodeChildrenChanged /pw",
      "NodeDataChanged /pw",
    ]);
  });

  it("removeWatches and checkWatches take client paths", async () => {
    await zk.create("/rw");
    const rec = new Recorder();
    await zk.getData("/rw", { watch: rec.watcher });
    expect(await zk.checkWatches("/rw", "data")).toBe(true);
    await zk.removeWatches("/rw", "data");
    expect(brief(rec.events)).toEqual(["DataWatchRemoved /rw"]);
    expect(await zk.checkWatches("/rw", "data")).toBe(false);
  });

  it("getConfig is not chrooted: it reads /zookeeper/config", async () => {
    const inside = await zk.getConfig();
    const plain = await fx.zk.getConfig();
    expect(inside.config).toBe(plain.config);
    expect(inside.stat).toEqual(plain.stat);
  });
});
