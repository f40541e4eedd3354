/**
 * The server's error answers as the caller sees them: one ZooKeeperError type with the numeric code,
 * its name, the operation and the path, the caller's stack, and the conditions the client detects
 * itself (connection loss, session expiry).
 */
import { createServer, type Server } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConnectError,
  digestAcl,
  ErrorCode,
  isZooKeeperError,
  Perms,
  TransactionError,
  ZooKeeper,
  ZooKeeperError,
} from "../../src/index.js";
import { OpCode } from "../../src/protocol/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import {
  argumentError,
  connect,
  Fixture,
  rejectionOf,
  SHARED,
  uniqueName,
  within,
  zkError,
} from "./helpers.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await Fixture.open("conformance-errors");
});
afterAll(async () => {
  await fx?.close();
});

describe("the server's errors", () => {
  it("NoNode from every operation on a missing node, with op and path", async () => {
    const { zk } = fx;
    const p = fx.path("missing");
    const cases: [string, Promise<unknown>][] = [
      ["getData", zk.getData(p)],
      ["setData", zk.setData(p, "x")],
      ["delete", zk.delete(p)],
      ["getChildren", zk.getChildren(p)],
      ["getACL", zk.getACL(p)],
      ["setACL", zk.setACL(p, [{ perms: Perms.ALL, id: { scheme: "world", id: "anyone" } }])],
      ["getAllChildrenNumber", zk.getAllChildrenNumber(p)],
      ["create", zk.create(`${p}/child`)],
    ];
    for (const [op, call] of cases) {
      const err = await zkError(call, "NoNode");
      expect(err.code, op).toBe(ErrorCode.NoNode);
      expect(err.code, op).toBe(-101);
      expect(err.op).toBe(op);
      expect(err.path).toBe(op === "create" ? `${p}/child` : p);
    }
  });

  it("NodeExists, BadVersion, NotEmpty, NoChildrenForEphemerals", async () => {
    const { zk } = fx;
    const { path } = await zk.create(fx.path("node"), "v0");
    expect((await zkError(zk.create(path), "NodeExists")).code).toBe(-110);
    expect((await zkError(zk.setData(path, "x", { version: 7 }), "BadVersion")).code).toBe(-103);
    expect((await zkError(zk.delete(path, { version: 7 }), "BadVersion")).code).toBe(-103);
    await zk.create(`${path}/child`);
    const notEmpty = await zkError(zk.delete(path), "NotEmpty");
    expect(notEmpty.code).toBe(-111);
    expect(notEmpty.path).toBe(path);

    const eph = await zk.create(fx.path("eph"), null, { mode: "ephemeral" });
    const noKids = await zkError(zk.create(`${eph.path}/child`), "NoChildrenForEphemerals");
    expect(noKids.code).toBe(-108);
    await zkError(
      zk.create(`${eph.path}/seq-`, null, { mode: "ephemeralSequential" }),
      "NoChildrenForEphemerals",
    );
  });

  it("InvalidACL: a malformed digest id, the auth scheme without an identity, unknown schemes", async () => {
    const { zk } = fx;
    const p = fx.path("acl");
    const invalid = [
      { perms: Perms.ALL, id: { scheme: "digest", id: "no-colon-here" } },
      // "auth" stands for the session's authenticated identities; this session has none but its IP,
      // which the server does not count (ZooKeeperServer.fixupACL).
      { perms: Perms.ALL, id: { scheme: "auth", id: "" } },
      { perms: Perms.ALL, id: { scheme: "no-such-scheme", id: "x" } },
      { perms: Perms.ALL, id: { scheme: "ip", id: "not-an-address" } },
    ];
    for (const entry of invalid) {
      const err = await zkError(zk.create(p, null, { acl: [entry] }), "InvalidACL");
      expect(err.code).toBe(-114);
    }
    expect(await zk.exists(p)).toBeNull();
    const { path } = await zk.create(p);
    await zkError(zk.setACL(path, [invalid[0]!]), "InvalidACL");
  });

  it("NoAuth: reading, writing, deleting and changing the ACL without the permission", async () => {
    const { zk } = fx;
    // Everyone may read and create children; only dave may do the rest.
    const { path } = await zk.create(fx.path("guarded"), "g", {
      acl: [
        { perms: Perms.READ | Perms.CREATE, id: { scheme: "world", id: "anyone" } },
        digestAcl("dave", "pw"),
      ],
    });
    await zk.create(`${path}/child`);
    for (const [op, call] of [
      ["setData", zk.setData(path, "x")],
      ["delete", zk.delete(`${path}/child`)],
      ["setACL", zk.setACL(path, [{ perms: Perms.ALL, id: { scheme: "world", id: "anyone" } }])],
    ] as const) {
      const err = await zkError(call, "NoAuth");
      expect(err.code).toBe(-102);
      expect(err.op).toBe(op);
    }
    // Give everything back so the fixture can clean up.
    await using dave = await connect();
    await dave.addAuth("digest", "dave:pw");
    await dave.setACL(path, [{ perms: Perms.ALL, id: { scheme: "world", id: "anyone" } }]);
    await zk.delete(`${path}/child`);
  });
});

describe("authentication failures", () => {
  it("credentials the server refuses end the session: state auth-failed, calls refused", async () => {
    const zk = await connect();
    const states: string[] = [];
    zk.on("state", (state) => states.push(state.kind));
    const refused = await zkError(zk.addAuth("no-such-scheme", "whatever"), "AuthFailed");
    expect(refused.code).toBe(ErrorCode.AuthFailed);
    expect(zk.state.kind).toBe("auth-failed");
    expect(states).toEqual(["auth-failed"]);
    const after = await zkError(zk.getData("/"), "AuthFailedState");
    expect(after.op).toBe("getData");
    await zk.close();
    expect(zk.state.kind).toBe("auth-failed");
  });

  it("credentials given to connect() are sent before any request", async () => {
    const { path } = await fx.zk.create(fx.path("preauth"), "p", { acl: [digestAcl("erin", "pw")] });
    await using zk = await connect(undefined, { auth: [{ scheme: "digest", auth: "erin:pw" }] });
    expect(Buffer.from((await zk.getData(path)).data).toString()).toBe("p");
    expect(await zk.whoAmI()).toContainEqual({ authScheme: "digest", user: "erin" });
    await fx.zk.delete(path);
  });
});

describe("ZooKeeperError", () => {
  it("has the code, its name, the operation and the path, in the message too", async () => {
    const p = fx.path("shape");
    const err = await zkError(fx.zk.getData(p), "NoNode");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("ZooKeeperError");
    expect(err.code).toBe(ErrorCode.NoNode);
    expect(err.op).toBe("getData");
    expect(err.path).toBe(p);
    expect(err.message).toContain("NoNode");
    expect(err.message).toContain(p);
    expect(err.is("NoNode")).toBe(true);
    expect(err.is("NodeExists")).toBe(false);
    expect(isZooKeeperError(err)).toBe(true);
    expect(isZooKeeperError(err, "NoNode")).toBe(true);
    expect(isZooKeeperError(err, "BadVersion")).toBe(false);
    expect(isZooKeeperError(new Error("NoNode"))).toBe(false);
    expect(err.isConnectionLoss).toBe(false);
    expect(err.isSessionExpired).toBe(false);
  });

  it("keeps the caller's stack: the calling async function is in it", async () => {
    const p = fx.path("stack");
    const err = await rejectionOf(callerFrameForStackCheck(fx.zk, p));
    expect(err).toBeInstanceOf(ZooKeeperError);
    expect((err as Error).stack).toContain("callerFrameForStackCheck");
    const tx = await rejectionOf(transactionCallerForStackCheck(fx.zk, p));
    expect(tx).toBeInstanceOf(TransactionError);
    expect((tx as Error).stack).toContain("transactionCallerForStackCheck");
  });

  it("isConnectionLoss when the connection drops under a request; the stack is still the caller's", async () => {
    const [host, port] = SHARED.split(":");
    await using proxy = await FaultProxy.start({ target: { host: host!, port: Number(port) } });
    await using zk = await connect(proxy.connectString);
    const { path } = await zk.create(fx.path("lost"), "x");
    // The server runs the getData; the connection is cut before its reply reaches the client.
    const cut = proxy.dropOnRequest((r) => r.opcode === OpCode.getData);
    const err = await rejectionOf(callerFrameForStackCheck(zk, path));
    await cut;
    expect(err).toBeInstanceOf(ZooKeeperError);
    const e = err as ZooKeeperError;
    expect(e.codeName).toBe("ConnectionLoss");
    expect(e.code).toBe(ErrorCode.ConnectionLoss);
    expect(e.isConnectionLoss).toBe(true);
    expect(e.isSessionExpired).toBe(false);
    expect(e.op).toBe("getData");
    expect(e.path).toBe(path);
    // The loss is noticed in a socket callback; the error is still made where the caller awaits.
    expect(e.stack).toContain("callerFrameForStackCheck");
    // The session survives a lost connection: the client reconnects and the next call works.
    expect(
      Buffer.from((await within(zk.getData(path), 10_000, "getData after reconnecting")).data).toString(),
    ).toBe("x");
  });

  it("isSessionExpired when the session is gone on the server", async () => {
    const first = await connect();
    const session = { id: first.sessionId, password: first.sessionPassword };
    await first.close();
    // Resuming a closed session: the server answers the handshake with timeout 0 (expired).
    const zk = new ZooKeeper(SHARED, { session, sessionTimeout: 10_000, connectTimeout: 10_000 });
    const queued = zk.getData("/");
    await rejectionOf(zk.ready());
    const err = await zkError(queued, "SessionExpired");
    expect(err.code).toBe(ErrorCode.SessionExpired);
    expect(err.isSessionExpired).toBe(true);
    expect(err.isConnectionLoss).toBe(false);
    expect(zk.state.kind).toBe("expired");
    expect((await zkError(zk.exists("/"), "SessionExpired")).isSessionExpired).toBe(true);
    await zk.close();
  });

  // When the server reports the resumed session expired, connect() says so (not "closed").
  it("connect() to an expired session says it expired", async () => {
    const first = await connect();
    const session = { id: first.sessionId, password: first.sessionPassword };
    await first.close();
    const err = await rejectionOf(ZooKeeper.connect(SHARED, { session, connectTimeout: 10_000 }));
    expect(String((err as Error).message)).toMatch(/expired/i);
  });
});

describe("the messages a new user meets first (issue 13)", () => {
  it("a string version is named as a string, not shown as the number it looks like", async () => {
    const message = await argumentError(
      fx.zk.setData(fx.path("v"), "x", { version: "3" as unknown as number }),
      /got the string "3"/,
    );
    expect(message).not.toMatch(/got 3\b/);
  });

  it("a URL scheme in the connect string is named as unsupported, not as a bad chroot", async () => {
    const err = await rejectionOf(ZooKeeper.connect(`zk://${SHARED}`));
    expect(String(err)).toMatch(/the scheme "zk:\/\/" is not supported/);
    expect(String(err)).not.toMatch(/invalid chroot|empty segment/);
  });

  it("errors without a cause have no cause key, so inspect() prints no [cause]: undefined", async () => {
    const err = await zkError(fx.zk.getData(fx.path("missing")), "NoNode");
    expect("cause" in err).toBe(false);
    expect(inspect(err)).not.toMatch(/\[cause\]/);
  });

  it("a missing chroot is named when a top-level create fails NoNode, with and without createParents", async () => {
    const chroot = `/${uniqueName("absent-chroot")}`;
    const zk = await connect(`${SHARED}${chroot}`);
    try {
      for (const call of [
        () => zk.create("/jobs/job-", "x", { createParents: true }),
        () => zk.create("/jobs"),
      ]) {
        const err = await zkError(call(), "NoNode");
        expect(err.message).toContain(`the chroot ${chroot} does not exist`);
      }
      // A missing parent below an existing chroot is an ordinary NoNode, without the chroot hint.
      await fx.zk.create(chroot);
      const err = await zkError(zk.create("/jobs/a"), "NoNode");
      expect(err.message).not.toMatch(/chroot/);
      expect(
        (await zk.create("/jobs/job-", "x", { createParents: true, mode: "persistentSequential" })).path,
      ).toMatch(/^\/jobs\/job-\d{10}$/);
    } finally {
      await zk.close();
      await fx.zk.deleteRecursive(chroot).catch(() => {});
    }
  });

  it("an HTTP server answering is named as probably not ZooKeeper; each failed attempt is logged at debug", async () => {
    // A plain HTTP/1.1 server's answer to bytes it cannot parse.
    const server: Server = createServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const debug: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    try {
      const err = (await rejectionOf(
        ZooKeeper.connect(`127.0.0.1:${port}`, {
          connectTimeout: 1_000,
          backoff: [10, 50],
          logger: { debug: (message, fields) => debug.push({ message, fields }) },
        }),
      )) as ConnectError;
      expect(err.name).toBe("ConnectError");
      expect(err.attempts[0]?.error).toMatch(
        /frame length 1213486160 exceeds .*the peer is probably not ZooKeeper: its reply begins with the text "HTTP" \(an HTTP server\?\)/,
      );
      const failed = debug.filter((d) => d.message === "connection attempt failed");
      expect(failed.length).toBe(err.attempts.length);
      expect(failed[0]?.fields).toMatchObject({ host: `127.0.0.1:${port}` });
      expect(String(failed[0]?.fields?.error)).toMatch(/probably not ZooKeeper/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

async function callerFrameForStackCheck(zk: ZooKeeper, path: string): Promise<void> {
  await zk.getData(path);
}

async function transactionCallerForStackCheck(zk: ZooKeeper, path: string): Promise<void> {
  await zk.transaction().delete(path).commit();
}
