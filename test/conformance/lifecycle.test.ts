/**
 * The end of a session and of a call: close() (ephemeral nodes, later calls, watches, state), `await
 * using`, and AbortSignal / timeout on single calls. A FaultProxy delays replies where a call must be
 * caught in flight, and counts frames where "nothing was sent" is the claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientErrorCode, ErrorCode, type SessionState, ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import { requires } from "../support/features.js";
import { connect, Fixture, nextEvent, rejectionOf, SHARED, within, zkError } from "./helpers.js";

let fx: Fixture;
beforeAll(async () => {
  fx = await Fixture.open("conformance-lifecycle");
});
afterAll(async () => {
  await fx?.close();
});

async function startProxy(): Promise<FaultProxy> {
  const [host, port] = SHARED.split(":");
  return FaultProxy.start({ target: { host: host!, port: Number(port) } });
}

describe("close()", () => {
  it("removes the session's ephemeral nodes before it resolves", async () => {
    const zk = await connect();
    const a = await zk.create(fx.path("eph"), null, { mode: "ephemeral" });
    const b = await zk.create(fx.path("eph-seq-"), null, { mode: "ephemeralSequential" });
    await zk.close();
    expect(zk.state.kind).toBe("closed");
    // Another session, right away: closeSession was answered, so the nodes are gone already.
    expect(await fx.zk.exists(a.path)).toBeNull();
    expect(await fx.zk.exists(b.path)).toBeNull();
  });

  it("answers the requests made before it, then refuses every call with ClientClosed", async () => {
    const zk = await connect();
    const { path } = await zk.create(fx.path("before"), "still answered");
    const pending = zk.getData(path);
    const closing = zk.close();
    expect(Buffer.from((await pending).data).toString()).toBe("still answered");
    await closing;
    const calls: [string, Promise<unknown>][] = [
      ["getData", zk.getData(path)],
      ["create", zk.create(fx.path("after"))],
      ["exists", zk.exists(path)],
      ["multi", zk.transaction().delete(path).commit()],
      ["multiRead", zk.multiRead().getData(path).run()],
      ["addWatch", zk.addWatch(path)],
      ["addAuth", zk.addAuth("digest", "a:b")],
      ["sync", zk.sync(path)],
    ];
    for (const [op, call] of calls) {
      const err = await zkError(call, "ClientClosed");
      expect(err.code).toBe(ClientErrorCode.ClientClosed);
      expect(err.op).toBe(op);
      expect(err.message).toMatch(/closed/);
    }
    // Closing again is a no-op.
    await zk.close();
    expect(await fx.zk.exists(path)).not.toBeNull();
  });

  it("two close() calls at once still end the session on the server", async () => {
    const zk = await connect();
    const { path } = await zk.create(fx.path("double"), null, { mode: "ephemeral" });
    await Promise.all([zk.close(), zk.close()]);
    // Had the second call ended the connection before closeSession went out, the server would keep
    // the session (and this node) until the session timeout.
    expect(await fx.zk.exists(path)).toBeNull();
  });

  it("`await using` closes the client at the end of the scope", async () => {
    let escaped: ZooKeeper | undefined;
    let path = "";
    {
      await using zk = await ZooKeeper.connect(SHARED, { sessionTimeout: 10_000 });
      escaped = zk;
      path = (await zk.create(fx.path("scoped"), null, { mode: "ephemeral" })).path;
      expect(zk.state.kind).toBe("connected");
    }
    expect(escaped.state.kind).toBe("closed");
    expect(await fx.zk.exists(path)).toBeNull();
    await zkError(escaped.getData("/"), "ClientClosed");
  });

  it("states() and the 'state' event see connected, then closed; the iterator then ends", async () => {
    const zk = new ZooKeeper(SHARED, { sessionTimeout: 10_000 });
    const states = zk.states();
    // The first next() subscribes: call it before the session can be established.
    const first = states.next();
    const events: [SessionState["kind"], SessionState["kind"]][] = [];
    zk.on("state", (state, previous) => events.push([previous.kind, state.kind]));
    const connected = await within(first, 10_000, "the connected state");
    expect(connected.value).toEqual({ kind: "connected", host: SHARED });
    expect(zk.server).toBe(SHARED);
    const next = states.next();
    await zk.close();
    expect((await within(next, 5_000, "the closed state")).value).toEqual({ kind: "closed" });
    expect(await states.next()).toEqual({ done: true, value: undefined });
    expect(events).toEqual([
      ["connecting", "connected"],
      ["connected", "closed"],
    ]);
  });

  it("every watch gets a final None event with state Closed; persistent watches then end", async () => {
    const zk = await connect();
    const { path } = await zk.create(fx.path("watched"));
    const { watch } = await zk.getData(path, { watch: true });
    const callback: unknown[] = [];
    await zk.getChildren(path, { watch: (e) => callback.push(e) });
    const persistent = await zk.addWatch(path);
    await zk.close();
    const final = { type: "None", state: "Closed", path: "" };
    expect(await within(watch, 5_000, "the final event")).toMatchObject(final);
    expect(callback).toEqual([expect.objectContaining(final)]);
    expect(await nextEvent(persistent)).toMatchObject(final);
    expect(await persistent.next()).toEqual({ done: true, value: undefined });
  });
});

describe("AbortSignal and timeout", () => {
  it("an already-aborted signal rejects with its reason, and nothing is sent", async () => {
    await using proxy = await startProxy();
    await using zk = await connect(proxy.connectString);
    const reason = new Error("changed my mind");
    const signal = AbortSignal.abort(reason);
    const requests = () => proxy.frames.filter((f) => f.direction === "request" && f.opcode !== OpCode.ping);
    const before = requests().length;
    const p = fx.path("aborted");
    expect(await rejectionOf(zk.getData("/", { signal }))).toBe(reason);
    expect(await rejectionOf(zk.create(p, null, { signal }))).toBe(reason);
    expect(await rejectionOf(zk.setData("/", "x", { signal }))).toBe(reason);
    expect(await rejectionOf(zk.transaction().create(p).commit({ signal }))).toBe(reason);
    await zk.sync("/");
    expect(requests().length - before).toBe(1);
    expect(await fx.zk.exists(p)).toBeNull();
  });

  it("aborting a call in flight rejects it at once with the reason; later replies still line up", async () => {
    await using proxy = await startProxy();
    await using zk = await connect(proxy.connectString);
    const { path } = await zk.create(fx.path("in-flight"), "data");
    proxy.delay(300, "reply");
    const controller = new AbortController();
    const sent = proxy.waitForFrame((f) => f.direction === "request" && f.opcode === OpCode.getData);
    const aborted = zk.getData(path, { signal: controller.signal });
    const after = zk.getChildren(path);
    await sent;
    const reason = new Error("stop");
    const began = performance.now();
    controller.abort(reason);
    expect(await rejectionOf(aborted)).toBe(reason);
    expect(performance.now() - began).toBeLessThan(200);
    // The abandoned request's reply is read and dropped; the next reply goes to the next request.
    expect((await within(after, 5_000, "getChildren behind the aborted call")).children).toEqual([]);
    proxy.delay(0, "reply");
    expect(Buffer.from((await zk.getData(path)).data).toString()).toBe("data");
  });

  it("timeout: RequestTimeout when no reply comes in time (the request may still be applied)", async () => {
    await using proxy = await startProxy();
    await using zk = await connect(proxy.connectString);
    const { path } = await zk.create(fx.path("slow"), "v0");
    proxy.delay(400, "reply");
    const err = await zkError(zk.setData(path, "v1", { timeout: 50 }), "RequestTimeout");
    expect(err.code).toBe(ErrorCode.RequestTimeout);
    expect(err.op).toBe("setData");
    expect(err.path).toBe(path);
    proxy.delay(0, "reply");
    // The server did apply it: a timeout only means the caller stopped waiting.
    const { data, stat } = await within(zk.getData(path), 5_000, "getData after the timeout");
    expect(Buffer.from(data).toString()).toBe("v1");
    expect(stat.version).toBe(1);
    // A generous timeout does not fire.
    expect((await zk.exists(path, { timeout: 5_000 }))?.version).toBe(1);
  });

  // An addWatch aborted while in flight rejects, so the caller never gets the PersistentWatch and cannot
  // close it: when the server's reply arrives anyway, the client takes the watch off the server again.
  it("an addWatch aborted in flight leaves no watch behind", async (ctx) => {
    requires(ctx, "checkWatchesByType");
    await using proxy = await startProxy();
    await using zk = await connect(proxy.connectString);
    const { path } = await zk.create(fx.path("aborted-watch"));
    proxy.delay(200, "reply");
    const controller = new AbortController();
    const sent = proxy.waitForFrame((f) => f.direction === "request" && f.opcode === OpCode.addWatch);
    const adding = zk.addWatch(path, { signal: controller.signal });
    await sent;
    controller.abort(new Error("never mind"));
    await rejectionOf(adding);
    proxy.delay(0, "reply");
    expect(await zk.checkWatches(path, "persistent")).toBe(false);
  });
});
