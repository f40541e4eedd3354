/**
 * One-shot watches by the reference client's rules (ZKWatchManager): which event fires which watch,
 * that a watch exists only when its request succeeded, each watcher function once per event, and
 * events delivered before the reply of any request sent after the change. "Did not fire" is checked
 * after a later round trip on the same session: an event the server sent would have arrived before
 * that reply (the ordering the last tests here prove).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchedEvent } from "../../src/index.js";
import { compareVersions } from "../../src/testing/versions.js";
import { brief, connect, Fixture, Recorder, SHARED_VERSION, within, zkError } from "./helpers.js";

const atLeast = (version: string, minimum: string) => compareVersions(version, minimum) >= 0;

let fx: Fixture;
beforeAll(async () => {
  fx = await Fixture.open("conformance-watches");
});
afterAll(async () => {
  await fx?.close();
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

/** A round trip on the client's session: any event sent before its reply has been delivered. */
const roundTrip = () => fx.zk.exists("/");

describe("one-shot watches", () => {
  it("watch: true returns the event as a promise next to the result", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("p"), "v0");
    const { data, stat, watch } = await zk.getData(path, { watch: true });
    expect(text(data)).toBe("v0");
    expect(stat.version).toBe(0);
    await using other = await connect();
    const changed = await other.setData(path, "v1");
    const event = await within(watch, 5_000, "NodeDataChanged");
    expect(event).toMatchObject({ type: "NodeDataChanged", path, state: "SyncConnected" });
    // 3.9 servers carry the change's zxid in the notification's header; older ones send -1.
    expect(event.zxid).toBe(atLeast(SHARED_VERSION, "3.9") ? changed.mzxid : -1n);
  });

  it("watch: fn calls the function, and the result has no watch promise", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("fn"));
    const rec = new Recorder();
    const result = await zk.getData(path, { watch: rec.watcher });
    expect(result).not.toHaveProperty("watch");
    await zk.setData(path, "x");
    expect(brief(await rec.waitFor(1))).toEqual([`NodeDataChanged ${path}`]);
  });

  it("exists on a missing node sets a watch that fires on create", async () => {
    const { zk } = fx;
    const p = fx.path("later");
    const { stat, watch } = await zk.exists(p, { watch: true });
    expect(stat).toBeNull();
    expect(await zk.checkWatches(p, "data")).toBe(true);
    await using other = await connect();
    await other.create(p);
    expect(await within(watch, 5_000, "NodeCreated")).toMatchObject({ type: "NodeCreated", path: p });
  });

  it("exists on an existing node fires on data change and on delete", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("ex"));
    const first = await zk.exists(path, { watch: true });
    await zk.setData(path, "x");
    expect((await within(first.watch, 5_000, "NodeDataChanged")).type).toBe("NodeDataChanged");
    const second = await zk.exists(path, { watch: true });
    await zk.delete(path);
    expect((await within(second.watch, 5_000, "NodeDeleted")).type).toBe("NodeDeleted");
  });

  it("a failed request sets no watch: getData and getChildren of a missing node", async () => {
    const { zk } = fx;
    const p = fx.path("absent");
    const data = new Recorder();
    const kids = new Recorder();
    await zkError(zk.getData(p, { watch: data.watcher }), "NoNode");
    await zkError(zk.getChildren(p, { watch: kids.watcher }), "NoNode");
    expect(await zk.checkWatches(p, "data")).toBe(false);
    expect(await zk.checkWatches(p, "children")).toBe(false);
    await zk.create(p);
    await zk.create(`${p}/child`);
    await roundTrip();
    expect(data.events).toEqual([]);
    expect(kids.events).toEqual([]);
  });

  it("getChildren's watch fires on a child created or deleted, not on a child's data", async () => {
    const { zk } = fx;
    const dir = await fx.dir("kids");
    await zk.create(`${dir}/a`);
    const rec = new Recorder();
    await zk.getChildren(dir, { watch: rec.watcher });
    await zk.setData(`${dir}/a`, "changed");
    await roundTrip();
    expect(rec.events).toEqual([]);
    await zk.create(`${dir}/b`);
    expect(brief(await rec.waitFor(1))).toEqual([`NodeChildrenChanged ${dir}`]);
    // One-shot: gone once fired.
    expect(await zk.checkWatches(dir, "children")).toBe(false);
    await zk.delete(`${dir}/b`);
    await roundTrip();
    expect(rec.events).toHaveLength(1);
  });

  it("fires once: two different watchers each once, the same function twice only once", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("twice"));
    const one = new Recorder();
    const two = new Recorder();
    await zk.getData(path, { watch: one.watcher });
    await zk.getData(path, { watch: one.watcher });
    await zk.exists(path, { watch: one.watcher });
    await zk.getData(path, { watch: two.watcher });
    await zk.setData(path, "1");
    await zk.setData(path, "2");
    await roundTrip();
    expect(brief(one.events)).toEqual([`NodeDataChanged ${path}`]);
    expect(brief(two.events)).toEqual([`NodeDataChanged ${path}`]);
  });

  it("NodeDeleted fires the data, exists and child watches of the node", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("gone"));
    const data = await zk.getData(path, { watch: true });
    const exists = await zk.exists(path, { watch: true });
    const kids = await zk.getChildren(path, { watch: true });
    await zk.delete(path);
    const events = await within(
      Promise.all([data.watch, exists.watch, kids.watch]),
      5_000,
      "NodeDeleted on three watches",
    );
    expect(brief(events)).toEqual([`NodeDeleted ${path}`, `NodeDeleted ${path}`, `NodeDeleted ${path}`]);
  });

  it("a watcher that throws breaks neither the session nor the other watchers", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("throws"));
    let thrown = 0;
    const rec = new Recorder();
    await zk.getData(path, {
      watch: () => {
        thrown++;
        throw new Error("a careless watcher");
      },
    });
    await zk.getData(path, { watch: rec.watcher });
    await zk.setData(path, "x");
    expect(brief(await rec.waitFor(1))).toEqual([`NodeDataChanged ${path}`]);
    expect(thrown).toBe(1);
    expect(zk.state.kind).toBe("connected");
    expect(text((await zk.getData(path)).data)).toBe("x");
  });

  it("the session's watch events come before the reply of any request sent after the change", async () => {
    // Client A watches /x; client B changes it; once B's setData has resolved, A reads /x. The server
    // queued A's notification when it applied the change, before A's read arrived, so A must see the
    // event before the read's reply: both forms (callback, promise) before the reply resolves. Repeated
    // so that an event that only sometimes lands after the reply shows up.
    const a = fx.zk;
    await using b = await connect();
    const { path } = await a.create(fx.path("order"), "0");
    for (let i = 1; i <= 50; i++) {
      const log: string[] = [];
      const { watch } = await a.getData(path, { watch: true });
      await a.getData(path, { watch: (e: WatchedEvent) => log.push(`callback ${e.type}`) });
      void watch.then((e) => log.push(`promise ${e.type}`));
      await b.setData(path, String(i));
      await a.getData(path).then((r) => log.push(`reply ${text(r.data)}`));
      expect(log.slice().sort(), `round ${i}`).toEqual(
        ["callback NodeDataChanged", "promise NodeDataChanged", `reply ${i}`].sort(),
      );
      expect(log.at(-1), `round ${i}: the reply came last`).toBe(`reply ${i}`);
    }
  });

  it("the same ordering for child watches and for sync + read", async () => {
    const a = fx.zk;
    await using b = await connect();
    const dir = await fx.dir("order-kids");
    for (let i = 0; i < 20; i++) {
      const log: string[] = [];
      await a.getChildren(dir, { watch: (e) => log.push(e.type) });
      await b.create(`${dir}/c${i}`);
      await a.sync(dir).then(() => log.push("sync"));
      await a.getChildren(dir).then((r) => log.push(`children ${r.children.length}`));
      expect(log, `round ${i}`).toEqual(["NodeChildrenChanged", "sync", `children ${i + 1}`]);
    }
  });
});

describe("removeWatches and checkWatches", () => {
  it("removes a data watch: the watcher hears DataWatchRemoved, the server drops it", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("rm"));
    const rec = new Recorder();
    await zk.getData(path, { watch: rec.watcher });
    expect(await zk.checkWatches(path, "data")).toBe(true);
    expect(await zk.checkWatches(path, "children")).toBe(false);
    await zk.removeWatches(path, "data");
    expect(brief(rec.events)).toEqual([`DataWatchRemoved ${path}`]);
    expect(await zk.checkWatches(path, "data")).toBe(false);
    await zk.setData(path, "x");
    await roundTrip();
    expect(rec.events).toHaveLength(1);
  });

  it("removing one of two watchers keeps the server's watch for the other", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("rm-one"));
    const gone = new Recorder();
    const kept = new Recorder();
    await zk.getData(path, { watch: gone.watcher });
    await zk.getData(path, { watch: kept.watcher });
    await zk.removeWatches(path, "data", { watcher: gone.watcher });
    expect(brief(gone.events)).toEqual([`DataWatchRemoved ${path}`]);
    expect(await zk.checkWatches(path, "data")).toBe(true);
    await zk.setData(path, "x");
    expect(brief(await kept.waitFor(1))).toEqual([`NodeDataChanged ${path}`]);
    await roundTrip();
    expect(gone.events).toHaveLength(1);
  });

  it("child watches and 'any'", async () => {
    const { zk } = fx;
    const dir = await fx.dir("rm-any");
    const rec = new Recorder();
    await zk.getChildren(dir, { watch: rec.watcher });
    await zk.getData(dir, { watch: rec.watcher });
    expect(await zk.checkWatches(dir, "any")).toBe(true);
    await zk.removeWatches(dir, "children");
    expect(await zk.checkWatches(dir, "children")).toBe(false);
    expect(await zk.checkWatches(dir, "data")).toBe(true);
    await zk.removeWatches(dir, "any");
    expect(await zk.checkWatches(dir, "any")).toBe(false);
    expect(brief(rec.events)).toEqual([`ChildWatchRemoved ${dir}`, `DataWatchRemoved ${dir}`]);
  });

  it("NoWatcher when there is nothing to remove", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("none"));
    const err = await zkError(zk.removeWatches(path, "data"), "NoWatcher");
    expect(err.op).toBe("removeWatches");
    expect(err.path).toBe(path);
    await zk.getData(path, { watch: () => {} });
    await zkError(zk.removeWatches(path, "data", { watcher: () => {} }), "NoWatcher");
  });
});
