/**
 * Read-only mode against real 3-member ensembles started with -Dreadonlymode.enabled=true: members die,
 * a survivor without a quorum goes LOOKING and, after a 2 s grace (QuorumPeer.run), starts a
 * ReadOnlyZooKeeperServer; then the members come back.
 *
 * What the server does (3.9.5; ZooKeeperServer.processConnectRequest, ReadOnlyZooKeeperServer,
 * ReadOnlyRequestProcessor), all since ZOOKEEPER-3863 (3.7.0):
 * - it creates sessions only as local sessions, so the ensemble needs `localSessionsEnabled=true`.
 *   Without it the createSession is refused like a write: the server answers the ConnectRequest with a
 *   bare ReplyHeader {xid 0, zxid, err NotReadOnly} (16 bytes) instead of a ConnectResponse, which no
 *   client can parse: no client gets a read-only session;
 * - a ConnectRequest without the readOnly flag: connection closed, no answer (NOT_READ_ONLY_CLIENT);
 * - a reconnection of a global session is refused: connection closed, no answer ("Refusing global
 *   session reconnection in RO mode"). A client whose session was made global on a read-write server
 *   stays disconnected until a quorum is back, then resumes the same session;
 * - a reconnection of a local session of another server (or of its own from before it went LOOKING) is
 *   answered "expired" (timeOut 0): local sessions do not move between servers;
 * - writes are answered NotReadOnly; reads are served from its copy of the data;
 * - when the quorum is back the survivor leaves LOOKING and shuts the read-only server down, closing
 *   every connection to it.
 * A session created read-only is unknown to the read-write servers: the reference client asks them for
 * a new session (sessionId 0) until it has met a read-write server (ClientCnxn.seenRwServerBefore), and
 * so does zkwire (Session.seenReadWrite).
 *
 * Zoo.cfg for read-only service on 3.7+: localSessionsEnabled=true, and localSessionsUpgradingEnabled=true
 * so that sessions with ephemeral nodes can still be made (they are upgraded to global sessions).
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConnectError, ZooKeeper, ZooKeeperError, type ZooKeeperOptions } from "../../src/index.js";
import {
  type ConfigMap,
  compareVersions,
  jvmSources,
  startZooKeeper,
  type ZooKeeperCluster,
  type ZooKeeperServer,
} from "../../src/testing/index.js";
import { proxyTo } from "../support/proxy.js";
import { rejection, until, waitForState } from "../support/wait.js";

const LOCAL_SESSIONS: ConfigMap = { localSessionsEnabled: true, localSessionsUpgradingEnabled: true };

const OPTIONS: ZooKeeperOptions = { sessionTimeout: 30_000, connectTimeout: 10_000, backoff: [20, 300] };

function ensemble(config: ConfigMap, wait?: "none"): Promise<ZooKeeperCluster> {
  return startZooKeeper({
    servers: 3,
    // Read by each member's QuorumPeer when it goes LOOKING.
    jvmProperties: { "readonlymode.enabled": true },
    config,
    // The scenario kills and restarts members: JVMs this process owns.
    sources: jvmSources(),
    ...(wait === undefined ? {} : { wait }),
  });
}

/**
 * Member 1 of an ensemble whose other members are killed before they ever join: it never has a quorum,
 * so it serves read-only for as long as the test needs. One JVM's start plus the 2 s grace.
 */
async function loneReadOnly(
  config: ConfigMap,
): Promise<{ cluster: ZooKeeperCluster; alone: ZooKeeperServer }> {
  const cluster = await ensemble(config, "none");
  await Promise.all([cluster.kill(2), cluster.kill(3)]);
  const alone = cluster.server(1);
  await until("the lone member serves read-only", async () => (await alone.mode()) === "read-only", 20_000);
  return { cluster, alone };
}

let cluster: ZooKeeperCluster;
let lone: { cluster: ZooKeeperCluster; alone: ZooKeeperServer };
let loneWithoutLocal: { cluster: ZooKeeperCluster; alone: ZooKeeperServer };
/** The ZOOKEEPER-3863 semantics asserted here; older servers serve global sessions read-only. */
let since37: boolean;

beforeAll(async () => {
  [cluster, lone, loneWithoutLocal] = await Promise.all([
    ensemble(LOCAL_SESSIONS),
    loneReadOnly(LOCAL_SESSIONS),
    loneReadOnly({}),
  ]);
  since37 = compareVersions(cluster.version, "3.7.0") >= 0;
});

afterAll(async () => {
  await Promise.all([cluster?.close(), lone?.cluster.close(), loneWithoutLocal?.cluster.close()]);
});

async function logOf(server: ZooKeeperServer): Promise<string> {
  return readFile(server.logFile!, "utf8");
}

async function expectCode(promise: Promise<unknown>, codeName: string): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(ZooKeeperError);
  expect((err as ZooKeeperError).codeName).toBe(codeName);
}

describe("read-only mode (readonlymode.enabled=true, localSessionsEnabled=true, 3 members)", () => {
  it("serves reads from a read-only survivor and moves back to read-write when the quorum returns", async (ctx) => {
    if (!since37) ctx.skip();
    // Sessions born on a read-write server: one made global by an ephemeral node, one left local.
    await using early = await ZooKeeper.connect(cluster.connectString, { ...OPTIONS, readOnly: true });
    await using local = await ZooKeeper.connect(cluster.connectString, { ...OPTIONS, readOnly: true });
    expect(early.state.kind).toBe("connected");
    const earlyId = early.sessionId;
    await early.create("/ro-early", null, { mode: "ephemeral" });
    await early.create("/ro", "before the partition");
    await early.create("/ro/child", "c");

    // Keep a follower: it notices the leader's death at once, a leader only after syncLimit ticks.
    const leader = await cluster.leader();
    const survivor = cluster.servers.find((s) => s !== leader)!;
    const dead = cluster.servers.filter((s) => s !== survivor);
    await Promise.all(dead.map((s) => cluster.kill(s)));
    await until("the survivor serves read-only", async () => (await survivor.mode()) === "read-only", 20_000);

    // A read-only client born now: its session is created by the read-only server.
    await using late = await ZooKeeper.connect(cluster.connectString, { ...OPTIONS, readOnly: true });
    expect(late.state).toEqual({ kind: "read-only", host: survivor.connectString });
    expect(late.server).toBe(survivor.connectString);
    const readOnlyId = late.sessionId;
    expect(readOnlyId).not.toBe(0n);

    // Reads are served from the survivor's copy of the data.
    expect(Buffer.from((await late.getData("/ro")).data).toString()).toBe("before the partition");
    expect((await late.getChildren("/ro")).children).toEqual(["child"]);
    expect(await late.exists("/ro/child")).not.toBeNull();
    expect(await late.exists("/ro/none")).toBeNull();
    // Writes are refused by the server, each with NotReadOnly; the session stays usable.
    await expectCode(late.create("/ro/new"), "NotReadOnly");
    await expectCode(late.setData("/ro", "changed"), "NotReadOnly");
    await expectCode(late.delete("/ro/child"), "NotReadOnly");
    expect(late.state.kind).toBe("read-only");

    // The local session of a read-write server is unknown to the read-only one: expired.
    await waitForState(local, "expired", 10_000);
    // The global session is refused: disconnected, neither read-only nor expired.
    await until(
      "the survivor refuses the early client's global session",
      async () => (await logOf(survivor)).includes("Refusing global session reconnection in RO mode"),
      10_000,
    );
    expect(early.state.kind).toBe("disconnected");
    await expectCode(early.getData("/ro", { timeout: 300 }), "RequestTimeout");

    // A client that did not ask for read-only service is turned away: ConnectError at its deadline.
    const plain = new ZooKeeper(survivor.connectString, { connectTimeout: 1_000, sessionTimeout: 4_000 });
    const refused = await rejection(plain.ready());
    await plain.close();
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).attempts[0]).toEqual({
      host: survivor.connectString,
      error: "connection closed by the server",
    });
    expect(plain.state.kind).toBe("closed");
    expect(await logOf(survivor)).toContain("Refusing session request for not-read-only client");

    // The quorum returns. The survivor's read-only server shuts down and drops `late`, which finds a
    // read-write server by reconnecting (the isro probe is the next test's subject).
    await Promise.all(dead.map((s) => cluster.start(s)));
    await waitForState(late, "connected", 20_000);
    await waitForState(early, "connected", 20_000);

    // The read-only session was local to the survivor: the client asked for a new one (had it offered
    // the old id, the server would have answered "expired"). The early client resumed its own session.
    expect(late.sessionId).not.toBe(readOnlyId);
    expect(late.sessionId).not.toBe(0n);
    expect(early.sessionId).toBe(earlyId);
    expect(await early.exists("/ro-early")).not.toBeNull();
    await late.setData("/ro", "after the partition");
    await early.create("/ro/after");
    expect(Buffer.from((await early.getData("/ro")).data).toString()).toBe("after the partition");
  });
});

describe("read-only probing (isro)", () => {
  it("moves a read-only client to a read-write server as soon as one answers isro with rw", async (ctx) => {
    if (!since37) ctx.skip();
    const { alone } = lone;
    // A read-write server (the run's shared one) behind a proxy that at first refuses everything,
    // isro included, so the client can only start on the read-only member.
    await using proxy = await proxyTo(inject("zkConnect"));
    proxy.refuse(true);
    const logs: string[] = [];
    await using zk = await ZooKeeper.connect(`${alone.connectString},${proxy.connectString}`, {
      ...OPTIONS,
      readOnly: true,
      logger: { info: (message) => logs.push(message) },
    });
    expect(zk.state).toEqual({ kind: "read-only", host: alone.connectString });
    const readOnlyId = zk.sessionId;
    await expectCode(zk.create("/probe"), "NotReadOnly");

    // The read-only member stays read-only: only the probe can move the client.
    proxy.refuse(false);
    await waitForState(zk, "connected", 15_000);
    expect(zk.server).toBe(proxy.connectString);
    expect(logs).toContain("read-write server found; moving to it");
    // It asked the read-write server for a new session: the read-only one is unknown there.
    const handshakes = proxy.frames.filter((f) => f.kind === "connect" && f.direction === "request");
    expect(handshakes.map((f) => f.sessionId)).toEqual([0n]);
    expect(zk.sessionId).not.toBe(readOnlyId);
    expect(await zk.exists("/")).not.toBeNull();
  });
});

describe("read-only server without localSessionsEnabled (3.7+)", () => {
  it("gives no client a session: a read-only client gets ConnectError at its deadline", async (ctx) => {
    if (!since37) ctx.skip();
    const { alone } = loneWithoutLocal;
    // The server answers the ConnectRequest with a 16-byte ReplyHeader (err NotReadOnly) where the
    // ConnectResponse belongs; zkwire, like the reference client, cannot read a session out of it.
    const zk = new ZooKeeper(alone.connectString, {
      readOnly: true,
      connectTimeout: 1_000,
      sessionTimeout: 4_000,
    });
    const error = await rejection(zk.ready());
    await zk.close();
    expect(error).toBeInstanceOf(ConnectError);
    const attempts = (error as ConnectError).attempts;
    expect(attempts.length).toBeGreaterThan(0);
    for (const attempt of attempts) expect(attempt.host).toBe(alone.connectString);
    expect(zk.sessionId).toBe(0n);
  });
});
