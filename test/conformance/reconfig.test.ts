/**
 * getConfig and reconfig on a real three-member ensemble with dynamic reconfiguration enabled
 * (reconfigEnabled=true) and a super user (DigestAuthenticationProvider.superDigest), who alone may
 * change /zookeeper/config. A follower is removed and added back; getConfig and a config watch see
 * each change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestId, type ZooKeeper } from "../../src/index.js";
import type { ZooKeeperServer } from "../../src/testing/server.js";
import { startZooKeeper, type ZooKeeperCluster } from "../../src/testing/zookeeper.js";
import { connect, within, zkError } from "./helpers.js";

let cluster: ZooKeeperCluster;
let leader: ZooKeeperServer;
let follower: ZooKeeperServer;
let zk: ZooKeeper;

beforeAll(async () => {
  cluster = await startZooKeeper({
    servers: 3,
    config: { reconfigEnabled: true },
    jvmProperties: { "zookeeper.DigestAuthenticationProvider.superDigest": digestId("super", "s3cret") },
  });
  leader = await cluster.leader();
  follower = cluster.servers.find((s) => s.id !== leader.id)!;
  // Connected to the leader alone: removing the follower must not move this session.
  zk = await connect(leader.connectString);
});
afterAll(async () => {
  await zk?.close();
  await cluster?.close();
});

/** A member's quorum, election and client ports (the harness starts every member with all three). */
function portsOf(server: ZooKeeperServer): { quorum: number; election: number; client: number } {
  const { quorum, election, client } = server.ports;
  if (quorum === undefined || election === undefined || client === undefined) {
    expect.unreachable(`server ${server.id} has no quorum/election/client port`);
  }
  return { quorum, election, client };
}

/** The server.N lines of a configuration, by id. */
function members(config: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of config.split("\n")) {
    const m = /^server\.(\d+)=(.*)$/.exec(line.trim());
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

/** The version line: the zxid of the configuration, in hex. */
function version(config: string): bigint {
  const m = /^version=([0-9a-f]+)$/m.exec(config);
  if (!m) expect.unreachable(`no version line in ${JSON.stringify(config)}`);
  return BigInt(`0x${m[1]}`);
}

describe("getConfig and reconfig", () => {
  it("getConfig lists every member; its version is the zxid that wrote it", async () => {
    const { config, stat } = await zk.getConfig();
    const ids = [...members(config).keys()].sort();
    expect(ids).toEqual([1, 2, 3]);
    for (const server of cluster.servers) {
      const ports = portsOf(server);
      expect(members(config).get(server.id)).toContain(`127.0.0.1:${ports.quorum}:${ports.election}`);
    }
    expect(version(config)).toBe(stat.mzxid);
  });

  it("reconfig needs the right to change /zookeeper/config", async () => {
    await using other = await connect(leader.connectString);
    const err = await zkError(other.reconfig({ leaving: [follower.id] }), "NoAuth");
    expect(err.op).toBe("reconfig");
    expect(members((await other.getConfig()).config).size).toBe(3);
  });

  it("removes a member and adds it back; getConfig and a config watch follow", async () => {
    await zk.addAuth("digest", "super:s3cret");
    const before = await zk.getConfig({ watch: true });

    const removed = await zk.reconfig({ leaving: [follower.id] });
    expect([...members(removed.config).keys()].sort()).toEqual([1, 2, 3].filter((id) => id !== follower.id));
    expect(version(removed.config)).toBeGreaterThan(version(before.config));
    const event = await within(before.watch, 5_000, "the config watch");
    expect(event).toMatchObject({ type: "NodeDataChanged", path: "/zookeeper/config" });
    const seen = await zk.getConfig();
    expect(seen.config).toBe(removed.config);
    expect(version(seen.config)).toBe(seen.stat.mzxid);

    // A reconfig based on a configuration that is no longer current is refused.
    await zkError(zk.reconfig({ leaving: [leader.id], fromConfig: version(before.config) }), "BadVersion");

    const ports = portsOf(follower);
    const line = `server.${follower.id}=127.0.0.1:${ports.quorum}:${ports.election}:participant;127.0.0.1:${ports.client}`;
    const added = await zk.reconfig({ joining: [line], fromConfig: version(removed.config) });
    expect([...members(added.config).keys()].sort()).toEqual([1, 2, 3]);
    expect(members(added.config).get(follower.id)).toBe(line.slice(line.indexOf("=") + 1));
    expect((await zk.getConfig()).config).toBe(added.config);
  });
});
