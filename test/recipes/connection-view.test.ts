/**
 * ConnectionView: Curator's connection states from the session's, as events and an async iterable,
 * against the shared server through a fault proxy (a cut, a partition past the session timeout, a
 * renewed session, close).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ConnectionState, ConnectionView, ZooKeeper } from "../../src/index.js";
import type { FaultProxy } from "../../src/testing/proxy.js";
import { proxyTo } from "../support/proxy.js";
import { waitForState } from "../support/wait.js";

const connect = inject("zkConnect");
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await proxyTo(connect);
});

afterAll(async () => {
  await proxy.close();
});

describe("ConnectionView", () => {
  it("connected, suspended, reconnected, lost (past the session timeout), reconnected with a new session", async () => {
    const zk = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 2_000,
      renewSessionOnExpiry: true,
    });
    const view = new ConnectionView(zk);
    expect(view.state).toBe("connected");
    expect(view.isConnected).toBe(true);
    const seen: ConnectionState[] = [];
    const iterated = (async () => {
      for await (const state of view) seen.push(state);
    })();
    const events: [ConnectionState, ConnectionState | null][] = [];
    view.on("change", (s, p) => events.push([s, p]));

    proxy.dropAll(); // a cut: the client reconnects with its session
    await waitForState(zk, "disconnected", 5_000);
    await waitForState(zk, "connected", 10_000);
    const session = zk.sessionId;
    proxy.blackhole(undefined, "drop"); // silence past the session timeout: lost
    await waitForState(zk, "expired", 10_000);
    expect(view.state).toBe("lost");
    expect(view.isConnected).toBe(false);
    proxy.release();
    await waitForState(zk, "connected", 20_000);
    expect(zk.sessionId).not.toBe(session);
    await zk.close();
    await iterated; // close() of the client ends the iterable after "lost"
    expect(seen).toEqual(["suspended", "reconnected", "suspended", "lost", "reconnected", "lost"]);
    expect(events[0]).toEqual(["suspended", "connected"]);
    expect(events.map((e) => e[0])).toEqual(seen);
  });

  it("an iterator ends on break, on its signal, and on view.close()", async () => {
    await using zk = await ZooKeeper.connect(connect);
    const view = new ConnectionView(zk);
    const ac = new AbortController();
    const bySignal = view.changes(ac.signal);
    ac.abort();
    expect((await bySignal.next()).done).toBe(true);
    const byClose = view.changes();
    view.close();
    expect((await byClose.next()).done).toBe(true);
  });
});
