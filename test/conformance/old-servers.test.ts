/**
 * Servers older than 3.9, and the operations they do not have. What those servers do, found by running
 * them (3.5.10, 3.6.4; the `wchc` four-letter word shows the server's own view of watches):
 *   - an opcode the server does not know (3.5: getEphemerals 103, getAllChildrenNumber 104, addWatch
 *     106, multiRead 22, whoAmI 107; 3.6: whoAmI) is answered with Unimplemented, and then the server
 *     closes the connection (UnimplementedRequestProcessor). The session survives; the client reconnects
 *     into it. Requests pipelined behind the refused one fail with ConnectionLoss.
 *   - 3.5 and 3.6 answer a create inside a multi with a plain CreateResponse (type create, no Stat) even
 *     when the request said create2; 3.7+ answer with Create2Response.
 *   - 3.6-3.8 refuse checkWatches and removeWatches for the persistent watch types (4, 5) with
 *     MarshallingError (they came with ZOOKEEPER-4472 in 3.9); the connection stays up.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SessionState, ZooKeeper } from "../../src/index.js";
import type { ZooKeeperCluster } from "../../src/testing/zookeeper.js";
import { NeededServers } from "../support/features.js";
import { connect, nextEvent, serverWatches, within, zkError } from "./helpers.js";

let v35: ZooKeeperCluster;
let v36: ZooKeeperCluster;
const needed = new NeededServers();
beforeAll(async () => {
  const started = await needed.startAll([{ version: "3.5.10" }, { version: "3.6.4" }]);
  if (started !== undefined) [v35, v36] = started as [ZooKeeperCluster, ZooKeeperCluster];
});
beforeEach((ctx) => needed.skipIfMissing(ctx));
afterAll(async () => {
  await Promise.all([v35?.close(), v36?.close()]);
});

/** Resolves with the next state of the given kind. */
function nextState(zk: ZooKeeper, kind: SessionState["kind"]): Promise<SessionState> {
  return new Promise((resolve) => {
    const listener = (state: SessionState) => {
      if (state.kind !== kind) return;
      zk.off("state", listener);
      resolve(state);
    };
    zk.on("state", listener);
  });
}

/**
 * Calls `op`, expects Unimplemented naming the version needed, and follows what the server does next:
 * it drops the connection, and the client gets back into the same session.
 */
async function tooOld(zk: ZooKeeper, op: string, call: () => Promise<unknown>, needs: string): Promise<void> {
  const session = zk.sessionId;
  const dropped = nextState(zk, "disconnected");
  const back = dropped.then(() => nextState(zk, "connected"));
  const err = await zkError(call(), "Unimplemented");
  expect(err.op).toBe(op);
  expect(err.message).toContain(`needs ZooKeeper ${needs} or newer`);
  expect(await within(dropped, 5_000, `the server to drop the connection after ${op}`)).toMatchObject({
    kind: "disconnected",
  });
  await within(back, 10_000, `the client to reconnect after ${op}`);
  expect(zk.sessionId).toBe(session);
  expect(await zk.exists("/")).not.toBeNull();
}

describe("a 3.5 server", () => {
  it("refuses the 3.6 and 3.7 operations with Unimplemented naming the version needed", async () => {
    expect(v35.version).toBe("3.5.10");
    await using zk = await connect(v35.connectString);
    await tooOld(zk, "getEphemerals", () => zk.getEphemerals("/"), "3.6");
    await tooOld(zk, "getAllChildrenNumber", () => zk.getAllChildrenNumber("/"), "3.6");
    await tooOld(zk, "addWatch", () => zk.addWatch("/"), "3.6");
    await tooOld(zk, "multiRead", () => zk.multiRead().getData("/").run(), "3.6");
    await tooOld(zk, "whoAmI", () => zk.whoAmI(), "3.7");
    expect(await serverWatches(v35.connectString, zk, "/")).toBe(false);
  });

  it("does what 3.5 has: containers, TTL nodes, one-shot watch removal, multi without creates", async () => {
    await using zk = await connect(v35.connectString);
    expect((await zk.create("/container", null, { mode: "container" })).path).toBe("/container");
    expect((await zk.create("/ttl", null, { mode: "persistentWithTTL", ttl: 60_000 })).path).toBe("/ttl");
    const { watch } = await zk.getData("/ttl", { watch: true });
    expect(await zk.checkWatches("/ttl", "data")).toBe(true);
    await zk.removeWatches("/ttl", "data");
    expect(await watch).toMatchObject({ type: "DataWatchRemoved", path: "/ttl" });
    expect(await serverWatches(v35.connectString, zk, "/ttl")).toBe(false);
    const [checked, updated, deleted] = await zk
      .transaction()
      .check("/ttl", 0)
      .setData("/ttl", "x")
      .delete("/container")
      .commit();
    expect(checked.type).toBe("check");
    expect(updated.stat.version).toBe(1);
    expect(deleted.type).toBe("delete");
  });

  // 3.5 and 3.6 servers answer a create inside a multi as a plain create (1): a path, no Stat.
  it("a transaction with a create resolves with its results", async () => {
    await using zk = await connect(v35.connectString);
    const commit = zk.transaction().create("/tx-35", "x").commit();
    const settled = await commit.then(
      (results) => ({ results }),
      (error: unknown) => ({ error }),
    );
    expect(await zk.exists("/tx-35")).not.toBeNull();
    expect(settled).toEqual({ results: [{ type: "create", path: "/tx-35" }] });
  });
});

describe("a 3.6 server", () => {
  it("has getEphemerals, addWatch and multiRead, but refuses whoAmI (3.7)", async () => {
    expect(v36.version).toBe("3.6.4");
    await using zk = await connect(v36.connectString);
    const eph = await zk.create("/eph", null, { mode: "ephemeral" });
    expect(await zk.getEphemerals("/")).toEqual([eph.path]);
    expect(await zk.getAllChildrenNumber("/")).toBeGreaterThan(0);
    const [read] = await zk.multiRead().getData("/eph").run();
    expect(read.type).toBe("getData");
    const watch = await zk.addWatch("/eph");
    expect(await serverWatches(v36.connectString, zk, "/eph")).toBe(true);
    await tooOld(zk, "whoAmI", () => zk.whoAmI(), "3.7");
    // The persistent watch was re-registered on the new connection (SetWatches2) and still works.
    expect(await serverWatches(v36.connectString, zk, "/eph")).toBe(true);
    await zk.setData("/eph", "x");
    const events: string[] = [];
    for (let e = await nextEvent(watch); ; e = await nextEvent(watch)) {
      events.push(`${e.type} ${e.state}`);
      if (e.type !== "None") break;
    }
    // A persistent watch hears about the reconnection it lived through, then the change.
    expect(events).toEqual(["None Disconnected", "None SyncConnected", "NodeDataChanged SyncConnected"]);
  });

  // Servers before 3.9 do not know watcher types 4 and 5 in removeWatches and checkWatches
  // (ZOOKEEPER-4472: MarshallingError); with no other watch on the path, closing falls back to type Any.
  it("closing a persistent watch removes it from the server", async () => {
    await using zk = await connect(v36.connectString);
    await zk.create("/pw", null);
    const watch = await zk.addWatch("/pw");
    expect(await serverWatches(v36.connectString, zk, "/pw")).toBe(true);
    await watch.close();
    expect(await serverWatches(v36.connectString, zk, "/pw")).toBe(false);
  });
});
