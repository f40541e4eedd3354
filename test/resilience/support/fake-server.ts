/**
 * A fake ZooKeeper server for the faults a real one cannot be made to commit: garbage, lying length
 * prefixes, replies to requests nobody made. Each accepted connection follows a `Script` (what to send
 * first, what next, cut into which chunks, how to end), written as plain data so that fast-check can
 * generate it, print it and shrink it.
 *
 * Everything the fake sends is kept, per connection, so that a test can work out afterwards what the
 * client must have concluded from it (`judgeOpening`, `replyFrames`). Those oracles are written here
 * from the wire format, not with zkwire's decoder: a test that asked the code under test what the bytes
 * mean would agree with any bug in it.
 *
 *   client ──ConnectRequest──> fake ──opening──> client      (or, "relay": the fake forwards the
 *   client ──requests────────> fake ──actions──> client       ConnectRequest to a real server and
 *                                   ──end──────> client       hands back its answer, so the session
 *                                                              can later resume there)
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { setImmediate as macrotask, setTimeout as sleep } from "node:timers/promises";
import {
  ConnectResponse,
  decode,
  ErrorCode,
  encode,
  ReplyHeader,
  Stat,
  Xid,
} from "../../../src/protocol/index.js";

export const HOST = "127.0.0.1";

/** What the fake sends when the connection opens (or once the ConnectRequest has arrived). */
export type Opening =
  /** Arbitrary bytes; `eager`: without waiting for the ConnectRequest. */
  | { kind: "raw"; eager: boolean; bytes: Uint8Array }
  /** A length prefix that is negative or larger than the client's maximum, then a plausible body. */
  | { kind: "badLength"; eager: boolean; length: number; body: Uint8Array }
  /** A valid ConnectResponse under a length prefix off by `delta` (the frame swallows or loses bytes). */
  | { kind: "skewedLength"; delta: number; response: ConnectResponse }
  /** A valid ConnectResponse cut to its first `keep` bytes, under a length prefix that matches the cut. */
  | { kind: "truncatedConnect"; keep: number; response: ConnectResponse }
  /** A valid ConnectResponse made up here (its session exists nowhere else). */
  | { kind: "handshake"; response: ConnectResponse }
  /** The ConnectRequest forwarded to the upstream server and its real answer handed back. */
  | { kind: "relay" };

/** What the fake sends after the opening, in order. */
export type Action =
  | { kind: "raw"; bytes: Uint8Array }
  /** A well-framed body of arbitrary bytes. */
  | { kind: "frame"; body: Uint8Array }
  | { kind: "badLength"; length: number; body: Uint8Array }
  /** Waits (briefly) for the next request from the client; later actions answer it. */
  | { kind: "awaitRequest" }
  /** A reply whose xid no client request will ever carry. */
  | { kind: "strayReply"; xid: number; err: number; body: Uint8Array }
  /** A reply to the last request received, with its xid moved by `offset` (>= 1: not yet used). */
  | { kind: "wrongXid"; offset: number; err: number; body: Uint8Array }
  /** xid -1 with an arbitrary WatcherEvent body. */
  | { kind: "notification"; body: Uint8Array }
  /**
   * A success reply to the last request received, carrying `zxid`, whose body is a Stat cut to `keep`
   * (< 68) bytes: the header is right, the record is not.
   */
  | { kind: "truncatedStat"; keep: number; zxid: bigint }
  /** A frame too short to hold a ReplyHeader (16 bytes). */
  | { kind: "shortHeader"; bytes: Uint8Array }
  | { kind: "pause"; ms: number };

export interface Chunking {
  /** Cut points for each send (taken modulo its length), so a send goes out in up to cuts+1 writes. */
  cuts: number[];
  /** Pause between the writes of one send. */
  pauseMs: number;
}

export interface Script {
  opening: Opening;
  actions: Action[];
  chunking: Chunking;
  /** "end": FIN; "reset": RST; "hang": keep the socket open until the client or `close()` ends it. */
  end: "end" | "reset" | "hang";
}

export interface ReceivedRequest {
  xid: number;
  opcode: number;
}

/** What happened on one connection, for the test's oracles. */
export class ConnectionLog {
  /** Every byte the fake wrote, in order: what the client may have read. */
  readonly sent: Buffer[] = [];
  /** performance.now() of each write in `sent`, and of the connection's acceptance. */
  readonly sentAt: number[] = [];
  readonly acceptedAt = performance.now();
  sentBytes = 0;
  /** Stream offsets of the frames sent as deliberately undecodable answers (truncated Stat). */
  readonly undecodableAt = new Set<number>();
  /** The ConnectRequest body, once received. */
  connectRequest: Buffer | null = null;
  /** Requests received after the ConnectRequest, pings included. */
  readonly requests: ReceivedRequest[] = [];
  /** The session handed out by a handshake or relay opening. */
  session: ConnectResponse | null = null;
  /** `script` is null for a connection refused once the scripts ran out. */
  constructor(
    readonly index: number,
    readonly script: Script | null,
  ) {}

  get stream(): Buffer {
    return Buffer.concat(this.sent, this.sentBytes);
  }

  /** ms after acceptance at which the first `n` bytes had all been written (Infinity: never). */
  writtenBy(n: number): number {
    let total = 0;
    for (let i = 0; i < this.sent.length; i++) {
      total += this.sent[i]!.length;
      if (total >= n) return this.sentAt[i]! - this.acceptedAt;
    }
    return Number.POSITIVE_INFINITY;
  }
}

export interface FakeServerOptions {
  /** The script for the n-th connection (from 0); undefined: close it at once. */
  scriptFor: (index: number) => Script | undefined;
  /** "host:port" of a real server, for "relay" openings. */
  upstream?: string;
  /** How long `awaitRequest` and the wait for the ConnectRequest may take before the script goes on. */
  requestWaitMs?: number;
}

/** A length-prefixed frame. */
export function frame(...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function withLength(length: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(length, 0);
  out.set(body, 4);
  return out;
}

/** A Stat as a server might send it; truncatedStat cuts its encoding. */
const SOME_STAT: Stat = {
  czxid: 0x10n,
  mzxid: 0x11n,
  ctime: 1_700_000_000_000n,
  mtime: 1_700_000_000_001n,
  version: 1,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 3,
  numChildren: 0,
  pzxid: 0x10n,
};
const STAT_BYTES = encode(Stat, SOME_STAT);

/** Splits incoming bytes into frames; the client is the well-behaved side here. */
class Splitter {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const len = this.pending.readInt32BE(0);
      if (len < 0 || this.pending.length < 4 + len) break;
      onFrame(this.pending.subarray(4, 4 + len));
      this.pending = this.pending.subarray(4 + len);
    }
  }
}

/** Cuts `bytes` at the given points (modulo its length + 1), in order, without empty pieces. */
export function cut(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** One connection being played: the socket, what arrived on it, and a way to wait for either. */
class Player {
  private readonly splitter = new Splitter();
  private readonly unconsumed: ReceivedRequest[] = [];
  private lastRequest: ReceivedRequest | null = null;
  private waiter: (() => void) | null = null;
  readonly closed: Promise<void>;
  private isClosed = false;

  constructor(
    private readonly socket: Socket,
    readonly log: ConnectionLog,
    private readonly waitMs: number,
  ) {
    socket.setNoDelay(true);
    // The client may drop the connection at any moment (that is often the point): writes after that
    // fail with EPIPE or ECONNRESET, which are expected here, not errors of the test.
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        this.waiter?.();
        resolve();
      }),
    );
    socket.on("data", (chunk: Buffer) =>
      this.splitter.push(chunk, (body) => {
        if (log.connectRequest === null) {
          log.connectRequest = Buffer.from(body);
        } else if (body.length >= 8) {
          const req = { xid: body.readInt32BE(0), opcode: body.readInt32BE(4) };
          log.requests.push(req);
          // Pings, auth and SetWatches are the session's own business; the script answers requests.
          if (req.xid > 0) this.unconsumed.push(req);
        }
        this.waiter?.();
      }),
    );
  }

  get done(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  /** Waits until `ready()` holds, the socket closes, or `waitMs` passes. */
  private async until(ready: () => boolean): Promise<void> {
    const deadline = performance.now() + this.waitMs;
    while (!ready() && !this.done) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  awaitConnectRequest(): Promise<void> {
    return this.until(() => this.log.connectRequest !== null);
  }

  async awaitRequest(): Promise<void> {
    await this.until(() => this.unconsumed.length > 0);
    const next = this.unconsumed.shift();
    if (next !== undefined) this.lastRequest = next;
  }

  /** The xid of the request being answered: the last one taken, else the newest seen, else 1. */
  get answeringXid(): number {
    return this.lastRequest?.xid ?? this.log.requests.filter((r) => r.xid > 0).at(-1)?.xid ?? 1;
  }

  /** Sends `bytes` in the script's chunks, pausing between them; stops if the client has gone. */
  async send(bytes: Buffer, chunking: Chunking, undecodable = false): Promise<void> {
    if (this.done || bytes.length === 0) return;
    if (undecodable) this.log.undecodableAt.add(this.log.sentBytes);
    const pieces = cut(bytes, chunking.cuts);
    for (let i = 0; i < pieces.length; i++) {
      if (this.done) return;
      if (i > 0 && chunking.pauseMs > 0) await sleep(chunking.pauseMs);
      if (this.done) return;
      const piece = pieces[i]!;
      this.log.sent.push(piece);
      this.log.sentAt.push(performance.now());
      this.log.sentBytes += piece.length;
      this.socket.write(piece);
    }
  }

  async finish(end: Script["end"]): Promise<void> {
    if (this.done) return;
    if (end === "end") this.socket.end();
    if (end !== "reset") return;
    // A RST can make the peer's kernel drop bytes it has not handed to the application yet; a short
    // linger lets the client read what was sent, so the reset tests the reset, not lost data.
    await sleep(20);
    if (!this.done) this.socket.resetAndDestroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Forwards a ConnectRequest to a real server and returns its ConnectResponse (the session stays). */
async function relay(upstream: string, connectRequest: Buffer): Promise<ConnectResponse> {
  const [host, port] = upstream.split(":") as [string, string];
  const socket = connect({ host, port: Number(port) });
  try {
    return await new Promise<ConnectResponse>((resolve, reject) => {
      const splitter = new Splitter();
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("upstream closed before answering the handshake")));
      socket.once("connect", () => socket.write(frame(connectRequest)));
      socket.on("data", (chunk: Buffer) =>
        splitter.push(chunk, (body) => resolve(decode(ConnectResponse, body))),
      );
    });
  } finally {
    // Closing the connection does not end the session: the server keeps it for its timeout, so the
    // client can resume it there after the fake lets it down.
    socket.destroy();
  }
}

export class FakeZooKeeper {
  readonly connections: ConnectionLog[] = [];
  private readonly players = new Set<Player>();
  private readonly running = new Set<Promise<void>>();
  private readonly server: Server;
  port = 0;

  private constructor(private readonly options: FakeServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  static async start(options: FakeServerOptions): Promise<FakeZooKeeper> {
    const fake = new FakeZooKeeper(options);
    await new Promise<void>((resolve) => fake.server.listen(0, HOST, resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** "127.0.0.1:port", as the client names it in errors and `zk.server`. */
  get address(): string {
    return `${HOST}:${this.port}`;
  }

  /** Every request received on every connection (xid > 0: the client's numbered requests). */
  get requests(): ReceivedRequest[] {
    return this.connections.flatMap((c) => c.requests.filter((r) => r.xid > 0));
  }

  private accept(socket: Socket): void {
    const index = this.connections.length;
    const script = this.options.scriptFor(index) ?? null;
    const log = new ConnectionLog(index, script);
    this.connections.push(log);
    const player = new Player(socket, log, this.options.requestWaitMs ?? 300);
    this.players.add(player);
    const run = this.play(player, script).catch(() => {
      // A relay that could not reach upstream, or a socket torn down mid-write: the connection just
      // ends, which the client must cope with like any other.
      player.destroy();
    });
    this.running.add(run);
    void player.closed.then(() => {
      this.players.delete(player);
      this.running.delete(run);
    });
  }

  private async play(player: Player, script: Script | null): Promise<void> {
    const { log } = player;
    if (script === null) {
      await player.finish("end");
      return;
    }
    const { opening, chunking } = script;
    const eager = (opening.kind === "raw" || opening.kind === "badLength") && opening.eager;
    if (!eager) await player.awaitConnectRequest();
    switch (opening.kind) {
      case "raw":
        await player.send(Buffer.from(opening.bytes), chunking);
        break;
      case "badLength":
        await player.send(withLength(opening.length, opening.body), chunking);
        break;
      case "skewedLength": {
        const body = encode(ConnectResponse, opening.response);
        await player.send(withLength(Math.max(0, body.length + opening.delta), body), chunking);
        break;
      }
      case "truncatedConnect": {
        const body = encode(ConnectResponse, opening.response);
        await player.send(frame(body.subarray(0, opening.keep % body.length)), chunking);
        break;
      }
      case "handshake":
        log.session = opening.response;
        await player.send(frame(encode(ConnectResponse, opening.response)), chunking);
        break;
      case "relay": {
        const upstream = this.options.upstream;
        if (upstream === undefined) throw new Error("relay opening without an upstream server");
        if (log.connectRequest === null) throw new Error("no ConnectRequest to relay");
        const response = await relay(upstream, log.connectRequest);
        log.session = response;
        await player.send(frame(encode(ConnectResponse, response)), chunking);
        break;
      }
    }
    for (const action of script.actions) {
      if (player.done) break;
      await this.act(player, action, chunking);
    }
    await player.finish(script.end);
  }

  private async act(player: Player, action: Action, chunking: Chunking): Promise<void> {
    const reply = (xid: number, err: number, body: Uint8Array, zxid = 0x100n) =>
      frame(encode(ReplyHeader, { xid, zxid, err }), body);
    switch (action.kind) {
      case "raw":
        return player.send(Buffer.from(action.bytes), chunking);
      case "frame":
        return player.send(frame(action.body), chunking);
      case "badLength":
        return player.send(withLength(action.length, action.body), chunking);
      case "awaitRequest":
        return player.awaitRequest();
      case "strayReply":
        return player.send(reply(action.xid, action.err, action.body), chunking);
      case "wrongXid":
        return player.send(reply(player.answeringXid + action.offset, action.err, action.body), chunking);
      case "notification":
        return player.send(reply(Xid.notification, 0, action.body), chunking);
      case "truncatedStat":
        return player.send(
          reply(
            player.answeringXid,
            ErrorCode.Ok,
            STAT_BYTES.subarray(0, action.keep % STAT_BYTES.length),
            action.zxid,
          ),
          chunking,
          true,
        );
      case "shortHeader":
        return player.send(frame(action.bytes.subarray(0, 15)), chunking);
      case "pause":
        await sleep(action.ms);
        return;
    }
  }

  /** Ends every connection and the listener, and waits for the scripts to stop. */
  async close(): Promise<void> {
    for (const p of this.players) p.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.running]);
  }
}

// -------------------------------------------------------------------------------------------------
// Oracles: what a correct client concludes from the bytes a connection carried.

export interface Scan {
  /** Complete frames in order, with the stream offset of their length prefix. */
  frames: { offset: number; body: Buffer }[];
  /** Why the scan stopped: the stream ended on a frame boundary, inside a frame, or at a bad length. */
  stop: "boundary" | "incomplete" | "bad-length";
}

/** Frames as a reader bound by `maxFrame` sees them: it cannot go past a bad length prefix. */
export function scanFrames(stream: Buffer, maxFrame: number): Scan {
  const frames: Scan["frames"] = [];
  let off = 0;
  while (stream.length - off >= 4) {
    const len = stream.readInt32BE(off);
    if (len < 0 || len > maxFrame) return { frames, stop: "bad-length" };
    if (stream.length - off - 4 < len) return { frames, stop: "incomplete" };
    frames.push({ offset: off, body: stream.subarray(off + 4, off + 4 + len) });
    off += 4 + len;
  }
  return { frames, stop: off === stream.length ? "boundary" : "incomplete" };
}

export type OpeningVerdict =
  /**
   * The first frame is not a frame (bad length) or not a ConnectResponse: a protocol error, which the
   * client can see once the first `decidedBy` bytes have arrived.
   */
  | { kind: "protocol"; record: "frame" | "ConnectResponse"; decidedBy: number }
  /** No whole first frame arrived: the connection ends for another reason (closed, reset, timeout). */
  | { kind: "incomplete" }
  /** A ConnectResponse with timeOut <= 0: the server says the session has expired. */
  | { kind: "expired" }
  | { kind: "established"; sessionId: bigint; timeOut: number; readOnly: boolean };

/**
 * Reads the first frame as ConnectResponse {int protocolVersion; int timeOut; long sessionId; buffer
 * passwd} plus the optional readOnly byte (ZOOKEEPER-827), straight from the grammar. Trailing bytes
 * after that are allowed: newer servers may append fields.
 */
export function judgeOpening(stream: Buffer, maxFrame: number): OpeningVerdict {
  const { frames, stop } = scanFrames(stream, maxFrame);
  const first = frames[0];
  if (first === undefined) {
    return stop === "bad-length"
      ? { kind: "protocol", record: "frame", decidedBy: 4 }
      : { kind: "incomplete" };
  }
  const b = first.body;
  const malformed = { kind: "protocol", record: "ConnectResponse", decidedBy: 4 + b.length } as const;
  if (b.length < 20) return malformed;
  const passwdLength = b.readInt32BE(16);
  if (passwdLength < -1 || passwdLength > b.length - 20) return malformed;
  const timeOut = b.readInt32BE(4);
  if (timeOut <= 0) return { kind: "expired" };
  const after = 20 + Math.max(0, passwdLength);
  return {
    kind: "established",
    sessionId: b.readBigInt64BE(8),
    timeOut,
    readOnly: b.length > after && b[after] !== 0,
  };
}

/**
 * The ReplyHeaders {int xid; long zxid; int err} of the frames after the first, up to where a reader
 * would stop; frames the script sent as deliberately undecodable are marked.
 */
export function replyFrames(
  log: ConnectionLog,
  maxFrame: number,
): { xid: number; err: number; undecodable: boolean }[] {
  const { frames } = scanFrames(log.stream, maxFrame);
  return frames
    .slice(1)
    .filter((f) => f.body.length >= 16)
    .map((f) => ({
      xid: f.body.readInt32BE(0),
      err: f.body.readInt32BE(12),
      undecodable: log.undecodableAt.has(f.offset),
    }));
}

// -------------------------------------------------------------------------------------------------
// The process's own health.

export interface ProcessProblems {
  readonly problems: string[];
  /** Lets pending rejections surface (they are reported after the microtask queue drains). */
  settle(): Promise<void>;
  dispose(): void;
}

/**
 * Records uncaught exceptions, unhandled rejections and process warnings (e.g. a TimeoutOverflowWarning
 * from a timer armed with a server-chosen timeout). Bytes from the network must produce none of them.
 */
export function watchProcess(): ProcessProblems {
  const problems: string[] = [];
  const describe = (what: string, e: unknown) =>
    `${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e)}`;
  const onException = (e: unknown) => problems.push(describe("uncaught exception", e));
  const onRejection = (e: unknown) => problems.push(describe("unhandled rejection", e));
  const onWarning = (w: Error) => problems.push(describe("process warning", w));
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  process.on("warning", onWarning);
  return {
    problems,
    async settle() {
      await macrotask();
      await macrotask();
    },
    dispose() {
      process.off("uncaughtException", onException);
      process.off("unhandledRejection", onRejection);
      process.off("warning", onWarning);
    },
  };
}
