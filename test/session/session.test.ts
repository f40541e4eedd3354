/**
 * The session's own rules, against a real server (through the fault proxy where timing is observed):
 * connect strings, the connect deadline, writes coalesced per tick, pings and the dead-connection
 * timer derived from the negotiated timeout.
 */
import * as net from "node:net";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import {
  ConnectError,
  parseConnectString,
  ZkArgumentError,
  ZooKeeper,
  type ZooKeeperOptions,
} from "../../src/index.js";
import { OpCode, Xid } from "../../src/protocol/constants.js";
import { shuffled } from "../../src/session/connect-string.js";
import { FaultProxy } from "../../src/testing/proxy.js";

const shared = inject("zkConnect");
const target = () => {
  const [host, port] = shared.split(":") as [string, string];
  return { host, port: Number(port) };
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("connect strings", () => {
  it("reads hosts, IPv6 in brackets, default ports and a chroot", () => {
    expect(parseConnectString("a:1,b:2,[::1]:3,c/app/x")).toEqual({
      hosts: [
        { host: "a", port: 1 },
        { host: "b", port: 2 },
        { host: "::1", port: 3 },
        { host: "c", port: 2181 },
      ],
      chroot: "/app/x",
    });
    expect(parseConnectString("h:2181/").chroot).toBe("");
    expect(parseConnectString(" [fe80::1] ").hosts).toEqual([{ host: "fe80::1", port: 2181 }]);
  });

  it.each([
    ["", /non-empty/],
    ["h:0", /out of range/],
    ["h:99999", /out of range/],
    ["h:x", /invalid port/],
    ["::1:2181", /brackets/],
    ["[::1", /unclosed/],
    ["[::1]x", /unexpected/],
    ["a,,b", /empty host/],
    ["h:2181/app/", /invalid chroot/],
    ["h:2181/a//b", /invalid chroot/],
  ])("refuses %j at construction", (text, why) => {
    expect(() => parseConnectString(text)).toThrow(ZkArgumentError);
    expect(() => parseConnectString(text)).toThrow(why);
    expect(() => new ZooKeeper(text)).toThrow(ZkArgumentError);
  });

  it.each(["readPacing", "readOnly", "renewSessionOnExpiry"])(
    "refuses a %s that is not a boolean at construction",
    (option) => {
      const bad = { [option]: "no" } as unknown as ZooKeeperOptions;
      expect(() => new ZooKeeper("127.0.0.1:2181", bad)).toThrow(ZkArgumentError);
      expect(() => new ZooKeeper("127.0.0.1:2181", bad)).toThrow(
        new RegExp(`${option} must be true or false, got`),
      );
    },
  );

  it("shuffles hosts, every order possible", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(shuffled(["a", "b", "c"]).join(""));
    expect(seen.size).toBe(6);
  });
});

describe("connecting", () => {
  it("rejects after the deadline naming each host tried and why", async () => {
    // Two ports nobody listens on: a server that just closed its listener.
    const ports = await Promise.all([freePort(), freePort()]);
    const started = performance.now();
    const err = await ZooKeeper.connect(ports.map((p) => `127.0.0.1:${p}`).join(","), {
      connectTimeout: 600,
      backoff: [20, 50],
    }).catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(ConnectError);
    const message = (err as ConnectError).message;
    for (const p of ports) expect(message).toContain(`127.0.0.1:${p} (connect ECONNREFUSED`);
    expect((err as ConnectError).attempts.length).toBeGreaterThanOrEqual(2);
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3_000);
  });
});

describe("the wire", () => {
  it("writes requests issued in one tick with one socket write", async () => {
    await using zk = await ZooKeeper.connect(shared);
    const write = vi.spyOn(net.Socket.prototype, "write");
    const all = Array.from({ length: 100 }, () => zk.exists("/"));
    await Promise.all(all);
    expect(write).toHaveBeenCalledTimes(1);
  });

  it("pings after a third of the session timeout without sending, at most one at a time", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 3_000 });
    const t = zk.sessionTimeout;
    proxy.clearFrames();
    await new Promise((r) => setTimeout(r, t * 0.9));
    const pings = proxy.frames.filter((f) => f.direction === "request" && f.opcode === OpCode.ping);
    expect(pings.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < pings.length; i++)
      expect(pings[i]!.at - pings[i - 1]!.at).toBeGreaterThanOrEqual(t / 3 - 50);
    // Replies held back: the client does not pile pings up while one is unanswered.
    proxy.clearFrames();
    proxy.delay(t / 2, "reply");
    await new Promise((r) => setTimeout(r, t / 2));
    const unanswered = proxy.frames.filter((f) => f.direction === "request" && f.opcode === OpCode.ping);
    expect(unanswered.length).toBeLessThanOrEqual(1);
    proxy.delay(0, "reply");
  });

  it("declares the connection dead after two thirds of the timeout without a byte", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 3_000 });
    const t = zk.sessionTimeout;
    await zk.exists("/"); // something was just received
    const since = performance.now();
    proxy.blackhole();
    const lost = await new Promise<number>((resolve) =>
      zk.on("state", (s) => {
        if (s.kind === "disconnected") resolve(performance.now() - since);
      }),
    );
    expect(lost).toBeGreaterThanOrEqual((2 * t) / 3 - 100);
    expect(lost).toBeLessThan((2 * t) / 3 + 500);
    proxy.release();
  });

  it("answers pings with xid -2 and keeps them out of the request order", async () => {
    await using proxy = await FaultProxy.start({ target: target() });
    await using zk = await ZooKeeper.connect(proxy.connectString, { sessionTimeout: 3_000 });
    await new Promise((r) => setTimeout(r, zk.sessionTimeout / 3 + 200));
    await zk.exists("/");
    const pings = proxy.frames.filter((f) => f.direction === "request" && f.opcode === OpCode.ping);
    expect(pings.length).toBeGreaterThan(0);
    for (const p of pings) expect(p.xid).toBe(Xid.ping);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
