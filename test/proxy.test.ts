/**
 * FaultProxy between a raw client socket and an in-test peer that speaks ZooKeeper's framing (a real
 * server cannot be told to answer late or lose a reply), and once in front of a real ZooKeeper.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { setImmediate as macrotask, setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ConnectRequest,
  ConnectResponse,
  CreateRequest,
  decode,
  EventType,
  ExistsRequest,
  encode,
  FrameDecoder,
  JuteReader,
  KeeperState,
  OpCode,
  Perms,
  ReplyHeader,
  RequestHeader,
  WatcherEvent,
  Xid,
} from "../src/protocol/index.js";
import { fourLetterWord } from "../src/testing/four-letter-word.js";
import { FaultProxy } from "../src/testing/proxy.js";
import { startZooKeeper, type ZooKeeperCluster } from "../src/testing/zookeeper.js";

/** Each run opens real sockets, so fewer than the codec's pure property tests. */
const numRuns = Number(process.env.FC_NET_RUNS ?? 40);
const HOST = "127.0.0.1";

function frame(...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function request(xid: number, opcode: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  return frame(encode(RequestHeader, { xid, type: opcode }), payload);
}

const CONNECT = frame(
  encode(ConnectRequest, {
    protocolVersion: 0,
    lastZxidSeen: 0n,
    timeOut: 10_000,
    sessionId: 0n,
    passwd: Buffer.alloc(16),
  }),
);

/** Cuts `stream` at the given points (modulo its length). */
function split(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    if (p > prev) chunks.push(stream.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Seen {
  readonly conn: number;
  readonly connect: boolean;
  readonly xid?: number;
  readonly opcode?: number;
  /** performance.now() when the request arrived. */
  readonly at: number;
}

/**
 * Answers a ConnectRequest with a ConnectResponse carrying `sessionId`, and each request with a
 * ReplyHeader of the same xid followed by the request's own payload (so replies have a size to chunk);
 * an exists request also triggers a NodeCreated notification after its reply.
 */
class FakeZooKeeper {
  readonly seen: Seen[] = [];
  /** 'data' events per connection: how the bytes arrived. */
  readonly dataEvents: number[] = [];
  readonly #sockets = new Set<Socket>();
  #zxid = 100n;

  readonly server = createServer((socket) => this.#serve(socket));
  port = 0;

  private constructor(readonly sessionId: bigint) {}

  static async start(sessionId = 0x1234n): Promise<FakeZooKeeper> {
    const fake = new FakeZooKeeper(sessionId);
    fake.port = await listen(fake.server);
    return fake;
  }

  get requests(): number[] {
    return this.seen.filter((s) => !s.connect).map((s) => s.xid!);
  }

  seenAt(xid: number): number {
    return this.seen.find((s) => s.xid === xid)!.at;
  }

  #serve(socket: Socket): void {
    const conn = this.dataEvents.push(0) - 1;
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
    const decoder = new FrameDecoder();
    socket.on("data", (chunk: Buffer) => {
      this.dataEvents[conn]!++;
      decoder.push(chunk, (body) => {
        if (this.seen.every((s) => s.conn !== conn)) {
          this.seen.push({ conn, connect: true, at: performance.now() });
          const passwd = Buffer.alloc(16, 1);
          socket.write(
            frame(
              encode(ConnectResponse, {
                protocolVersion: 0,
                timeOut: 10_000,
                sessionId: this.sessionId,
                passwd,
              }),
            ),
          );
          return;
        }
        const h = RequestHeader.read(new JuteReader(body));
        this.seen.push({ conn, connect: false, xid: h.xid, opcode: h.type, at: performance.now() });
        socket.write(
          frame(encode(ReplyHeader, { xid: h.xid, zxid: ++this.#zxid, err: 0 }), body.subarray(8)),
        );
        if (h.type === OpCode.exists) {
          const event = { type: EventType.NodeCreated, state: KeeperState.SyncConnected, path: "/n" };
          const header = { xid: Xid.notification, zxid: -1n, err: 0 };
          socket.write(frame(encode(ReplyHeader, header), encode(WatcherEvent, event)));
        }
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await closeServer(this.server);
  }
}

/** A raw client socket: writes pre-encoded frames, collects what comes back as chunks and as frames. */
class TestClient {
  readonly chunks: Buffer[] = [];
  /** Reply bodies, the ConnectResponse first, and when each arrived (performance.now()). */
  readonly frames: Buffer[] = [];
  readonly arrivals: number[] = [];
  readonly closed: Promise<void>;
  readonly #decoder = new FrameDecoder();
  #garbled = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      // The pass-through property sends garbage too; past it there are no frames to collect.
      if (!this.#garbled) {
        try {
          this.#decoder.push(chunk, (body) => {
            this.frames.push(Buffer.from(body));
            this.arrivals.push(performance.now());
          });
        } catch {
          this.#garbled = true;
        }
      }
    });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  static async connect(port: number): Promise<TestClient> {
    const socket = connect({ host: HOST, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new TestClient(socket);
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  async handshake(): Promise<ConnectResponse> {
    this.send(CONNECT);
    await vi.waitFor(() => expect(this.frames.length).toBeGreaterThan(0));
    return ConnectResponse.read(new JuteReader(this.frames[0]!));
  }

  /** xids of the replies after the ConnectResponse. */
  get replies(): number[] {
    return this.frames.slice(1).map((body) => body.readInt32BE(0));
  }
}

describe("FaultProxy against a framing peer", () => {
  let zk: FakeZooKeeper;
  let proxy: FaultProxy;

  beforeEach(async () => {
    zk = await FakeZooKeeper.start();
    proxy = await FaultProxy.start({ target: { host: HOST, port: zk.port } });
  });

  afterEach(async () => {
    await proxy.close();
    await zk.close();
  });

  it("passes any bytes both ways unchanged, framed or not, for any chunking, FIN included", async () => {
    // A peer that records everything until the client's FIN, then sends its script and its own FIN.
    let script: Buffer[] = [];
    let onServerDone: (bytes: Buffer) => void = () => {};
    const peer = createServer({ allowHalfOpen: true }, (socket) => {
      const got: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => got.push(chunk));
      socket.on("end", async () => {
        onServerDone(Buffer.concat(got));
        for (const chunk of script) {
          socket.write(chunk);
          await macrotask();
        }
        socket.end();
      });
    });
    proxy.retarget({ host: HOST, port: await listen(peer) });

    const framed = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 });
    const stream = fc
      .record({ bodies: framed, garbage: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 })) })
      .map(({ bodies, garbage }) => ({
        frames: bodies.length,
        bytes: Buffer.concat([...bodies.map((b) => frame(b)), garbage ?? Buffer.alloc(0)]),
      }));
    const cuts = fc.array(fc.nat(), { maxLength: 12 });

    await fc.assert(
      fc.asyncProperty(stream, cuts, stream, cuts, async (up, upCuts, down, downCuts) => {
        script = split(down.bytes, downCuts);
        const serverGot = new Promise<Buffer>((resolve) => (onServerDone = resolve));
        const before = proxy.stats;
        const client = await TestClient.connect(proxy.port);
        for (const chunk of split(up.bytes, upCuts)) {
          client.socket.write(chunk);
          await macrotask();
        }
        client.socket.end();
        expect(await serverGot).toEqual(up.bytes);
        await client.closed;
        expect(Buffer.concat(client.chunks)).toEqual(down.bytes);
        // Garbage after the frames may happen to parse as more frames, hence at least.
        expect(proxy.stats.requestFrames - before.requestFrames).toBeGreaterThanOrEqual(up.frames);
        expect(proxy.stats.replyFrames - before.replyFrames).toBeGreaterThanOrEqual(down.frames);
      }),
      { numRuns },
    );
    await closeServer(peer);
  });

  it("logs frames with their headers, connect frames marked, and counts notifications", async () => {
    const observed: number[] = [];
    proxy.onFrame((f) => observed.push(f.size));
    const client = await TestClient.connect(proxy.port);
    const notified = proxy.waitForFrame((f) => f.xid === Xid.notification);
    await client.handshake();
    client.send(request(1, OpCode.exists, encode(ExistsRequest, { path: "/n", watch: true })));
    await notified;
    const frames = proxy.frames.map(({ at: _, size: __, ...f }) => f);
    expect(frames).toEqual([
      { conn: 1, direction: "request", kind: "connect", sessionId: 0n },
      { conn: 1, direction: "reply", kind: "connect", sessionId: 0x1234n },
      { conn: 1, direction: "request", kind: "message", xid: 1, opcode: OpCode.exists },
      { conn: 1, direction: "reply", kind: "message", xid: 1, zxid: 101n, err: 0 },
      { conn: 1, direction: "reply", kind: "message", xid: Xid.notification, zxid: -1n, err: 0 },
    ]);
    expect(observed).toEqual(proxy.frames.map((f) => f.size));
    expect(proxy.stats).toMatchObject({ accepted: 1, requestFrames: 2, replyFrames: 3, notifications: 1 });
    expect(proxy.connections.map((c) => c.sessionId)).toEqual([0x1234n]);
  });

  it("dropOnRequest: the server gets the request, the client gets an end instead of the reply", async () => {
    const dropped = proxy.dropOnRequest((r) => r.opcode === OpCode.create);
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    client.send(request(1, OpCode.getData), request(2, OpCode.create, Buffer.from("payload")));
    expect(await dropped).toBe(2);
    await client.closed;
    expect(client.replies).toEqual([1]);
    expect(zk.requests).toEqual([1, 2]);
    expect(proxy.stats.cuts).toBe(1);
  });

  it("dropOnRequest on the handshake: the server opened a session the client never hears of", async () => {
    const dropped = proxy.dropOnRequest((r) => r.connect);
    const client = await TestClient.connect(proxy.port);
    client.send(CONNECT);
    expect(await dropped).toBe(0);
    await client.closed;
    expect(client.frames).toEqual([]);
    expect(zk.seen).toMatchObject([{ conn: 0, connect: true }]);
  });

  it("dropOnRequest afterRequest: cuts right behind the request, whatever the server does", async () => {
    const dropped = proxy.dropOnRequest((r) => r.xid === 2, { when: "afterRequest" });
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    client.send(request(1, OpCode.getData), request(2, OpCode.create), request(3, OpCode.getData));
    expect(await dropped).toBe(2);
    await client.closed;
    await vi.waitFor(() => expect(zk.requests).toEqual([1, 2]));
    expect(client.replies.every((xid) => xid === 1)).toBe(true);
  });

  it("dropAfterReply delivers exactly that reply, then closes", async () => {
    const done = proxy.dropAfterReply(2);
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    client.send(request(1, OpCode.getData), request(2, OpCode.getData), request(3, OpCode.getData));
    await done;
    await client.closed;
    expect(client.replies).toEqual([1, 2]);
  });

  it("dropAfterFrames counts frames in one direction; sticky applies to new connections", async () => {
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    proxy.dropAfterFrames(2, { direction: "reply" });
    client.send(request(1, OpCode.getData), request(2, OpCode.getData), request(3, OpCode.getData));
    await client.closed;
    expect(client.replies).toEqual([1, 2]);

    proxy.dropAfterFrames(1, { direction: "reply", sticky: true });
    const next = await TestClient.connect(proxy.port);
    await next.handshake();
    next.send(request(1, OpCode.getData));
    await next.closed;
    expect(next.replies).toEqual([]);
  });

  it("dropAll cuts every live connection", async () => {
    const a = await TestClient.connect(proxy.port);
    const b = await TestClient.connect(proxy.port);
    await Promise.all([a.handshake(), b.handshake()]);
    proxy.dropAll();
    await Promise.all([a.closed, b.closed]);
    expect(proxy.connections).toEqual([]);
    expect(proxy.stats.cuts).toBe(2);
  });

  it("blackhole holds both directions, then releases in order", async () => {
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    proxy.blackhole();
    client.send(request(1, OpCode.getData), request(2, OpCode.getData));
    await sleep(50);
    client.send(request(3, OpCode.getData));
    await sleep(50);
    expect(zk.requests).toEqual([]);
    expect(client.replies).toEqual([]);
    expect(proxy.frames.filter((f) => f.direction === "request")).toHaveLength(4);
    proxy.release();
    await vi.waitFor(() => expect(client.replies).toEqual([1, 2, 3]));
    expect(zk.requests).toEqual([1, 2, 3]);
  });

  it("blackhole(ms) ends by itself; with 'drop' the held bytes die with the connection", async () => {
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    const start = performance.now();
    proxy.blackhole(150);
    client.send(request(1, OpCode.getData));
    await vi.waitFor(() => expect(client.replies).toEqual([1]));
    expect(performance.now() - start).toBeGreaterThanOrEqual(145);

    proxy.blackhole(50, "drop");
    client.send(request(2, OpCode.getData));
    await client.closed;
    expect(client.replies).toEqual([1]);
    expect(zk.requests).toEqual([1]);
  });

  it("chunk(1) delivers the same bytes, one byte per socket read", async () => {
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    proxy.chunk(1);
    const payload = Buffer.alloc(40, 7);
    const before = client.chunks.length;
    client.send(request(1, OpCode.getData, payload));
    await vi.waitFor(() => expect(client.frames).toHaveLength(2));
    const reply = client.frames[1]!;
    expect(ReplyHeader.read(new JuteReader(reply)).xid).toBe(1);
    expect(reply.subarray(16)).toEqual(payload);
    const pieces = client.chunks.slice(before);
    expect(Buffer.concat(pieces)).toEqual(frame(reply));
    // Loopback could still merge a few writes; most must arrive alone.
    expect(pieces.length).toBeGreaterThan((4 + reply.length) / 2);
    expect(zk.dataEvents[0]).toBeGreaterThan((4 + 8 + payload.length) / 2);
  });

  it("delay adds latency to each frame and keeps their order", async () => {
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    proxy.delay(100);
    const sent = performance.now();
    client.send(request(1, OpCode.getData), request(2, OpCode.getData), request(3, OpCode.getData));
    await vi.waitFor(() => expect(client.replies).toEqual([1, 2, 3]));
    // All clocks are this process's performance.now(), so these bounds are exact, not statistical.
    expect(zk.seenAt(1) - sent).toBeGreaterThanOrEqual(100);
    expect(client.arrivals[1]! - zk.seenAt(1)).toBeGreaterThanOrEqual(100);

    proxy.delay(0);
    proxy.delay(80, "reply");
    const again = performance.now();
    client.send(request(4, OpCode.getData));
    await vi.waitFor(() => expect(client.replies).toEqual([1, 2, 3, 4]));
    // Under 80 ms: the request was not held for the reply's 80 ms (only a stalled event loop fails this).
    expect(zk.seenAt(4) - again).toBeLessThan(80);
    expect(client.arrivals[4]! - zk.seenAt(4)).toBeGreaterThanOrEqual(80);
  });

  it("refuse closes new connections at once, and reset lets them through again", async () => {
    proxy.refuse();
    const refused = await TestClient.connect(proxy.port);
    refused.send(CONNECT);
    await refused.closed;
    expect(refused.chunks).toEqual([]);
    expect(zk.seen).toEqual([]);
    expect(proxy.stats).toMatchObject({ accepted: 1, refused: 1 });

    proxy.reset();
    const client = await TestClient.connect(proxy.port);
    expect((await client.handshake()).sessionId).toBe(0x1234n);
  });

  it("retarget moves new connections; live ones stay where they are", async () => {
    const other = await FakeZooKeeper.start(0x5678n);
    try {
      const a = await TestClient.connect(proxy.port);
      expect((await a.handshake()).sessionId).toBe(0x1234n);
      proxy.retarget({ host: HOST, port: other.port });
      const b = await TestClient.connect(proxy.port);
      expect((await b.handshake()).sessionId).toBe(0x5678n);
      a.send(request(1, OpCode.getData));
      await vi.waitFor(() => expect(a.replies).toEqual([1]));
      expect(zk.requests).toEqual([1]);
      expect(other.requests).toEqual([]);
      expect(proxy.connections.map((c) => [c.target.port, c.sessionId])).toEqual([
        [zk.port, 0x1234n],
        [other.port, 0x5678n],
      ]);
    } finally {
      await other.close();
    }
  });

  it("forwards a half-close, so a four-letter word passes as raw bytes", async () => {
    const fourLetters = createServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        if (chunk.toString() === "ruok") socket.end("imok");
      });
    });
    proxy.retarget({ host: HOST, port: await listen(fourLetters) });
    expect(await fourLetterWord(HOST, proxy.port, "ruok")).toBe("imok");
    expect(proxy.frames.map((f) => [f.direction, f.kind, f.size])).toEqual([
      ["request", "raw", 4],
      ["reply", "raw", 4],
    ]);
    await closeServer(fourLetters);
  });

  it("a dead target closes the client's connection", async () => {
    const gone = createServer();
    const port = await listen(gone);
    await closeServer(gone);
    proxy.retarget({ host: HOST, port });
    const client = await TestClient.connect(proxy.port);
    await client.closed;
    expect(proxy.stats).toMatchObject({ accepted: 1, upstreamFailures: 1 });
    expect(proxy.connections).toEqual([]);
  });

  it("keeps only the last logLimit frames", async () => {
    await using small = await FaultProxy.start({ target: { host: HOST, port: zk.port }, logLimit: 2 });
    const client = await TestClient.connect(small.port);
    await client.handshake();
    client.send(request(1, OpCode.getData));
    await vi.waitFor(() => expect(client.replies).toEqual([1]));
    expect(small.frames.map((f) => [f.direction, f.xid])).toEqual([
      ["request", 1],
      ["reply", 1],
    ]);
    expect(small.stats).toMatchObject({ requestFrames: 2, replyFrames: 2 });
  });

  it("close() ends every connection and leaves no listening port", async () => {
    const client = await TestClient.connect(proxy.port);
    await client.handshake();
    await proxy.close();
    await client.closed;
    await expect(TestClient.connect(proxy.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("FaultProxy in front of a real ZooKeeper", () => {
  let cluster: ZooKeeperCluster | undefined;
  let unavailable = "";

  beforeAll(async () => {
    try {
      cluster = await startZooKeeper();
    } catch (error) {
      unavailable = error instanceof Error ? error.message : String(error);
    }
  });

  afterAll(() => cluster?.close());

  it("passes ruok and a handshake; dropOnRequest loses a create's reply the server acted on", async (ctx) => {
    if (cluster === undefined) return ctx.skip(`no ZooKeeper: ${unavailable}`);
    const server = cluster.servers[0]!;
    await using proxy = await FaultProxy.start({ target: { host: server.host, port: server.clientPort } });
    expect(await fourLetterWord(HOST, proxy.port, "ruok")).toBe("imok");

    const client = await TestClient.connect(proxy.port);
    const session = await client.handshake();
    expect(session.sessionId).not.toBe(0n);
    expect(session.timeOut).toBeGreaterThan(0);

    const path = `/proxy-${process.pid}-${Date.now()}`;
    const dropped = proxy.dropOnRequest((r) => r.opcode === OpCode.create);
    const acl = [{ perms: Perms.ALL, id: { scheme: "world", id: "anyone" } }];
    const create = encode(CreateRequest, { path, data: Buffer.from("x"), acl, flags: 0 });
    client.send(request(1, OpCode.create, create));
    expect(await dropped).toBe(1);
    await client.closed;
    expect(client.replies).toEqual([]);

    // A new session through the proxy sees the node the lost reply was about.
    const other = await TestClient.connect(proxy.port);
    await other.handshake();
    other.send(request(1, OpCode.exists, encode(ExistsRequest, { path, watch: false })));
    await vi.waitFor(() => expect(other.replies).toEqual([1]));
    expect(decode(ReplyHeader, other.frames[1]!.subarray(0, 16)).err).toBe(0);
    // Connection 1 was ruok; on connection 2 the proxy saw the create's reply (and swallowed it).
    const lost = proxy.frames.find((f) => f.conn === 2 && f.direction === "reply" && f.xid === 1);
    expect(lost?.err).toBe(0);
  });
});
