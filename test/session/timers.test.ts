/**
 * The session's timer rules, driven in milliseconds through its seams (src/session/clock.ts): a manual
 * clock and sockets that are only what the test writes into them, no server. The same rules are tested
 * against real servers (through the fault proxy) in session.test.ts and test/resilience; these say
 * exactly where each boundary lies, which a real clock on a loaded machine cannot.
 *
 *   ping after T/3 of quiet; the connection dead after 2T/3 without a byte; each connect attempt gets
 *   T / (number of hosts); cut off from every server for T, the session is expired. With many requests
 *   in flight, a read is followed by a 1 ms wait before the next (src/session/read-pacing.ts).
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { OpCode, Xid } from "../../src/protocol/constants.js";
import { encode } from "../../src/protocol/jute.js";
import { Operations } from "../../src/protocol/operations.js";
import { ConnectResponse } from "../../src/protocol/records/connect.js";
import type { Clock, SocketLike, Transport } from "../../src/session/clock.js";
import { parseConnectString } from "../../src/session/connect-string.js";
import { encodeFrame } from "../../src/session/depot.js";
import { silentLogger } from "../../src/session/logger.js";
import { HOLD_MS, MIN_IN_FLIGHT } from "../../src/session/read-pacing.js";
import { Session } from "../../src/session/session.js";

/** Time moves only when the test says so; due timers run in order, each followed by its promise work. */
class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves the clock forward by `ms`, running every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= target && (due === undefined || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
      await settle();
    }
    this.time = target;
    await settle();
  }
}

/** Lets promise continuations and nextTick work (the depot's flush) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A socket that records what the session writes and emits only what the test tells it to. */
class FakeSocket extends EventEmitter implements SocketLike {
  readonly written: Buffer[] = [];
  destroyed = false;
  paused = false;
  /** What the server sent while the socket was paused, read on resume(). */
  private readonly unread: Buffer[] = [];
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    for (let b = this.unread.shift(); b !== undefined && !this.paused; b = this.unread.shift())
      this.emit("data", b);
    return this;
  }
  /** Bytes from the server: read now, or on resume() when paused. `full`: as if they filled the buffer. */
  feed(bytes: Buffer, full = false): void {
    if (this.paused) this.unread.push(bytes);
    else this.emit("data", bytes, full);
  }
  write(bytes: Buffer): boolean {
    this.written.push(Buffer.from(bytes));
    return true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  setNoDelay(): this {
    return this;
  }
  /** Request frames written after the ConnectRequest, as [xid, opcode]. */
  requests(): [number, number][] {
    const out: [number, number][] = [];
    for (const b of this.written.slice(1)) {
      for (let o = 0; o < b.length; o += 4 + b.readInt32BE(o))
        out.push([b.readInt32BE(o + 4), b.readInt32BE(o + 8)]);
    }
    return out;
  }
  /** Answers the handshake as a server granting `timeOut`. */
  accept(timeOut: number): void {
    const body = encode(ConnectResponse, {
      protocolVersion: 0,
      timeOut,
      sessionId: 0x1234n,
      passwd: new Uint8Array(16),
      readOnly: false,
    });
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length);
    this.feed(Buffer.concat([len, body]));
  }
  /** A ping's reply: ReplyHeader{xid -2, zxid, err 0}. */
  pong(): void {
    const frame = Buffer.alloc(20);
    frame.writeInt32BE(16, 0);
    frame.writeInt32BE(Xid.ping, 4);
    frame.writeBigInt64BE(0n, 8);
    frame.writeInt32BE(0, 16);
    this.feed(frame);
  }
  /** sync's replies (ReplyHeader, then the path "/") to the given xids, in one read. */
  syncReplies(xids: readonly number[], full = false): void {
    const frames = xids.map((xid) => {
      const frame = Buffer.alloc(25);
      frame.writeInt32BE(21, 0);
      frame.writeInt32BE(xid, 4);
      frame.writeBigInt64BE(1n, 8);
      frame.writeInt32BE(0, 16);
      frame.writeInt32BE(1, 20);
      frame.write("/", 24);
      return frame;
    });
    this.feed(Buffer.concat(frames), full);
  }
}

function harness(connect: string, sessionTimeout: number, readPacing = true, tls?: object) {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const transport: Transport = (_address, _tls, onRead) => {
    const socket = new FakeSocket();
    socket.on("data", (chunk: Buffer, full?: boolean) => onRead(chunk, false, full === true));
    sockets.push(socket);
    return { socket, openEvent: "connect" };
  };
  const session = new Session({
    connectString: parseConnectString(connect),
    sessionTimeout,
    connectTimeout: 60_000,
    readOnly: false,
    resume: undefined,
    tls,
    maxPacketSize: 1 << 20,
    readPacing,
    sasl: undefined,
    logger: silentLogger,
    backoff: [50, 1_000],
    random: () => 0,
    clock,
    transport,
  });
  const started = session.start();
  started.catch(() => undefined);
  return { clock, sockets, session, started };
}

/** A session established on its first socket at clock time 0, granted T ms. */
async function established(t: number, readPacing = true, tls?: object) {
  const h = harness("127.0.0.1:2181", t, readPacing, tls);
  await settle();
  const socket = h.sockets[0]!;
  socket.emit("connect");
  await settle();
  socket.accept(t);
  await h.started;
  expect(h.session.state.kind).toBe("connected");
  return { ...h, socket };
}

describe("timer rules (manual clock, no server)", () => {
  it("pings after T/3 without sending, and not before", async () => {
    const { clock, socket } = await established(3_000);
    await clock.advance(999);
    expect(socket.requests()).toEqual([]);
    await clock.advance(1);
    expect(socket.requests()).toEqual([[Xid.ping, OpCode.ping]]);
  });

  it("a request written meanwhile pushes the ping back: T/3 counts from the last write", async () => {
    const { clock, socket, session } = await established(3_000);
    await clock.advance(600);
    session.submit(Operations.sync, encodeFrame(Operations.sync, { path: "/" })).catch(() => undefined);
    await settle();
    expect(socket.requests()).toEqual([[1, OpCode.sync]]);
    await clock.advance(999); // 1599
    expect(socket.requests()).toEqual([[1, OpCode.sync]]);
    await clock.advance(1); // 1600 = 600 + T/3
    expect(socket.requests()).toEqual([
      [1, OpCode.sync],
      [Xid.ping, OpCode.ping],
    ]);
  });

  it("the connection is dead after 2T/3 without a byte, and not before", async () => {
    const { clock, socket, session } = await established(3_000);
    await clock.advance(1_999);
    expect(socket.destroyed).toBe(false);
    expect(session.state.kind).toBe("connected");
    await clock.advance(1);
    expect(socket.destroyed).toBe(true);
    expect(session.state.kind).toBe("disconnected");
  });

  it("a ping's answer keeps the connection alive past 2T/3", async () => {
    const { clock, socket, session } = await established(3_000);
    await clock.advance(1_000); // the ping
    await clock.advance(500);
    socket.pong(); // heard at 1500: dead no sooner than 3500
    await clock.advance(1_999);
    expect(socket.destroyed).toBe(false);
    expect(session.state.kind).toBe("connected");
    await clock.advance(1);
    expect(socket.destroyed).toBe(true);
  });

  it("each connect attempt gets T / (number of hosts)", async () => {
    const { clock, sockets } = harness("10.0.0.1:1,10.0.0.2:2,10.0.0.3:3", 3_000);
    await settle();
    expect(sockets).toHaveLength(1);
    await clock.advance(999);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.destroyed).toBe(false);
    await clock.advance(1);
    expect(sockets[0]!.destroyed).toBe(true);
    expect(sockets).toHaveLength(2);
    await clock.advance(1_000);
    expect(sockets[1]!.destroyed).toBe(true);
    expect(sockets).toHaveLength(3);
  });

  it("cut off from every server for T, the session is expired and pending requests fail with SessionExpired", async () => {
    const { clock, socket, session, sockets } = await established(3_000);
    await clock.advance(500);
    socket.emit("close"); // the server went away at 500; last heard from at 0
    await settle();
    expect(session.state.kind).toBe("disconnected");
    const pending = session.submit(Operations.sync, encodeFrame(Operations.sync, { path: "/" }));
    const outcome = pending.then(
      () => "resolved",
      (f: { code: number }) => f.code,
    );
    await clock.advance(2_499);
    expect(session.state.kind).toBe("disconnected");
    expect(sockets.length).toBeGreaterThan(1); // it kept trying meanwhile
    await clock.advance(1);
    expect(session.state.kind).toBe("expired");
    expect(await outcome).toBe(-112); // SessionExpired
  });
});

describe("read pacing (manual clock, no server)", () => {
  /** `n` syncs submitted and written (xids 1..n); their outcomes, "ok" once answered. */
  async function inFlight(session: Session, n: number) {
    const outcomes: string[] = [];
    for (let i = 0; i < n; i++)
      session.submit(Operations.sync, encodeFrame(Operations.sync, { path: "/" })).then(
        () => outcomes.push("ok"),
        () => outcomes.push("failed"),
      );
    await settle();
    return outcomes;
  }
  const xids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it(`with ${MIN_IN_FLIGHT} or more in flight a read is followed by a ${HOLD_MS} ms wait; what lands meanwhile is read after it`, async () => {
    const { clock, socket, session } = await established(30_000);
    const outcomes = await inFlight(session, 40);
    expect(socket.requests()).toHaveLength(40);
    socket.syncReplies(xids(1, 4)); // 36 left in flight
    await settle();
    expect(outcomes).toHaveLength(4);
    expect(socket.paused).toBe(true);
    socket.syncReplies(xids(5, 8));
    await settle();
    expect(outcomes).toHaveLength(4); // waiting in the kernel's buffer
    await clock.advance(HOLD_MS);
    expect(outcomes).toHaveLength(8);
    expect(socket.paused).toBe(true); // 32 still in flight
    socket.syncReplies(xids(9, 40));
    await clock.advance(HOLD_MS);
    expect(outcomes).toEqual(Array(40).fill("ok"));
    expect(socket.paused).toBe(false); // nothing in flight: the next read is taken at once
  });

  it(`below ${MIN_IN_FLIGHT} in flight every read is taken at once`, async () => {
    const { socket, session } = await established(30_000);
    const outcomes = await inFlight(session, MIN_IN_FLIGHT);
    socket.syncReplies([1]);
    await settle();
    expect(outcomes).toEqual(["ok"]);
    expect(socket.paused).toBe(false);
    socket.syncReplies([2]);
    await settle();
    expect(outcomes).toEqual(["ok", "ok"]);
  });

  it.each([
    ["with readPacing off", false, undefined],
    ["over TLS", true, {}],
  ])("%s every read is taken at once", async (_, readPacing, tls) => {
    const { socket, session } = await established(30_000, readPacing, tls);
    const outcomes = await inFlight(session, 40);
    socket.syncReplies([1]);
    await settle();
    expect(socket.paused).toBe(false);
    socket.syncReplies([2]);
    await settle();
    expect(outcomes).toEqual(["ok", "ok"]);
  });

  it("a read that filled the buffer is followed by the next at once; the one that did not, by a wait", async () => {
    const { socket, session } = await established(30_000);
    const outcomes = await inFlight(session, 40);
    socket.syncReplies([1, 2], true);
    await settle();
    expect(socket.paused).toBe(false);
    socket.syncReplies([3]);
    await settle();
    expect(socket.paused).toBe(true);
    expect(outcomes).toHaveLength(3);
  });

  it("a connection that ends during a wait does not read again, and its requests fail", async () => {
    const { clock, socket, session } = await established(30_000);
    const outcomes = await inFlight(session, 40);
    socket.syncReplies([1]);
    await settle();
    expect(socket.paused).toBe(true);
    socket.emit("close");
    await clock.advance(HOLD_MS);
    expect(socket.paused).toBe(true); // the wait's timer went with the connection
    expect(outcomes.filter((o) => o === "failed")).toHaveLength(39);
  });
});
