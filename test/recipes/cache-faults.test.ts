/**
 * The cache under faults, against real servers (issue 12, section 1): a 1,000-node tree cached while
 * another client makes 2,000 random creates, sets and deletes, with the ensemble's leader killed and
 * the cache's connections cut for 2 s (the fault proxy) in between. At the end the cache equals a fresh
 * read of the tree node by node, and every event it delivered was a state the writer made, in zxid
 * order per node. Once on a 3-member ensemble of the run's version (persistent watches on 3.6+), once
 * on a 3.5 server, where the cache finds no addWatch and uses one-shot watches.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type SessionState, TreeCache, ZooKeeper } from "../../src/index.js";
import { startZooKeeper, type ZooKeeperCluster } from "../../src/testing/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import { lacks, NeededServers } from "../support/features.js";
import { until } from "../support/wait.js";
import { buildTree, checkEvents, differences, mutate, record, truthOf, untilEqual } from "./cache-support.js";

const DIRS = 10;
const LEAVES = 99; // 1 + 10 + 990 = 1,001 nodes
const OPS = 2_000;

interface Run {
  cluster: ZooKeeperCluster;
  killLeader: boolean;
  expectMode: "persistent" | "oneShot";
}

async function scenario({ cluster, killLeader, expectMode }: Run): Promise<void> {
  const proxies = await Promise.all(
    cluster.servers.map((m) => FaultProxy.start({ target: { host: m.host, port: m.clientPort } })),
  );
  const writer = await ZooKeeper.connect(cluster.connectString, { sessionTimeout: 20_000 });
  const client = await ZooKeeper.connect(proxies.map((p) => p.connectString).join(","), {
    sessionTimeout: 20_000,
    backoff: [100, 300],
  });
  const states: SessionState["kind"][] = [];
  client.on("state", (s) => states.push(s.kind));
  const root = `/cache-faults-${randomUUID().slice(0, 8)}`;
  try {
    await buildTree(writer, root, DIRS, LEAVES);
    const truth = await truthOf(writer, root);
    expect(truth.size).toBe(1 + DIRS + DIRS * LEAVES);
    await using cache = new TreeCache(client, root);
    const log = record(cache);
    await cache.start();
    expect(cache.watchMode).toBe(expectMode);
    expect(cache.size).toBe(truth.size);
    const sessionId = client.sessionId;

    const faults: Promise<void>[] = [];
    const cut = async () => {
      for (const p of proxies) p.refuse(true);
      for (const p of proxies) p.dropAll();
      await new Promise((r) => setTimeout(r, 2_000));
      for (const p of proxies) p.refuse(false);
    };
    await mutate(writer, truth, {
      root,
      dirs: DIRS,
      leaves: LEAVES,
      ops: OPS,
      workers: 4,
      progress: async (done) => {
        if (done === 600 && killLeader) {
          const leader = await cluster.leader();
          faults.push(cluster.kill(leader));
        }
        if (done === 1_300) faults.push(cut());
      },
    });
    await Promise.all(faults);

    await untilEqual(cache, writer, root, 60_000);
    expect(await differences(cache, writer, root)).toEqual([]);
    expect(client.sessionId).toBe(sessionId); // the same session throughout
    // Both faults reached the cache's client (3.5: the cut, and the addWatch probe the server refuses).
    expect(states.filter((s) => s === "disconnected").length).toBeGreaterThanOrEqual(2);
    const resyncs = log.filter((e) => e.type === "resynced");
    expect(resyncs.length).toBeGreaterThanOrEqual(1);
    expect(log.filter((e) => e.type === "error" || e.type === "expired")).toEqual([]);
    const problems = checkEvents(log, truth);
    expect(problems.slice(0, 10)).toEqual([]);
    const nodeEvents = log.filter(
      (e) => e.type === "created" || e.type === "changed" || e.type === "deleted",
    );
    // The first walk's 1,001 creations, then the writer's changes (some coalesced into one read).
    expect(nodeEvents.length).toBeGreaterThan(truth.size + OPS / 2);
  } finally {
    await client.close();
    await writer.deleteRecursive(root).catch(() => undefined);
    await writer.close();
    await Promise.all(proxies.map((p) => p.close()));
  }
}

describe("a cache on a 3-member ensemble: leader killed, connections cut", () => {
  let cluster: ZooKeeperCluster;
  beforeAll(async () => {
    cluster = await startZooKeeper({ servers: 3 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("ends equal to the server, every event a real transition in order", { timeout: 240_000 }, async () => {
    await cluster.waitUntilServing();
    await scenario({
      cluster,
      killLeader: true,
      expectMode: lacks("persistentWatches", cluster.version) === undefined ? "persistent" : "oneShot",
    });
    // The faults happened: a member is down.
    expect(cluster.servers.filter((m) => m.running)).toHaveLength(2);
  });
});

describe("a cache on a 3.5 server (one-shot watches)", () => {
  let cluster: ZooKeeperCluster;
  const needed = new NeededServers();
  beforeAll(async () => {
    const started = await needed.start({ version: "3.5" });
    if (started !== undefined) cluster = started;
  });
  beforeEach((ctx) => needed.skipIfMissing(ctx));
  afterAll(async () => {
    await cluster?.close();
  });

  it("ends equal to the server after a connection cut", { timeout: 240_000 }, async () => {
    expect(cluster.version).toMatch(/^3\.5\./);
    await scenario({ cluster, killLeader: false, expectMode: "oneShot" });
  });

  it("a second cache on the same client does not ask for addWatch again", async () => {
    await using zk = await ZooKeeper.connect(cluster.connectString);
    const first = new TreeCache(zk, "/");
    await first.start();
    expect(first.watchMode).toBe("oneShot");
    await first.close();
    let drops = 0;
    zk.on("state", (s) => {
      if (s.kind === "disconnected") drops++;
    });
    await using second = new TreeCache(zk, "/zookeeper", { maxDepth: 0 });
    await second.start();
    expect(second.watchMode).toBe("oneShot");
    await until("a moment with no drop", async () => (await zk.exists("/")) !== null, 2_000);
    expect(drops).toBe(0);
  });
});
