/**
 * What a running client tells the outside world, against the real shared server: diagnostics_channel
 * messages (and that they cost nothing when nobody listens), the pluggable logger (and its silence when
 * none is given), state changes as events and as an async iterator, and the logger's `error` as the
 * place where a throwing watcher or listener is reported without breaking anything else.
 */
import { type Channel, channel, subscribe, unsubscribe } from "node:diagnostics_channel";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, inject, it, type MockInstance, vi } from "vitest";
import { type Logger, type SessionState, type WatchedEvent, ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/index.js";
import { type ProcessProblems, watchProcess } from "./support/fake-server.js";

const CHANNELS = ["zkwire:request", "zkwire:reply", "zkwire:state", "zkwire:watch"] as const;
type ChannelName = (typeof CHANNELS)[number];

function realServer(): string {
  return inject("zkConnect").split(",")[0]!;
}

let nodeCounter = 0;
function uniquePath(): string {
  return `/zkwire-observability-${process.pid}-${Date.now().toString(36)}-${nodeCounter++}`;
}

/** Awaits `p` for at most `ms`; "hung" if it did not settle by then. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | "hung"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then((value) => ({ value })),
      new Promise<"hung">((resolve) => {
        timer = setTimeout(() => resolve("hung"), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The sequence every test here drives: a node created, read with a watch, changed (which fires the
 * watch), deleted, and the session closed.
 */
async function createWatchChangeClose(zk: ZooKeeper): Promise<{ path: string; event: WatchedEvent }> {
  const path = uniquePath();
  await zk.create(path, "a");
  const { watch } = await zk.getData(path, { watch: true });
  await zk.setData(path, "b");
  const event = await watch;
  await zk.delete(path);
  await zk.close();
  return { path, event };
}

let guard: ProcessProblems;
beforeEach(() => {
  guard = watchProcess();
});
afterEach(async () => {
  await guard.settle();
  guard.dispose();
  expect(guard.problems, guard.problems.join("\n\n")).toEqual([]);
});

describe("diagnostics_channel", () => {
  it("publishes requests, replies, state changes and watch events, in order", async () => {
    const real = realServer();
    const seen: { name: ChannelName; message: Record<string, unknown> }[] = [];
    const handlers = CHANNELS.map((name) => {
      const handler = (message: unknown) => seen.push({ name, message: message as Record<string, unknown> });
      subscribe(name, handler);
      return [name, handler] as const;
    });
    const zk = new ZooKeeper(real, { sessionTimeout: 4_000 });
    let path = "";
    try {
      await zk.ready();
      ({ path } = await createWatchChangeClose(zk));
    } finally {
      for (const [name, handler] of handlers) unsubscribe(name, handler);
      await zk.close();
    }
    const session = zk.sessionId;

    // One line per message, so that a failure shows the whole story at once.
    const line: Record<ChannelName, (m: Record<string, unknown>) => string> = {
      "zkwire:request": (m) => `request ${m.opcode}`,
      "zkwire:reply": (m) => `reply ${m.opcode} err ${m.err}`,
      "zkwire:state": (m) => `state ${(m.from as SessionState).kind} -> ${(m.to as SessionState).kind}`,
      "zkwire:watch": (m) => `watch ${m.type} ${m.path === path ? "<path>" : m.path}`,
    };
    const story = seen.map(({ name, message }) => line[name](message));
    expect(story).toEqual([
      "state connecting -> connected",
      `request ${OpCode.create2}`,
      `reply ${OpCode.create2} err 0`,
      `request ${OpCode.getData}`,
      `reply ${OpCode.getData} err 0`,
      `request ${OpCode.setData}`,
      // The server queues the notification for a watcher on its own connection before the reply to
      // the change that fired it (FinalRequestProcessor applies the txn, which triggers the watch,
      // then answers), so the watch event comes first.
      "watch NodeDataChanged <path>",
      `reply ${OpCode.setData} err 0`,
      `request ${OpCode.delete}`,
      `reply ${OpCode.delete} err 0`,
      `request ${OpCode.closeSession}`,
      `reply ${OpCode.closeSession} err 0`,
      "state connected -> closed",
    ]);

    // The shapes.
    const of = (name: ChannelName) => seen.filter((s) => s.name === name).map((s) => s.message);
    // Every message names its session, so clients of one process can be told apart.
    const requests = of("zkwire:request");
    for (const m of requests) {
      expect(Object.keys(m).sort()).toEqual(["opcode", "session", "xid"]);
      expect(m.session).toBe(session);
    }
    const replies = of("zkwire:reply");
    for (const m of replies) {
      expect(Object.keys(m).sort()).toEqual(["err", "opcode", "session", "xid", "zxid"]);
      expect(m.session).toBe(session);
      expect(typeof m.zxid).toBe("bigint");
    }
    const xids = replies.map((m) => m.xid as number);
    expect(xids).toEqual([...xids].sort((a, b) => a - b));
    expect(new Set(xids).size).toBe(xids.length);
    // A request and its reply pair up by xid.
    expect(requests.map((m) => m.xid)).toEqual(xids);
    const [connected, closed] = of("zkwire:state");
    expect(connected).toEqual({
      session,
      from: { kind: "connecting" },
      to: { kind: "connected", host: real },
    });
    expect(closed).toEqual({ session, from: { kind: "connected", host: real }, to: { kind: "closed" } });
    const [watch] = of("zkwire:watch");
    expect(watch).toEqual({
      session,
      type: "NodeDataChanged",
      state: "SyncConnected",
      path,
      zxid: expect.any(BigInt),
    });
  });

  it("costs nothing when nobody subscribes: publish is never called", async () => {
    const real = realServer();
    // Vacuous unless nothing else in this worker listens.
    for (const name of CHANNELS) expect(channel(name).hasSubscribers, name).toBe(false);

    // channel(name) returns the very object the session publishes on (the session module holds it, so
    // the registry cannot have dropped it). A spy on its publish counts every call the session makes.
    // The session builds each message inside the argument list of a publish guarded by
    // hasSubscribers, so no call means no message object either (the watch event excepted: it is
    // built for the watchers anyway).
    const spyAll = () => spyOnPublish(CHANNELS.map((name) => channel(name)));
    let spies = spyAll();
    try {
      const zk = await ZooKeeper.connect(real, { sessionTimeout: 4_000 });
      await createWatchChangeClose(zk);
      for (const [i, spy] of spies.entries()) expect(spy.calls, CHANNELS[i]).toBe(0);
    } finally {
      for (const spy of spies) spy.restore();
    }

    // The control: with a subscriber, the same spies do count, so zero above was measured, not assumed.
    const noop = () => {};
    for (const name of CHANNELS) subscribe(name, noop);
    spies = spyAll();
    try {
      const zk = await ZooKeeper.connect(real, { sessionTimeout: 4_000 });
      await createWatchChangeClose(zk);
      for (const [i, spy] of spies.entries()) expect(spy.calls, CHANNELS[i]).toBeGreaterThan(0);
    } finally {
      for (const spy of spies) spy.restore();
      for (const name of CHANNELS) unsubscribe(name, noop);
    }
  });
});

/** Counts calls to each channel's publish, passing them on; `restore` leaves the channel as it was. */
function spyOnPublish(channels: Channel[]): { readonly calls: number; restore(): void }[] {
  return channels.map((ch) => {
    // publish lives on the prototype (which node swaps when the first subscriber arrives); the spy is an
    // own property shadowing it, and must go entirely afterwards or it would pin today's prototype's
    // publish on the channel for good.
    const hadOwn = Object.hasOwn(ch, "publish");
    const spy: MockInstance = vi.spyOn(ch, "publish");
    return {
      get calls() {
        return spy.mock.calls.length;
      },
      restore() {
        spy.mockRestore();
        if (!hadOwn && Object.hasOwn(ch, "publish")) delete (ch as { publish?: unknown }).publish;
      },
    };
  });
}

describe("logger", () => {
  it("is silent by default: nothing reaches the console", async () => {
    const real = realServer();
    const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
    const spies = methods.map((m) => vi.spyOn(console, m));
    try {
      // A refused host first (HostList keeps the given order with random() just under 1), a watcher
      // that throws, and a normal life: the paths that would log if a logger were given.
      const zk = await ZooKeeper.connect(`127.0.0.1:1,${real}`, {
        sessionTimeout: 4_000,
        backoff: [1, 10],
        random: () => 0.999,
      });
      const path = uniquePath();
      await zk.create(path, "a");
      await zk.getData(path, {
        watch: () => {
          throw new Error("a watcher that throws, with nobody to tell");
        },
      });
      await zk.setData(path, "b");
      await zk.delete(path);
      await zk.close();
      for (const [i, spy] of spies.entries()) expect(spy.mock.calls, `console.${methods[i]}`).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("a given logger hears the session established and every state change", async () => {
    const real = realServer();
    const calls: { level: string; message: string; fields: unknown }[] = [];
    const logger: Logger = {
      debug: (message, fields) => calls.push({ level: "debug", message, fields }),
      info: (message, fields) => calls.push({ level: "info", message, fields }),
      warn: (message, fields) => calls.push({ level: "warn", message, fields }),
      error: (message, fields) => calls.push({ level: "error", message, fields }),
    };
    const zk = await ZooKeeper.connect(real, { sessionTimeout: 4_000, logger });
    await zk.close();
    expect(calls).toEqual([
      {
        level: "info",
        message: "session established",
        fields: {
          host: real,
          sessionId: `0x${zk.sessionId.toString(16)}`,
          timeout: zk.sessionTimeout,
          readOnly: false,
        },
      },
      { level: "debug", message: "state", fields: { from: "connecting", to: "connected" } },
      { level: "debug", message: "state", fields: { from: "connected", to: "closed" } },
    ]);
  });

  it("a logger with only some methods is enough", async () => {
    const infos: string[] = [];
    const zk = await ZooKeeper.connect(realServer(), {
      sessionTimeout: 4_000,
      logger: { info: (message) => infos.push(message) },
    });
    await zk.close();
    expect(infos).toEqual(["session established"]);
  });
});

describe("state changes", () => {
  it("events and the async iterator both see connecting -> connected -> closed; the iterator ends", async () => {
    const zk = new ZooKeeper(realServer(), { sessionTimeout: 4_000 });
    const events: string[] = [];
    zk.on("state", (state, previous) => events.push(`${previous.kind} -> ${state.kind}`));
    const iterated: string[] = [];
    // Started before the first change: the generator's body (and its listener) starts with next().
    const iterating = (async () => {
      for await (const s of zk.states()) iterated.push(s.kind);
    })();
    await zk.ready();
    await zk.close();
    expect(await within(iterating, 2_000), "the iterator ends after closed").not.toBe("hung");
    expect(events).toEqual(["connecting -> connected", "connected -> closed"]);
    // The iterator yields changes; "connecting" is where it starts, never a change.
    expect(iterated).toEqual(["connected", "closed"]);
    // Only the test's own listener is left: the iterator removed its one.
    expect(zk.listenerCount("state")).toBe(1);
  });

  it("an iterator listens from its creation, and one begun after the session ended ends at once", async () => {
    const zk = await ZooKeeper.connect(realServer(), { sessionTimeout: 4_000 });
    // Created while open, first pulled after close: it listens from its creation, so it yields the
    // close and then ends. Created after close: it ends at once.
    const early = zk.states();
    await zk.close();
    const outcomes = {
      "created before close, pulled after": [
        await within(early.next(), 1_000),
        await within(early.next(), 1_000),
      ],
      "created after close": [await within(zk.states().next(), 1_000)],
    };
    const ended = { value: { done: true, value: undefined } };
    expect(outcomes).toEqual({
      "created before close, pulled after": [{ value: { done: false, value: { kind: "closed" } } }, ended],
      "created after close": [ended],
    });
    expect(zk.listenerCount("state")).toBe(0);
  });

  it("aborting the signal ends the iterator, and an aborted signal ends it at once", async () => {
    const zk = await ZooKeeper.connect(realServer(), { sessionTimeout: 4_000 });
    try {
      const ac = new AbortController();
      const seen: string[] = [];
      const iterating = (async () => {
        for await (const s of zk.states(ac.signal)) seen.push(s.kind);
      })();
      await sleep(20);
      expect(zk.listenerCount("state")).toBe(1);
      ac.abort();
      expect(await within(iterating, 1_000), "ends on abort").not.toBe("hung");
      expect(seen).toEqual([]);
      expect(zk.listenerCount("state")).toBe(0);

      const done = await within(zk.states(AbortSignal.abort()).next(), 1_000);
      expect(done).toEqual({ value: { done: true, value: undefined } });
      expect(zk.listenerCount("state")).toBe(0);
    } finally {
      await zk.close();
    }
  });

  it("leaving the loop early removes the iterator's listener", async () => {
    const zk = new ZooKeeper(realServer(), { sessionTimeout: 4_000 });
    try {
      for await (const s of zk.states()) {
        expect(s.kind).toBe("connected");
        break;
      }
      expect(zk.listenerCount("state")).toBe(0);
    } finally {
      await zk.close();
    }
  });
});

describe("throwing callbacks", () => {
  it("a watcher that throws is reported to logger.error; other watchers and the session carry on", async () => {
    const errors: { message: string; fields: unknown }[] = [];
    const zk = await ZooKeeper.connect(realServer(), {
      sessionTimeout: 4_000,
      logger: { error: (message, fields) => errors.push({ message, fields }) },
    });
    try {
      const path = uniquePath();
      await zk.create(path, "a");
      const boom = new Error("watcher boom");
      // Registered first, so it runs before the other watcher of the same event.
      await zk.getData(path, {
        watch: () => {
          throw boom;
        },
      });
      const { watch } = await zk.getData(path, { watch: true });
      await zk.setData(path, "b");
      const event = await within(watch, 2_000);
      expect(event, "the second watcher still fires").toEqual({
        value: { type: "NodeDataChanged", state: "SyncConnected", path, zxid: expect.any(BigInt) },
      });
      expect(errors).toEqual([
        {
          message: "a watcher threw",
          fields: {
            error: boom,
            event: { type: "NodeDataChanged", state: "SyncConnected", path, zxid: expect.any(BigInt) },
          },
        },
      ]);
      expect(zk.state.kind).toBe("connected");
      expect((await zk.getData(path)).data).toEqual(Buffer.from("b"));

      // And on the final event at close: reported, and close() still completes.
      const bang = new Error("final event boom");
      await zk.exists(path, {
        watch: () => {
          throw bang;
        },
      });
      await zk.delete(path);
      // delete fired that exists watch (NodeDeleted); one more, left for close.
      await zk.exists(path, {
        watch: () => {
          throw bang;
        },
      });
      expect(await within(zk.close(), 3_000)).not.toBe("hung");
      expect(errors.slice(1).map((e) => e.message)).toEqual(["a watcher threw", "a watcher threw"]);
      expect(errors.slice(1).map((e) => (e.fields as { event: WatchedEvent }).event.type)).toEqual([
        "NodeDeleted",
        "None",
      ]);
      expect(zk.state.kind).toBe("closed");
    } finally {
      await zk.close();
    }
  });

  it("a state listener that throws is reported and does not keep later listeners from the change", async () => {
    const errors: { message: string; fields: unknown }[] = [];
    const zk = new ZooKeeper(realServer(), {
      sessionTimeout: 4_000,
      logger: { error: (message, fields) => errors.push({ message, fields }) },
    });
    const boom = new Error("listener boom");
    zk.on("state", () => {
      throw boom;
    });
    const later: string[] = [];
    zk.on("state", (s) => later.push(s.kind));
    try {
      await zk.ready();
      await zk.close();
      expect(errors.map((e) => e.message)).toEqual(["a state listener threw", "a state listener threw"]);
      expect((errors[0]!.fields as { error: unknown }).error).toBe(boom);
      // As with watchers: one callback's exception must not cost the others their event.
      expect(later).toEqual(["connected", "closed"]);
    } finally {
      await zk.close();
    }
  });
});
