/**
 * Surviving the real world, against real servers: connection loss between a request and its reply, a
 * server killed with requests in flight, the leader of an ensemble killed under a client's ephemeral
 * nodes and watches, re-sent credentials and watches, expiry on both sides, explicit resumption, and a
 * host list replaced at runtime. Faults a server will not make on demand come from the proxy.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  CREATOR_ALL_ACL,
  isZooKeeperError,
  type SessionState,
  type WatchedEvent,
  ZooKeeper,
  ZooKeeperError,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import { startZooKeeper, type ZooKeeperCluster } from "../../src/testing/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";

const shared = inject("zkConnect");
const target = () => {
  const [host, port] = shared.split(":") as [string, string];
  return { host, port: Number(port) };
};

let admin: ZooKeeper;
let root: string;

beforeAll(async () => {
  admin = await ZooKeeper.connect(shared);
  root = `/failover-${randomUUID().slice(0, 8)}`;
  await admin.create(root);
});

afterAll(async () => {
  await admin.deleteRecursive(root);
  await admin.close();
});

/** Resolves when the client reaches a state of this kind (bounded). */
function stateOf(zk: ZooKeeper, kind: SessionState["kind"], ms = 15_000): Promise<SessionState> {
  if (zk.state.kind === kind) return Promise.resolve(zk.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${kind} state within ${ms} ms (now ${zk.state.kind})`)),
      ms,
    );
    const on = (s: SessionState) => {
      if (s.kind !== kind) return;
      clearTimeout(timer);
      zk.off("state", on);
      resolve(s);
    };
    zk.on("state", on);
  });
}

describe("through a proxy", () => {
  it("a connection cut between a create and its reply: ConnectionLoss, and the node is checkable", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    const cut = proxy.dropOnRequest((r) => r.opcode === OpCode.create2);
    const path = `${root}/cut-create`;
    const err = await zk.create(path, "x").catch((e: unknown) => e);
    await cut;
    expect(err).toBeInstanceOf(ZooKeeperError);
    expect((err as ZooKeeperError).isConnectionLoss).toBe(true);
    // The same session comes back; the server did run the create.
    const sessionId = zk.sessionId;
    expect(await zk.exists(path)).not.toBeNull();
    expect(zk.sessionId).toBe(sessionId);
  });

  it("requests made while disconnected wait for the reconnection, bounded by their timeout", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 6_000,
      backoff: [200, 200],
    });
    proxy.refuse(true);
    proxy.dropAll();
    await stateOf(zk, "disconnected");
    const waiting = zk.exists(root);
    const bounded = zk.exists(root, { timeout: 100 }).catch((e: unknown) => e);
    expect(await bounded).toMatchObject({ codeName: "RequestTimeout" });
    proxy.refuse(false);
    expect(await waiting).not.toBeNull();
  });

  it("credentials are re-sent before anything else on reconnection", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    await zk.addAuth("digest", "carol:secret");
    const path = `${root}/carol-only`;
    await zk.create(path, "mine", { acl: CREATOR_ALL_ACL });
    proxy.clearFrames();
    proxy.dropAll();
    await stateOf(zk, "disconnected");
    const { data } = await zk.getData(path); // only readable with carol's credentials
    expect(Buffer.from(data).toString()).toBe("mine");
    const requests = proxy.frames.filter((f) => f.direction === "request" && f.kind === "message");
    expect(requests[0]?.opcode).toBe(OpCode.auth);
  });

  it("a watch whose event happened while disconnected fires once on resume", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 6_000,
      backoff: [100, 100],
    });
    const path = `${root}/changed-while-away`;
    await admin.create(path, "v1");
    const fired: WatchedEvent[] = [];
    await zk.getData(path, { watch: (e) => fired.push(e) });
    proxy.refuse(true);
    proxy.dropAll();
    await stateOf(zk, "disconnected");
    await admin.setData(path, "v2");
    proxy.refuse(false);
    await stateOf(zk, "connected");
    await zk.sync(path); // anything the server sent on resume has arrived before this reply
    expect(fired.map((e) => [e.type, e.path])).toEqual([["NodeDataChanged", path]]);
    // Once: a later change has no watch left to fire.
    await admin.setData(path, "v3");
    await zk.sync(path);
    expect(fired).toHaveLength(1);
  });

  it("re-registers thousands of watches in SetWatches batches of at most 128 KB", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    const base = `${root}/many-${"x".repeat(100)}`;
    await admin.create(base);
    const paths = Array.from({ length: 1500 }, (_, i) => `${base}/node-${i}-${"y".repeat(60)}`);
    await Promise.all(paths.map((p) => admin.create(p)));
    const events = new Set<string>();
    await Promise.all(paths.map((p) => zk.exists(p, { watch: (e) => events.add(e.path) })));
    proxy.clearFrames();
    proxy.dropAll();
    await stateOf(zk, "disconnected");
    await stateOf(zk, "connected");
    await zk.sync(base);
    const setWatches = proxy.frames.filter(
      (f) => f.direction === "request" && f.opcode === OpCode.setWatches,
    );
    expect(setWatches.length).toBeGreaterThan(1);
    for (const f of setWatches) expect(f.size).toBeLessThanOrEqual(128 * 1024 + 4096);
    // Every watch survived: deleting the nodes fires them all.
    await Promise.all(paths.map((p) => admin.delete(p)));
    await zk.sync(base);
    expect(events.size).toBe(paths.length);
  });

  it("uses SetWatches2 only when persistent watches exist", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    const path = `${root}/persistent-resume`;
    await admin.create(path);
    const watch = await zk.addWatch(path, { mode: "persistentRecursive" });
    proxy.clearFrames();
    proxy.dropAll();
    await stateOf(zk, "disconnected");
    await stateOf(zk, "connected");
    // The watch is registered again once SetWatches2 is answered, which is before this reply.
    await zk.sync(path);
    await admin.create(`${path}/child`);
    const events: WatchedEvent[] = [];
    for await (const e of watch) {
      events.push(e);
      if (e.type === "NodeCreated") break;
    }
    expect(events.map((e) => e.type)).toEqual(["None", "None", "NodeCreated"]);
    expect(events.map((e) => e.state).slice(0, 2)).toEqual(["Disconnected", "SyncConnected"]);
    expect(proxy.frames.some((f) => f.direction === "request" && f.opcode === OpCode.setWatches2)).toBe(true);
  });

  it("a blackhole longer than the session timeout: expired on both sides", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    const zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 2_000 });
    const path = `${root}/doomed`;
    await zk.create(path, null, { mode: "ephemeral" });
    const { watch } = await zk.exists(path, { watch: true });
    proxy.blackhole();
    const pending = zk.getData(path).catch((e: unknown) => e);
    const expired = await stateOf(zk, "expired", 10_000);
    expect(expired.kind).toBe("expired");
    expect(await pending).toMatchObject({ codeName: "ConnectionLoss" });
    expect((await watch).state).toBe("Expired");
    // The server expired it too: the ephemeral node is gone for everyone.
    for (let i = 0; (await admin.exists(path)) !== null; i++) {
      expect(i).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await zk.getData(path).catch((e: unknown) => e)).toMatchObject({ codeName: "SessionExpired" });
    proxy.release();
    await zk.close();
  });

  it("renewSessionOnExpiry gives the same client a new session", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 2_000,
      renewSessionOnExpiry: true,
    });
    const first = zk.sessionId;
    const renewed = new Promise<{ sessionId: bigint; previous: bigint }>((r) => zk.once("session", r));
    proxy.blackhole(3_500, "drop");
    const info = await renewed;
    expect(info.previous).toBe(first);
    expect(info.sessionId).not.toBe(first);
    expect(zk.state.kind).toBe("connected");
    expect(await zk.exists(root)).not.toBeNull();
  });

  it("a saved session id and password let a second client take the session over", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    const first = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 6_000 });
    const path = `${root}/inherited`;
    await first.create(path, null, { mode: "ephemeral" });
    const saved = { id: first.sessionId, password: first.sessionPassword };
    proxy.blackhole(); // the first process "hangs"
    const second = await ZooKeeper.connect(shared, { session: saved });
    expect(second.sessionId).toBe(saved.id);
    const stat = await second.exists(path);
    expect(stat?.ephemeralOwner).toBe(saved.id);
    await second.close(); // ends the session: its ephemeral node goes with it
    expect(await admin.exists(path)).toBeNull();
    proxy.release();
    await first.close();
  });

  it("a wrong password is refused as an expired session", async () => {
    const zk = new ZooKeeper(shared, { session: { id: admin.sessionId, password: new Uint8Array(16) } });
    await expect(zk.ready()).rejects.toThrow();
    expect(zk.state.kind).toBe("expired");
  });
});

describe("an ensemble", () => {
  let cluster: ZooKeeperCluster;

  beforeAll(async () => {
    cluster = await startZooKeeper({ servers: 3 });
  });

  afterAll(async () => {
    await cluster.close();
  });

  it("a server killed with 1,000 requests in flight: each gets exactly one answer", async () => {
    const zk = await ZooKeeper.connect(cluster.connectString, { sessionTimeout: 8_000 });
    const path = `/inflight-${randomUUID().slice(0, 8)}`;
    await zk.create(path, "x");
    const answers = new Array<number>(1000).fill(0);
    const payload = Buffer.alloc(2_000, 7);
    const outcomes = Array.from({ length: 1000 }, (_, i) =>
      zk.setData(path, payload).then(
        () => {
          answers[i]!++;
          return "ok";
        },
        (e: unknown) => {
          answers[i]!++;
          return isZooKeeperError(e) ? e.codeName : String(e);
        },
      ),
    );
    const victim = cluster.servers.find((s) => s.connectString === zk.server)!;
    // Once the requests are on the wire (written on the next tick), the server dies under them.
    await new Promise((r) => setImmediate(r));
    await cluster.kill(victim);
    const results = await Promise.all(outcomes);
    expect(answers.every((n) => n === 1)).toBe(true);
    expect(results.every((r) => r === "ok" || r === "ConnectionLoss")).toBe(true);
    expect(results.filter((r) => r === "ConnectionLoss").length).toBeGreaterThan(0);
    // The session moved on to another member.
    const { data } = await zk.getData(path);
    expect([1, 2_000]).toContain(data.length);
    expect(zk.server).not.toBe(victim.connectString);
    await zk.close();
    await cluster.start(victim);
  });

  it("the leader killed under ephemeral nodes and watches: the session, the nodes and the watches survive", async () => {
    const leader = await cluster.leader();
    // Connected to the leader first; the whole ensemble is known for the failover.
    const zk = await ZooKeeper.connect(leader.connectString, { sessionTimeout: 8_000, random: () => 0 });
    zk.updateServers(cluster.connectString);
    expect(zk.server).toBe(leader.connectString);
    const base = `/leader-${randomUUID().slice(0, 8)}`;
    await zk.create(base);
    await zk.create(`${base}/eph`, null, { mode: "ephemeral" });
    await zk.create(`${base}/during`, "0");
    await zk.create(`${base}/after`, "0");
    const sessionId = zk.sessionId;
    const oneShotDuring = (await zk.getData(`${base}/during`, { watch: true })).watch;
    const oneShotAfter = (await zk.getData(`${base}/after`, { watch: true })).watch;
    const persistent = await zk.addWatch(base, { mode: "persistentRecursive" });

    await cluster.kill(leader);
    await stateOf(zk, "disconnected");
    // A change made during the failover, through another member.
    const survivor = cluster.servers.find((s) => s !== leader)!;
    await using other = await ZooKeeper.connect(survivor.connectString);
    await other.setData(`${base}/during`, "1");
    await stateOf(zk, "connected", 30_000);
    expect(zk.sessionId).toBe(sessionId);
    expect(await zk.exists(`${base}/eph`)).not.toBeNull();
    expect((await oneShotDuring).type).toBe("NodeDataChanged");
    // And after it.
    await other.setData(`${base}/after`, "1");
    expect((await oneShotAfter).type).toBe("NodeDataChanged");
    const seen: string[] = [];
    for await (const e of persistent) {
      seen.push(`${e.type}:${e.path}`);
      if (e.type === "NodeDataChanged" && e.path === `${base}/after`) break;
    }
    expect(seen).toContain("None:");
    expect(seen).toContain(`NodeDataChanged:${base}/after`);
    await zk.close();
    // The close is committed by the quorum, but `other`'s member may not have applied it yet: a read on
    // one session sees another session's writes only after a sync.
    await other.sync(base);
    expect(await other.exists(`${base}/eph`)).toBeNull();
    await cluster.start(leader);
  });

  it("replacing the host list moves the connection only when its server left the list", async () => {
    const zk = await ZooKeeper.connect(cluster.connectString, { sessionTimeout: 8_000, random: () => 0.99 });
    const current = zk.server!;
    zk.updateServers(cluster.connectString); // same list: stays
    expect(zk.server).toBe(current);
    const others = cluster.servers.filter((s) => s.connectString !== current).map((s) => s.connectString);
    zk.updateServers(others.join(","));
    await stateOf(zk, "connected");
    expect(others).toContain(zk.server);
    await zk.close();
  });
});
