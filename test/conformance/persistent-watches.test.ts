/**
 * Persistent and persistent-recursive watches (addWatch, server 3.6+) as async iterables. Whether the
 * server still holds a watch is asked of the server, twice over: checkWatches on this session, and the
 * `wchc` four-letter word (sessions and the paths they watch), which does not go through the client.
 *
 * checkWatches and removeWatches know the persistent watch types only since 3.9 (ZOOKEEPER-4472): on
 * 3.6-3.8 closing a persistent watch does not remove it from the server (see old-servers.test.ts), so
 * the tests that ask the server are skipped there, with that reason (test/support/features.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PersistentWatch, ZooKeeper } from "../../src/index.js";
import { requires } from "../support/features.js";
import {
  brief,
  connect,
  Fixture,
  nextEvent,
  SHARED,
  serverWatches as watchedOnServer,
  within,
} from "./helpers.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await Fixture.open("conformance-pwatch");
});
afterAll(async () => {
  await fx?.close();
});

/** Whether the shared server holds a watch on `path` for `zk`'s session (`wchc`). */
const serverWatches = (zk: ZooKeeper, path: string) => watchedOnServer(SHARED, zk, path);

/** Reads `n` events, bounded. */
async function take(watch: PersistentWatch, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(...brief([await nextEvent(watch)]));
  return out;
}

describe("addWatch persistent", () => {
  it("sees every change to the node itself, stays registered, and is removed on break", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("p"));
    const watch = await zk.addWatch(path);
    expect(await zk.checkWatches(path, "persistent")).toBe(true);
    expect(await serverWatches(zk, path)).toBe(true);

    await zk.setData(path, "1");
    await zk.create(`${path}/child`);
    await zk.setData(`${path}/child`, "a child's data is not the node's business");
    await zk.delete(`${path}/child`);
    await zk.delete(path);
    await zk.create(path);
    await zk.setData(path, "2");
    const seen: string[] = [];
    for await (const event of watch) {
      seen.push(`${event.type} ${event.path}`);
      if (seen.length === 6) break;
    }
    expect(seen).toEqual([
      `NodeDataChanged ${path}`,
      `NodeChildrenChanged ${path}`,
      `NodeChildrenChanged ${path}`,
      `NodeDeleted ${path}`,
      `NodeCreated ${path}`,
      `NodeDataChanged ${path}`,
    ]);
    // `break` ran return(), which unregistered the watch before the loop was left.
    expect(watch.closed).toBe(true);
    expect(await zk.checkWatches(path, "persistent")).toBe(false);
    expect(await serverWatches(zk, path)).toBe(false);
  });

  it("persistentRecursive: the node and every descendant, but no NodeChildrenChanged", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("r"));
    const controller = new AbortController();
    const watch = await zk.addWatch(path, { mode: "persistentRecursive", signal: controller.signal });
    expect(watch.recursive).toBe(true);
    expect(await zk.checkWatches(path, "persistentRecursive")).toBe(true);
    expect(await zk.checkWatches(path, "persistent")).toBe(false);

    await zk.create(`${path}/a`);
    await zk.create(`${path}/a/b`, "deep");
    await zk.setData(`${path}/a/b`, "deeper");
    await zk.delete(`${path}/a/b`);
    await zk.setData(path, "top");
    expect(await take(watch, 5)).toEqual([
      `NodeCreated ${path}/a`,
      `NodeCreated ${path}/a/b`,
      `NodeDataChanged ${path}/a/b`,
      `NodeDeleted ${path}/a/b`,
      `NodeDataChanged ${path}`,
    ]);

    // Aborting ends the iteration and unregisters the watch.
    controller.abort();
    expect(await within(watch.next(), 5_000, "the iteration to end")).toEqual({
      done: true,
      value: undefined,
    });
    await watch.close(); // the removal the abort started
    expect(await zk.checkWatches(path, "persistentRecursive")).toBe(false);
    expect(await serverWatches(zk, path)).toBe(false);
  });

  it("`await using` unregisters at the end of the scope", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("using"));
    {
      await using watch = await zk.addWatch(path);
      await zk.setData(path, "x");
      expect(await take(watch, 1)).toEqual([`NodeDataChanged ${path}`]);
      expect(await zk.checkWatches(path, "persistent")).toBe(true);
    }
    expect(await zk.checkWatches(path, "persistent")).toBe(false);
    expect(await serverWatches(zk, path)).toBe(false);
  });

  it("an already-aborted signal is refused before anything is registered", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("pre-aborted"));
    const reason = new Error("not wanted");
    await expect(zk.addWatch(path, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(await zk.checkWatches(path, "persistent")).toBe(false);
  });

  it("two watches on one path: closing one keeps the server's watch for the other", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("two"));
    const first = await zk.addWatch(path);
    const second = await zk.addWatch(path);
    await first.close();
    expect(await zk.checkWatches(path, "persistent")).toBe(true);
    await zk.setData(path, "x");
    expect(await take(second, 1)).toEqual([`NodeDataChanged ${path}`]);
    expect(await first.next()).toEqual({ done: true, value: undefined });
    await second.close();
    expect(await zk.checkWatches(path, "persistent")).toBe(false);
  });

  it("a consumer that never reads blocks no one and loses nothing: its queue grows", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("slow"));
    const idle = await zk.addWatch(path);
    const reader = await zk.addWatch(path, { mode: "persistentRecursive" });
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => zk.setData(path, String(i))));
    const events = await take(reader, n);
    expect(events).toEqual(Array.from({ length: n }, () => `NodeDataChanged ${path}`));
    expect(idle.pending).toBe(n);
    // Nothing was lost: the idle consumer reads them all later, in order.
    expect(await take(idle, n)).toEqual(events);
    expect(idle.pending).toBe(0);
    await idle.close();
    await reader.close();
  });

  it("removeWatches on the path ends the iteration with a PersistentWatchRemoved event", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("removed"));
    const watch = await zk.addWatch(path, { mode: "persistentRecursive" });
    await zk.removeWatches(path, "persistentRecursive");
    expect(await zk.checkWatches(path, "persistentRecursive")).toBe(false);
    expect(brief([await nextEvent(watch)])).toEqual([`PersistentWatchRemoved ${path}`]);
    // Nothing can arrive any more: the iteration is over rather than waiting forever.
    expect(await within(watch.next(), 1_000, "the iteration to end")).toEqual({
      done: true,
      value: undefined,
    });
    expect(watch.closed).toBe(true);
  });

  it("watches of different sessions are independent", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    const { zk } = fx;
    const { path } = await zk.create(fx.path("sessions"));
    await using other = await connect();
    const mine = await zk.addWatch(path);
    const theirs = await other.addWatch(path);
    await mine.close();
    await other.setData(path, "x");
    expect(await take(theirs, 1)).toEqual([`NodeDataChanged ${path}`]);
    expect(await other.checkWatches(path, "persistent")).toBe(true);
    expect(await zk.checkWatches(path, "persistent")).toBe(false);
    await theirs.close();
  });
});
