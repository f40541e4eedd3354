/**
 * SASL DIGEST-MD5 against real ZooKeeper servers with a JAAS digest login, the way a deployment sets
 * it up. The server side needs only JVM system properties (checked on 3.5.10, 3.6.4, 3.7.2, 3.8.4, 3.9.5):
 *
 *   -Djava.security.auth.login.config=<jaas file>    with a "Server" section (the name is
 *       zookeeper.sasl.serverconfig, default "Server"):
 *         Server { org.apache.zookeeper.server.auth.DigestLoginModule required
 *                  user_bob="bobsecret" user_alice="alicesecret"; };
 *       A Server section without a Kerberos principal makes the server run DIGEST-MD5.
 *   -Dzookeeper.authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
 *       (any zookeeper.authProvider.* key): without it the "sasl" ACL scheme is unknown, so an ACL
 *       naming sasl:bob is refused as InvalidACL and never matches. Authentication itself works
 *       without it: the server adds the sasl identity to the connection either way.
 *   -Dzookeeper.sessionRequireClientSASLAuth=true   optional (3.5.9/3.6.0+, ZOOKEEPER-1634; on 3.7+
 *       the same as zookeeper.enforce.auth.enabled=true with zookeeper.enforce.auth.schemes=sasl):
 *       every request from a connection that has not completed SASL, pings included, is answered
 *       SessionClosedRequireSaslAuth (-124) and the connection closed; the session itself stays.
 *
 * Two servers: `open` (SASL offered) and `required` (SASL required); the faults a server will not make
 * on demand (a dropped connection) come from the frame-aware proxy in front of them.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  digestMd5,
  OPEN_ACL_UNSAFE,
  Perms,
  ZooKeeper,
  ZooKeeperError,
  type ZooKeeperOptions,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/constants.js";
import {
  compareVersions,
  jvmSources,
  startZooKeeper,
  type ZooKeeperCluster,
} from "../../src/testing/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import { rejection, waitForState } from "../support/wait.js";

const JAAS = `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_bob="bobsecret"
  user_alice="alicesecret";
};
`;

const SASL_PROPERTIES = {
  "zookeeper.authProvider.sasl": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
};

/** Only bob (sasl:bob) may do anything with nodes made with this ACL. */
const BOB_ONLY = [{ perms: Perms.ALL, id: { scheme: "sasl", id: "bob" } }];

const OPTIONS: ZooKeeperOptions = { sessionTimeout: 6_000, connectTimeout: 5_000, backoff: [20, 200] };

let dir: string;
let open: ZooKeeperCluster;
let required: ZooKeeperCluster;
/** whoAmI is 3.7+; on older servers the sasl ACL tests alone show who the server thinks we are. */
let hasWhoAmI: boolean;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zkwire-sasl-"));
  const jaas = join(dir, "jaas.conf");
  await writeFile(jaas, JAAS);
  const start = (extra: Record<string, boolean>) =>
    startZooKeeper({
      // The JVM reads a JAAS file this process wrote: a server started here, not a container.
      sources: jvmSources(),
      jvmProperties: { "java.security.auth.login.config": jaas, ...SASL_PROPERTIES, ...extra },
    });
  [open, required] = await Promise.all([
    start({}),
    start({ "zookeeper.sessionRequireClientSASLAuth": true }),
  ]);
  hasWhoAmI = compareVersions(open.version, "3.7.0") >= 0;
});

afterAll(async () => {
  await Promise.all([open?.close(), required?.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function bob(connectString: string, options: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  return ZooKeeper.connect(connectString, { ...OPTIONS, sasl: digestMd5("bob", "bobsecret"), ...options });
}

async function text(zk: ZooKeeper, path: string): Promise<string> {
  return Buffer.from((await zk.getData(path)).data).toString();
}

describe("SASL DIGEST-MD5 (server offers SASL)", () => {
  it("authenticates: whoAmI names the session sasl:bob", async (ctx) => {
    if (!hasWhoAmI) ctx.skip();
    await using zk = await bob(open.connectString);
    const ids = await zk.whoAmI();
    expect(ids).toContainEqual({ authScheme: "sasl", user: "bob" });
    expect(zk.state.kind).toBe("connected");
  });

  it("enforces a sasl ACL: bob reads his node, alice's session gets NoAuth", async () => {
    await using owner = await bob(open.connectString);
    const { path } = await owner.create("/sasl-bob-only", "bob's", { acl: BOB_ONLY });
    expect(await text(owner, path)).toBe("bob's");

    await using alice = await ZooKeeper.connect(open.connectString, {
      ...OPTIONS,
      sasl: digestMd5("alice", "alicesecret"),
    });
    if (hasWhoAmI) expect(await alice.whoAmI()).toContainEqual({ authScheme: "sasl", user: "alice" });
    const refused = await rejection(alice.getData(path));
    expect(refused).toBeInstanceOf(ZooKeeperError);
    expect((refused as ZooKeeperError).codeName).toBe("NoAuth");
    // Not a failure of alice's session: she goes on working with what she may touch.
    expect(alice.state.kind).toBe("connected");
    await alice.create("/sasl-alice-open", null, { acl: OPEN_ACL_UNSAFE });
  });

  it("a wrong password ends the session in auth-failed; queued and later requests reject clearly", async () => {
    const zk = new ZooKeeper(open.connectString, { ...OPTIONS, sasl: digestMd5("bob", "not-bobs") });
    try {
      // Queued before the exchange: held back, then failed with the server's verdict.
      const queued = rejection(zk.getData("/"));
      // ready() waits for the SASL exchange, so a caller of connect() learns that it failed.
      const notReady = await rejection(zk.ready());
      expect((notReady as Error).message).toMatch(/auth-failed \(SASL authentication failed/);
      const state = await waitForState(zk, "auth-failed", 5_000);
      expect(state).toMatchObject({ kind: "auth-failed" });
      expect((state as { reason: string }).reason).toMatch(/SASL authentication failed.*AuthFailed/);

      const first = await queued;
      expect(first).toBeInstanceOf(ZooKeeperError);
      expect((first as ZooKeeperError).codeName).toBe("AuthFailed");
      const later = await rejection(zk.exists("/"));
      expect(later).toBeInstanceOf(ZooKeeperError);
      expect((later as ZooKeeperError).codeName).toBe("AuthFailedState");
      expect((later as ZooKeeperError).message).toMatch(/SASL authentication failed/);
    } finally {
      await zk.close();
    }
  });

  it("an unknown user is refused the same way", async () => {
    const zk = new ZooKeeper(open.connectString, { ...OPTIONS, sasl: digestMd5("mallory", "x") });
    try {
      await waitForState(zk, "auth-failed", 5_000);
    } finally {
      await zk.close();
    }
  });

  it("fails clearly against a server without SASL configured (no JAAS Server section)", async () => {
    // The run's shared server: it answers every SASL token err 0 with a null token, which DIGEST-MD5
    // cannot take for a challenge.
    const zk = new ZooKeeper(inject("zkConnect"), { ...OPTIONS, sasl: digestMd5("bob", "bobsecret") });
    try {
      const queued = rejection(zk.exists("/"));
      const state = await waitForState(zk, "auth-failed", 5_000);
      expect((state as { reason: string }).reason).toMatch(/SASL authentication failed: DIGEST-MD5: /);
      expect((await queued) as ZooKeeperError).toMatchObject({ codeName: "AuthFailed" });
    } finally {
      await zk.close();
    }
  });

  it("authenticates again after the connection drops: the session keeps its id and bob's access", async () => {
    await using proxy = await FaultProxy.start({
      target: { host: "127.0.0.1", port: open.servers[0]!.clientPort },
    });
    await using zk = await bob(proxy.connectString);
    const sessionId = zk.sessionId;
    const { path } = await zk.create("/sasl-bob-reconnect", "still bob's", { acl: BOB_ONLY });

    const disconnected = waitForState(zk, "disconnected", 5_000);
    proxy.dropAll();
    await disconnected;
    await waitForState(zk, "connected", 5_000);

    expect(zk.sessionId).toBe(sessionId);
    // The server keeps auth ids per connection: this read works only if SASL ran again.
    expect(await text(zk, path)).toBe("still bob's");
    if (hasWhoAmI) expect(await zk.whoAmI()).toContainEqual({ authScheme: "sasl", user: "bob" });
    const connections = new Set(proxy.frames.filter((f) => f.opcode === OpCode.sasl).map((f) => f.conn));
    expect(connections.size).toBe(2);
  });
});

describe("SASL required (zookeeper.sessionRequireClientSASLAuth=true)", () => {
  it("refuses a client without SASL: its first request fails SessionClosedRequireSaslAuth", async () => {
    // The handshake needs no authentication, so the session is established...
    await using zk = await ZooKeeper.connect(required.connectString, OPTIONS);
    // ...but the server answers the first request -124 and closes the connection; it would answer
    // every reconnection (and every ping) the same way, so the client ends the session at once.
    const failed = waitForState(zk, "auth-failed", 5_000);
    const refused = await rejection(zk.getData("/"));
    expect(refused).toBeInstanceOf(ZooKeeperError);
    expect((refused as ZooKeeperError).codeName).toBe("SessionClosedRequireSaslAuth");
    expect(await failed).toEqual({
      kind: "auth-failed",
      reason: "the server requires SASL authentication (configure the sasl option)",
    });
  });

  it("serves a client with SASL", async () => {
    await using zk = await bob(required.connectString);
    const { path } = await zk.create("/sasl-required-bob", "ok", { acl: BOB_ONLY });
    expect(await text(zk, path)).toBe("ok");
  });

  it("holds requests made before the exchange ends until it ends, in order; all succeed", async () => {
    await using proxy = await FaultProxy.start({
      target: { host: "127.0.0.1", port: required.servers[0]!.clientPort },
    });
    {
      await using setup = await bob(required.connectString);
      await setup.create("/sasl-queued", "queued", { acl: BOB_ONLY });
    }
    // Not awaiting ready(): these are queued while the connection is still being made. A single
    // request sent before SASL completed would be answered -124 with the connection closed.
    const zk = new ZooKeeper(proxy.connectString, { ...OPTIONS, sasl: digestMd5("bob", "bobsecret") });
    try {
      const reads = Array.from({ length: 5 }, () => zk.getData("/sasl-queued"));
      const exists = zk.exists("/sasl-queued");
      const children = zk.getChildren("/");
      // Reads of a bob-only node: they succeed only once the connection is authenticated as bob.
      const results = await Promise.all(reads);
      for (const { data } of results) expect(Buffer.from(data).toString()).toBe("queued");
      expect(await exists).not.toBeNull();
      expect((await children).children).toContain("sasl-queued");

      // On the wire: after the handshake, every SASL frame comes before any other request.
      const requests = proxy.frames.filter((f) => f.conn === 1 && f.direction === "request");
      const kinds = requests.map((f) =>
        f.kind === "connect" ? "connect" : f.opcode === OpCode.sasl ? "sasl" : "op",
      );
      const firstOp = kinds.indexOf("op");
      expect(kinds[0]).toBe("connect");
      expect(kinds.slice(1, firstOp).every((k) => k === "sasl")).toBe(true);
      expect(kinds.slice(firstOp)).not.toContain("sasl");
      expect(firstOp).toBeGreaterThanOrEqual(3); // DIGEST-MD5: empty start token, then the response
      expect(proxy.stats.accepted).toBe(1); // never refused, never reconnected
    } finally {
      await zk.close();
    }
  });

  it("restarts the exchange on the next connection when the connection drops mid-exchange", async () => {
    await using proxy = await FaultProxy.start({
      target: { host: "127.0.0.1", port: required.servers[0]!.clientPort },
    });
    {
      await using setup = await bob(required.connectString);
      await setup.create("/sasl-midway", "midway", { acl: BOB_ONLY });
    }
    // Cut where the server's answer to our digest-response (the second, non-empty token) would be.
    const cut = proxy.dropOnRequest((r) => r.conn === 1 && r.opcode === OpCode.sasl && r.body.length > 4);
    const zk = new ZooKeeper(proxy.connectString, { ...OPTIONS, sasl: digestMd5("bob", "bobsecret") });
    try {
      // Held back behind the exchange, never written on the first connection: they must survive the
      // cut and go out, in order, once the second connection has authenticated.
      const data = zk.getData("/sasl-midway");
      const stat = zk.exists("/sasl-midway");
      await cut;
      expect(Buffer.from((await data).data).toString()).toBe("midway");
      expect(await stat).not.toBeNull();
      expect(proxy.stats.accepted).toBe(2);
      const saslFrames = proxy.frames.filter((f) => f.direction === "request" && f.opcode === OpCode.sasl);
      // A fresh mechanism on connection 2: its exchange starts again from the empty first token (a
      // frame of xid, opcode and a 0-length buffer: 12 bytes), then one digest-response.
      const second = saslFrames.filter((f) => f.conn === 2).map((f) => f.size);
      expect(second).toHaveLength(2);
      expect(second[0]).toBe(12);
      expect(second[1]).toBeGreaterThan(12);
      // Connection 2 resumed the session connection 1 established.
      const resumed = proxy.frames.find(
        (f) => f.conn === 2 && f.kind === "connect" && f.direction === "request",
      );
      expect(resumed?.sessionId).toBe(zk.sessionId);
    } finally {
      await zk.close();
    }
  });

  it("refuses a wrong password with SessionClosedRequireSaslAuth: auth-failed", async () => {
    const zk = new ZooKeeper(required.connectString, { ...OPTIONS, sasl: digestMd5("bob", "wrong") });
    try {
      const state = await waitForState(zk, "auth-failed", 5_000);
      expect((state as { reason: string }).reason).toMatch(/SessionClosedRequireSaslAuth/);
    } finally {
      await zk.close();
    }
  });
});
