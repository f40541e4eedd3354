/**
 * PersistentNode and GroupMember against a real server, and GroupMember beside Curator's GroupMember on
 * one membership path (a Java process on Curator's jars).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type GroupChange,
  GroupMember,
  PersistentNode,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import type { FaultProxy } from "../../src/testing/proxy.js";
import { installCurator, killAllContenders, type PeerEvent, spawnCuratorProgram } from "../peers/peers.js";
import { giveUpMidWrite, proxyTo } from "../support/proxy.js";

const connect = inject("zkConnect");
const root = `/zkwire-group-${randomUUID().slice(0, 8)}`;
let admin: ZooKeeper;

beforeAll(async () => {
  admin = await ZooKeeper.connect(connect);
  await admin.create(root);
}, 60_000);

afterAll(async () => {
  await killAllContenders();
  await admin.deleteRecursive(root).catch(() => undefined);
  await admin.close();
});

/** Polls `check` until it returns true, for at most `ms` (the recipes react to watches, not to us). */
async function eventually(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Ends the session of `zk`, which connects through `proxy`, from another connection: its next reconnect
 * learns it expired. The proxy refuses the client's reconnects meanwhile: a reconnect between the thief's
 * handshake and its close would take the session back, and the close would then fail (session moved),
 * leaving the session alive.
 */
async function expireSession(zk: ZooKeeper, proxy: FaultProxy): Promise<void> {
  proxy.refuse(true);
  try {
    const thief = await ZooKeeper.connect(connect, {
      session: { id: zk.sessionId, password: zk.sessionPassword },
    });
    await thief.close();
  } finally {
    proxy.refuse(false);
  }
}

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

describe("PersistentNode", () => {
  it("creates an ephemeral node, re-creates it after deletion by someone else with the data it has, deletes it on close", async () => {
    await using zk = await ZooKeeper.connect(connect);
    const path = `${root}/pn-basic/node`;
    const node = new PersistentNode(zk, path, "one");
    await node.ready({ timeout: 10_000 });
    expect(node.actualPath).toBe(path);
    const first = await admin.getData(path);
    expect(text(first.data)).toBe("one");
    expect(first.stat.ephemeralOwner).toBe(zk.sessionId);

    await node.setData("two");
    expect(text((await admin.getData(path)).data)).toBe("two");

    await admin.delete(path);
    await eventually(async () => (await admin.exists(path)) !== null);
    const again = await admin.getData(path);
    expect(text(again.data)).toBe("two");
    expect(again.stat.czxid).toBeGreaterThan(first.stat.czxid);

    await node.close();
    expect(await admin.exists(path)).toBeNull();
    expect(node.actualPath).toBeNull();
  });

  it("closed while its create is in flight, leaves no node", async () => {
    await using proxy = await proxyTo(connect);
    await using zk = await ZooKeeper.connect(proxy.connectString);
    const path = `${root}/pn-closed-early`;
    let closed: Promise<void> | undefined;
    let node: PersistentNode | undefined;
    const seen = giveUpMidWrite(proxy, OpCode.create2, () => {
      closed = node!.close();
    });
    node = new PersistentNode(zk, path, "early");
    await seen;
    await closed;
    proxy.delay(0);
    expect(await admin.exists(path)).toBeNull();
  });

  it("is created again in the new session after the session expired (renewSessionOnExpiry)", async () => {
    await using proxy = await proxyTo(connect);
    await using zk = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 6_000,
      renewSessionOnExpiry: true,
    });
    const path = `${root}/pn-expiry`;
    await using node = new PersistentNode(zk, path, "kept");
    await node.ready({ timeout: 10_000 });
    const before = zk.sessionId;
    const renewed = new Promise((resolve) => zk.once("session", resolve));
    await expireSession(zk, proxy);
    await renewed;
    expect(zk.sessionId).not.toBe(before);
    await eventually(async () => (await admin.exists(path))?.ephemeralOwner === zk.sessionId, 20_000);
    expect(text((await admin.getData(path)).data)).toBe("kept");
  });

  it("with protection and a sequential mode, names the node _c_<uuid>-<name><seq>", async () => {
    await using zk = await ZooKeeper.connect(connect);
    await using node = new PersistentNode(zk, `${root}/pn-seq/item-`, "x", {
      mode: "ephemeralSequential",
      protection: true,
    });
    await node.ready({ timeout: 10_000 });
    expect(node.actualPath).toMatch(
      new RegExp(
        `^${root}/pn-seq/_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-item-\\d{10}$`,
      ),
    );
  });

  it("closes when its signal aborts, and refuses bad input before sending anything", async () => {
    await using zk = await ZooKeeper.connect(connect);
    const path = `${root}/pn-abort`;
    const controller = new AbortController();
    const node = new PersistentNode(zk, path, null, { signal: controller.signal });
    await node.ready({ timeout: 10_000 });
    controller.abort();
    await node.close();
    expect(await admin.exists(path)).toBeNull();

    expect(() => new PersistentNode(zk, "no-slash")).toThrow(ZkArgumentError);
    expect(() => new PersistentNode(zk, "/")).toThrow(ZkArgumentError);
    expect(() => new PersistentNode(zk, `${root}/x`, null, { mode: "container" as never })).toThrow(
      ZkArgumentError,
    );
    expect(() => new PersistentNode(zk, `${root}/x`, new Uint8Array(0x100000))).toThrow(ZkArgumentError);
  });
});

describe("GroupMember", () => {
  it("sees the members as a live list and reports joins, updates and departures", async () => {
    const path = `${root}/group-local`;
    await using zkA = await ZooKeeper.connect(connect);
    await using zkB = await ZooKeeper.connect(connect);
    await using a = new GroupMember(zkA, path, "a", "alpha");
    await a.ready({ timeout: 10_000 });
    const changes: GroupChange[] = [];
    const reader = (async () => {
      for await (const change of a.changes()) changes.push(change);
    })();
    const b = new GroupMember(zkB, path, "b", "beta");
    await b.ready({ timeout: 10_000 });
    await eventually(() => a.members.has("b") && b.members.has("a"));
    expect(text(a.members.get("b"))).toBe("beta");
    expect(text(b.members.get("a"))).toBe("alpha");

    await b.setData("beta-2");
    await eventually(() => text(a.members.get("b")) === "beta-2");
    await b.close();
    await eventually(() => !a.members.has("b"));
    await a.close();
    await reader; // close() ends the iterators
    expect(changes.map((c) => `${c.kind}:${c.id}`)).toEqual(["joined:b", "updated:b", "left:b"]);
    expect(await admin.exists(`${path}/a`)).toBeNull();
  });

  it("after its session expired, comes back in the new session and reads the group again (renewSessionOnExpiry)", async () => {
    const path = `${root}/group-expiry`;
    await using proxy = await proxyTo(connect);
    await using zkA = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 6_000,
      renewSessionOnExpiry: true,
    });
    await using zkB = await ZooKeeper.connect(connect);
    await using a = new GroupMember(zkA, path, "a", "alpha");
    await using b = new GroupMember(zkB, path, "b", "beta");
    await Promise.all([a.ready({ timeout: 10_000 }), b.ready({ timeout: 10_000 })]);
    await eventually(() => a.members.has("b") && b.members.has("a"));
    const renewed = new Promise((resolve) => zkA.once("session", resolve));
    await expireSession(zkA, proxy);
    await renewed;
    // While a's session was gone, b changed its data: a reads it in the new session.
    await b.setData("beta-2");
    await eventually(async () => (await admin.exists(`${path}/a`))?.ephemeralOwner === zkA.sessionId, 20_000);
    await eventually(() => text(a.members.get("b")) === "beta-2", 20_000);
    await eventually(() => b.members.has("a"));
    // And a still follows changes after that.
    await b.setData("beta-3");
    await eventually(() => text(a.members.get("b")) === "beta-3");
  });

  it("refuses an id that is not a node name, or over the packet limit, before sending anything", async () => {
    await using zk = await ZooKeeper.connect(connect);
    for (const id of ["", "a/b", ".", "..", "x\u0000", "x".repeat(0x100000)]) {
      expect(() => new GroupMember(zk, `${root}/g`, id)).toThrow(ZkArgumentError);
    }
    expect(await admin.exists(`${root}/g`)).toBeNull();
  });

  it("shares a membership path with Curator's GroupMember, both ways", async () => {
    await installCurator();
    const path = `${root}/group-curator`;
    await using zk = await ZooKeeper.connect(connect);
    await using mine = new GroupMember(zk, path, "zkwire-1", "from-zkwire");
    await mine.ready({ timeout: 10_000 });
    await using peer = await spawnCuratorProgram(
      "GroupMemberPeer",
      [connect, path, "curator-1", "from-curator"],
      { id: "curator-1" },
    );
    await peer.waitForEvent("ready");

    // zkwire sees the Curator member, with its data.
    await eventually(() => text(mine.members.get("curator-1")) === "from-curator");

    // Curator sees the zkwire member, with its data (its cache follows the path).
    const curatorSees = async (want: Record<string, string>) => {
      await eventually(async () => {
        const answers = () =>
          (peer.events as unknown as readonly PeerEvent[]).filter((e) => e.event === "members");
        const count = answers().length;
        peer.send("members");
        const event = await peer.waitForEvent("members", () => answers().length > count);
        const members = event.members as Record<string, string>;
        return Object.entries(want).every(([id, data]) => members[id] === data);
      });
    };
    await curatorSees({ "zkwire-1": "from-zkwire", "curator-1": "from-curator" });

    // Updates travel both ways.
    await mine.setData("zkwire-2");
    await curatorSees({ "zkwire-1": "zkwire-2" });
    peer.send("set curator-2");
    await eventually(() => text(mine.members.get("curator-1")) === "curator-2");

    // The Curator member leaves: zkwire's list drops it.
    peer.send("quit");
    await peer.waitForEvent("done");
    await eventually(() => !mine.members.has("curator-1"));
    expect([...mine.members.keys()]).toEqual(["zkwire-1"]);
  }, 120_000);
});
