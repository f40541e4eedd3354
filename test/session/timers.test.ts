/**
 * The session's timer rules, driven in milliseconds through its seams (src/session/clock.ts): a manual
 * clock and sockets that are only what the test writes into them, no server. The same rules are tested
 * against real servers (through the fault proxy) in session.test.ts and test/resilience; these say
 * exactly where each boundary lies, which a real clock on a loaded machine cannot.
 *
 *   ping after T/3 of quiet; the connection dead after 2T/3 without a byte; each connect attempt gets
 *   T / (number of hosts); cut off from every server for T, the session is expired.
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
    this.emit("data", Buffer.concat([len, body]));
  }
  /** A ping's reply: ReplyHeader{xid -2, zxid, err 0}. */
  pong(): void {
    const frame = Buffer.alloc(20);
    frame.writeInt32BE(16, 0);
    frame.writeInt32BE(Xid.ping, 4);
    frame.writeBigInt64BE(0n, 8);
    frame.writeInt32BE(0, 16);
    this.emit("data", frame);
  }
}

function harness(connect: string, sessionTimeout: number) {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const transport: Transport = (_address, _tls, onRead) => {
    const socket = new FakeSocket();
    socket.on("data", (chunk: Buffer) => onRead(chunk, false));
    sockets.push(socket);
    return { socket, openEvent: "connect" };
  };
  const session = new Session({
    connectString: parseConnectString(connect),
    sessionTimeout,
    connectTimeout: 60_000,
    readOnly: false,
    resume: undefined,
    tls: undefined,
    maxPacketSize: 1 << 20,
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
async function established(t: number) {
  const h = harness("127.0.0.1:2181", t);
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
