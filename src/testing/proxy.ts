/**
 * FaultProxy: a frame-aware TCP proxy on loopback, between a client and a real ZooKeeper, for the faults a
 * real server will not make on demand: a cut after the server ran a request but before the client saw the
 * answer, a partition that holds bytes, latency, split writes.
 *
 *   await using proxy = await FaultProxy.start({ target: { host: "127.0.0.1", port: zkPort } });
 *   const lost = proxy.dropOnRequest((r) => r.opcode === OpCode.create); // server creates, client never hears
 *
 *   client ──► request half: FrameDecoder ─► log, rules ─► lane (delay, blackhole, chunk) ──► server
 *   client ◄── lane ◄─ log, rules ◄─ FrameDecoder :reply half ◄── server
 *
 * Each half parses its stream (first frame: the connect handshake; then RequestHeader / ReplyHeader),
 * logs each frame, applies the rules and queues it on its lane. A lane writes in arrival order; faults
 * decide only when and in how many writes a frame leaves, so with none set both streams are byte-identical.
 * A cut is a lane item too: what was queued before it is delivered, nothing after it.
 *
 * Faults act on live connections; `sticky` and the proxy-wide settings also on later ones.
 *   start({ target, port?, maxFrame?, logLimit? })  listen on 127.0.0.1 (port 0: any free one)
 *   host, port, connectString, target, retarget(t)  where clients connect; where new connections go
 *   connections                  live pairs { id, target, sessionId, drop() }
 *   dropAll()                    cut every live connection (FIN both ways after what was written)
 *   dropAfterFrames(n, { direction?, sticky? })     cut once n more frames (that way) went through
 *   dropOnRequest(pred, { when? }) → xid   forward the next matching request, then cut in place of its
 *                                reply ("beforeReply", default: the server ran it, the client never sees
 *                                the answer) or right behind it ("afterRequest": outcome unknown); settles
 *                                when cut. The handshake matches as { connect, xid 0, opcode createSession }.
 *   dropAfterReply(xid, { conn? })  forward the next reply with this xid, then cut; settles when cut
 *   blackhole(ms?, "release"|"drop")  hold all bytes both ways, sockets open, until ms or release();
 *                                then deliver in order, or cut ("drop": the held bytes are lost)
 *   delay(ms, direction?)        each frame leaves ms after it arrived, order kept
 *   chunk(size)                  each frame written in size-byte pieces, a macrotask apart
 *   refuse(on?)                  accept new connections and close them at once
 *   reset()                      pass-through again: settings off, unfired rules dropped (their promises
 *                                never settle), held bytes released
 *   frames, clearFrames(), onFrame(cb) → off, waitForFrame(pred)   the last logLimit frames, on arrival
 *   stats                        connections, frames each way, notifications, raw chunks, cuts
 *   close(), Symbol.asyncDispose stop listening, destroy every socket
 *
 * Not ZooKeeper frames: a length prefix FrameDecoder refuses (negative, above maxFrame) turns that half
 * into a raw pipe, logged as "raw": that is how a four-letter word passes ("ruok" as a length is 1.9e9;
 * any ASCII text is above 0x20000000). A body too short for its header is forwarded, logged "unparsed".
 * A FIN is forwarded after the lane (a four-letter-word client half-closes, then reads the answer); an
 * error on either socket destroys the pair. No backpressure: a test proxy buffers whatever is held.
 */
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { setImmediate as macrotask, setTimeout as sleep } from "node:timers/promises";
import {
  ConnectRequest,
  ConnectResponse,
  FrameDecoder,
  JuteReader,
  OpCode,
  REQUEST_HEADER_SIZE,
  ReplyHeader,
  RequestHeader,
  Xid,
  ZkProtocolError,
} from "../protocol/index.js";

export type Direction = "request" | "reply";

export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface FaultProxyOptions {
  readonly target: Target;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Largest body still parsed as a frame; default 64 MiB, so a raised jute.maxbuffer stays frame-aware. */
  readonly maxFrame?: number;
  /** Frames kept in `frames`; default 10 000, oldest dropped first. */
  readonly logLimit?: number;
}

export interface FrameRecord {
  /** ProxiedConnection.id: 1, 2, ... in accept order. */
  readonly conn: number;
  readonly direction: Direction;
  readonly kind: "connect" | "message" | "unparsed" | "raw";
  readonly xid?: number;
  readonly opcode?: number;
  readonly zxid?: bigint;
  readonly err?: number;
  /** Connect frames: the session asked for (0n: a new one), or granted. */
  readonly sessionId?: bigint;
  /** Body bytes, length prefix excluded; raw: the bytes of the chunk. */
  readonly size: number;
  /** Milliseconds since the proxy started. */
  readonly at: number;
}

/** What dropOnRequest's predicate sees; `body` (after the header) is valid during the call only. */
export interface RequestInfo {
  readonly conn: number;
  readonly xid: number;
  readonly opcode: number;
  readonly connect: boolean;
  readonly body: Buffer;
}

export interface ProxiedConnection {
  readonly id: number;
  readonly target: Target;
  /** From the server's ConnectResponse, once it has passed. */
  readonly sessionId: bigint | undefined;
  drop(): void;
}

export interface ProxyStats {
  /** Including refused ones. */
  accepted: number;
  refused: number;
  /** Accepted connections whose connection to the target failed (the client is closed). */
  upstreamFailures: number;
  requestFrames: number;
  replyFrames: number;
  notifications: number;
  rawChunks: number;
  /** Connections the proxy cut on purpose; not those that ended or failed by themselves. */
  cuts: number;
}

/** What a frame's own bytes say about it. */
type Header = Omit<FrameRecord, "conn" | "direction" | "size" | "at">;
type FrameObserver = (frame: FrameRecord, body: Buffer) => void;
type RequestRule = {
  pred: (r: RequestInfo) => boolean;
  when: "beforeReply" | "afterRequest";
  done: (xid: number) => void;
};
type ReplyRule = { xid: number; conn: number | undefined; done: () => void };
type Budget = { remaining: number; direction: Direction | "both" };
/** A lane item; it may not leave before `at` (performance.now(), for delay). */
type Item =
  | { op: "write"; at: number; bytes: Buffer }
  | { op: "end"; at: number }
  | { op: "cut"; at: number; done?: () => void };

const HOST = "127.0.0.1";

/** What the proxy shares with its pairs: settings the lanes read, rules they consume, the log they feed. */
class Hub {
  readonly t0 = performance.now();
  readonly pairs = new Set<Pair>();
  /** Every socket until it closes, those still flushing after a cut included, for close(). */
  readonly sockets = new Set<Socket>();
  readonly log: FrameRecord[] = [];
  readonly observers = new Set<FrameObserver>();
  readonly stats: ProxyStats = {
    accepted: 0,
    refused: 0,
    upstreamFailures: 0,
    requestFrames: 0,
    replyFrames: 0,
    notifications: 0,
    rawChunks: 0,
    cuts: 0,
  };
  readonly delays: Record<Direction, number> = { request: 0, reply: 0 };
  chunkSize = 0;
  /** Set while a blackhole holds; resolves when it ends. */
  gate: Promise<void> | null = null;
  requestRules: RequestRule[] = [];
  replyRules: ReplyRule[] = [];

  constructor(
    readonly maxFrame: number,
    readonly logLimit: number,
  ) {}

  record(conn: number, direction: Direction, header: Header, body: Buffer): FrameRecord {
    const record = { conn, direction, ...header, size: body.length, at: performance.now() - this.t0 };
    const s = this.stats;
    if (record.kind === "raw") s.rawChunks++;
    else if (direction === "request") s.requestFrames++;
    else s.replyFrames++;
    if (record.kind === "message" && direction === "reply" && record.xid === Xid.notification) {
      s.notifications++;
    }
    if (this.log.length >= this.logLimit) this.log.shift();
    this.log.push(record);
    for (const observer of this.observers) {
      try {
        observer(record, body);
      } catch (error) {
        // A failed assertion in an observer must fail the test, not break the socket's data handler.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    return record;
  }

  take<T>(rules: T[], match: (rule: T) => boolean): T | undefined {
    const i = rules.findIndex(match);
    return i < 0 ? undefined : rules.splice(i, 1)[0];
  }

  track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    // Frames leave as soon as their lane lets them; Nagle would merge and hold them behind our back.
    socket.setNoDelay(true);
    return socket;
  }
}

export class FaultProxy implements AsyncDisposable {
  readonly host = HOST;
  #port = 0;
  #target: Target;
  readonly #server: Server;
  readonly #hub: Hub;
  #nextId = 0;
  #stickyBudget: Budget | null = null;
  #refusing = false;
  #openGate: (() => void) | null = null;
  #holdEnd: "release" | "drop" = "release";
  #holdTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: FaultProxyOptions) {
    this.#target = options.target;
    this.#hub = new Hub(options.maxFrame ?? 64 * 1024 * 1024, options.logLimit ?? 10_000);
    // allowHalfOpen: a peer's FIN is passed on as a FIN, not turned into closing both directions.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    const server = proxy.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
    proxy.#port = (server.address() as AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }
  get connectString(): string {
    return `${HOST}:${this.#port}`;
  }
  get target(): Target {
    return this.#target;
  }
  get connections(): readonly ProxiedConnection[] {
    return [...this.#hub.pairs];
  }
  get frames(): readonly FrameRecord[] {
    return [...this.#hub.log];
  }
  get stats(): Readonly<ProxyStats> {
    return { ...this.#hub.stats };
  }

  retarget(target: Target): void {
    this.#target = target;
  }

  clearFrames(): void {
    this.#hub.log.length = 0;
  }

  onFrame(observer: FrameObserver): () => void {
    this.#hub.observers.add(observer);
    return () => this.#hub.observers.delete(observer);
  }

  waitForFrame(pred: (frame: FrameRecord) => boolean): Promise<FrameRecord> {
    return new Promise((resolve) => {
      const off = this.onFrame((frame) => {
        if (!pred(frame)) return;
        off();
        resolve(frame);
      });
    });
  }

  dropAll(): void {
    for (const pair of [...this.#hub.pairs]) pair.drop();
  }

  dropAfterFrames(n: number, options: { direction?: Direction | "both"; sticky?: boolean } = {}): void {
    const direction = options.direction ?? "both";
    for (const pair of [...this.#hub.pairs]) pair.setBudget({ remaining: n, direction });
    if (options.sticky) this.#stickyBudget = { remaining: n, direction };
  }

  dropOnRequest(
    pred: (request: RequestInfo) => boolean,
    options: { when?: "beforeReply" | "afterRequest" } = {},
  ): Promise<number> {
    const when = options.when ?? "beforeReply";
    return new Promise((done) => this.#hub.requestRules.push({ pred, when, done }));
  }

  dropAfterReply(xid: number, options: { conn?: number } = {}): Promise<void> {
    return new Promise((done) => this.#hub.replyRules.push({ xid, conn: options.conn, done }));
  }

  blackhole(ms?: number, end: "release" | "drop" = "release"): void {
    this.#hub.gate ??= new Promise((open) => (this.#openGate = open));
    this.#holdEnd = end;
    clearTimeout(this.#holdTimer);
    if (ms !== undefined) this.#holdTimer = setTimeout(() => this.release(), ms);
  }

  release(): void {
    clearTimeout(this.#holdTimer);
    const open = this.#openGate;
    if (open === null) return;
    this.#hub.gate = this.#openGate = null;
    // A partition that ends in dead connections: what was held is never delivered.
    if (this.#holdEnd === "drop") this.dropAll();
    open();
  }

  delay(ms: number, direction: Direction | "both" = "both"): void {
    if (direction !== "reply") this.#hub.delays.request = ms;
    if (direction !== "request") this.#hub.delays.reply = ms;
  }

  chunk(size: number): void {
    this.#hub.chunkSize = size;
  }

  refuse(on = true): void {
    this.#refusing = on;
  }

  reset(): void {
    const hub = this.#hub;
    hub.delays.request = hub.delays.reply = hub.chunkSize = 0;
    hub.requestRules = [];
    hub.replyRules = [];
    for (const pair of hub.pairs) pair.clearRules();
    this.#stickyBudget = null;
    this.#refusing = false;
    this.#holdEnd = "release";
    this.release();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.reset();
      for (const pair of [...this.#hub.pairs]) pair.destroy();
      for (const socket of this.#hub.sockets) socket.destroy();
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #accept(client: Socket): void {
    const hub = this.#hub;
    hub.stats.accepted++;
    if (this.#refusing || this.#closing) {
      hub.stats.refused++;
      client.destroy();
      return;
    }
    const target = this.#target;
    const server = netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
    let connected = false;
    server.once("connect", () => (connected = true));
    server.once("error", () => {
      if (!connected) hub.stats.upstreamFailures++;
    });
    const pair = new Pair(hub, ++this.#nextId, hub.track(client), hub.track(server), target);
    hub.pairs.add(pair);
    if (this.#stickyBudget) pair.setBudget({ ...this.#stickyBudget });
  }
}

/** One proxied connection: the client's socket, the server's, and a half for each direction. */
class Pair implements ProxiedConnection {
  readonly request: Half;
  readonly reply: Half;
  readonly abort = new AbortController();
  sessionId: bigint | undefined;
  dead = false;
  budget: Budget | undefined;
  /** Requests whose reply is to be replaced by a cut: xid → the rule's resolver. */
  readonly replyCuts = new Map<number, () => void>();
  connectCut: (() => void) | undefined;

  constructor(
    readonly hub: Hub,
    readonly id: number,
    readonly client: Socket,
    readonly server: Socket,
    readonly target: Target,
  ) {
    this.request = new Half(this, "request", server);
    this.reply = new Half(this, "reply", client);
    client.on("data", (chunk: Buffer) => this.request.receive(chunk));
    server.on("data", (chunk: Buffer) => this.reply.receive(chunk));
    client.on("end", () => this.request.sourceEnded());
    server.on("end", () => this.reply.sourceEnded());
    for (const socket of [client, server]) {
      // After a cut the other socket may still be flushing: only a failure before one ends the pair.
      socket.on("error", () => this.dead || this.destroy());
      socket.on("close", () => this.dead || this.destroy());
    }
  }

  setBudget(budget: Budget): void {
    if (budget.remaining <= 0) this.drop();
    else this.budget = budget;
  }

  clearRules(): void {
    this.budget = undefined;
    this.connectCut = undefined;
    this.replyCuts.clear();
  }

  /** FIN both ways once what was already written has been flushed; whatever is queued is discarded. */
  drop(cut = true): void {
    if (!this.#die(cut)) return;
    for (const socket of [this.client, this.server]) {
      if (socket.connecting) socket.destroy();
      else socket.end(() => socket.destroy());
    }
  }

  destroy(): void {
    if (!this.#die(false)) return;
    this.client.destroy();
    this.server.destroy();
  }

  #die(cut: boolean): boolean {
    if (this.dead) return false;
    this.dead = true;
    this.abort.abort();
    this.hub.pairs.delete(this);
    if (cut) this.hub.stats.cuts++;
    return true;
  }

  /** Called when a half has passed its FIN on: once both have, nothing more can pass. */
  halfEnded(): void {
    if (this.request.ended && this.reply.ended) this.drop(false);
  }

  onFrame(half: Half, body: Buffer, first: boolean): void {
    const { hub, id } = this;
    const direction = half.direction;
    const frame = hub.record(id, direction, describe(direction, first, body), body);
    if (frame.kind === "connect" && direction === "reply") this.sessionId = frame.sessionId;
    if (this.dead) return;
    const at = performance.now() + hub.delays[direction];
    const bytes = Buffer.allocUnsafe(4 + body.length);
    bytes.writeInt32BE(body.length, 0);
    body.copy(bytes, 4);
    const connect = frame.kind === "connect";
    const xid = frame.xid ?? 0;

    if (direction === "request") {
      half.enqueue({ op: "write", at, bytes });
      const rest = connect ? body : body.subarray(REQUEST_HEADER_SIZE);
      const info = { conn: id, xid, opcode: frame.opcode ?? OpCode.createSession, connect, body: rest };
      const rule =
        frame.kind === "message" || connect ? hub.take(hub.requestRules, (r) => r.pred(info)) : undefined;
      const done = rule && (() => rule.done(xid));
      if (rule?.when === "afterRequest") half.enqueue({ op: "cut", at, done });
      else if (done && connect) this.connectCut = done;
      else if (done) this.replyCuts.set(xid, done);
    } else {
      // Replies to numbered requests come back in request order: the first reply with the xid is it.
      const swallow = connect
        ? this.connectCut
        : frame.kind === "message" && xid !== Xid.notification
          ? this.replyCuts.get(xid)
          : undefined;
      if (swallow) {
        if (connect) this.connectCut = undefined;
        else this.replyCuts.delete(xid);
        half.enqueue({ op: "cut", at, done: swallow });
        return;
      }
      half.enqueue({ op: "write", at, bytes });
      const rule =
        frame.kind === "message"
          ? hub.take(hub.replyRules, (r) => r.xid === xid && (r.conn ?? id) === id)
          : undefined;
      if (rule) half.enqueue({ op: "cut", at, done: rule.done });
    }

    const budget = this.budget;
    if (
      budget &&
      (budget.direction === "both" || budget.direction === direction) &&
      --budget.remaining <= 0
    ) {
      this.budget = undefined;
      half.enqueue({ op: "cut", at });
    }
  }

  onRaw(half: Half, bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.hub.record(this.id, half.direction, { kind: "raw" }, bytes);
    half.enqueue({ op: "write", at: performance.now() + this.hub.delays[half.direction], bytes });
  }
}

/** One direction: parses what its source sends, and writes its lane to `dst` in order. */
class Half {
  readonly #decoder: FrameDecoder;
  #frames = 0;
  #raw = false;
  /**
   * The chunks (views the decoder holds as well) that still contain bytes not yet emitted as frames, so a
   * stream that stops being framed is forwarded from exactly where the last whole frame ended.
   */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #unframed = 0;
  readonly #queue: Item[] = [];
  #busy = false;
  ended = false;

  constructor(
    readonly pair: Pair,
    readonly direction: Direction,
    readonly dst: Socket,
  ) {
    this.#decoder = new FrameDecoder(pair.hub.maxFrame);
  }

  receive(chunk: Buffer): void {
    if (this.pair.dead) return;
    if (this.#raw) {
      this.pair.onRaw(this, chunk);
      return;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    this.#unframed += chunk.length;
    try {
      this.#decoder.push(chunk, (body) => {
        this.#unframed -= 4 + body.length;
        this.pair.onFrame(this, body, this.#frames++ === 0);
      });
    } catch (error) {
      if (!(error instanceof ZkProtocolError)) throw error;
      this.#raw = true;
      this.pair.onRaw(this, this.#takeUnframed());
      return;
    }
    while (this.#held.length > 0 && this.#heldBytes - this.#held[0]!.length >= this.#unframed) {
      this.#heldBytes -= this.#held.shift()!.length;
    }
  }

  /** The source sent FIN: pass on any partial frame as it came, then the FIN, in lane order. */
  sourceEnded(): void {
    if (this.pair.dead) return;
    this.pair.onRaw(this, this.#takeUnframed());
    this.enqueue({ op: "end", at: performance.now() + this.pair.hub.delays[this.direction] });
  }

  #takeUnframed(): Buffer {
    const tail = Buffer.concat(this.#held).subarray(this.#heldBytes - this.#unframed);
    this.#held = [];
    this.#heldBytes = this.#unframed = 0;
    return tail;
  }

  enqueue(item: Item): void {
    if (this.pair.dead) return;
    this.#queue.push(item);
    this.#drain();
  }

  /** Writes what may leave now; otherwise waits (blackhole, delay, chunk pacing) and comes back. */
  #drain(): void {
    const { pair } = this;
    const hub = pair.hub;
    while (!this.#busy && !pair.dead) {
      const item = this.#queue[0];
      if (item === undefined) return;
      const wait = item.at - performance.now();
      const until = hub.gate ?? (wait > 0 ? sleep(wait, undefined, { signal: pair.abort.signal }) : null);
      if (until) {
        this.#waitFor(until);
        return;
      }
      this.#queue.shift();
      if (item.op === "cut") {
        pair.drop();
        item.done?.();
        return;
      }
      if (item.op === "end") {
        this.dst.end();
        this.ended = true;
        pair.halfEnded();
      } else if (hub.chunkSize > 0) {
        this.#waitFor(this.#writeChunks(item.bytes, hub.chunkSize));
      } else {
        this.dst.write(item.bytes);
      }
    }
  }

  #waitFor(promise: Promise<unknown>): void {
    this.#busy = true;
    const resume = () => {
      this.#busy = false;
      this.#drain();
    };
    // A rejection is the pair's abort signal: the pair is dead, and resume does nothing.
    promise.then(resume, resume);
  }

  async #writeChunks(bytes: Buffer, size: number): Promise<void> {
    for (let off = 0; off < bytes.length && !this.pair.dead; off += size) {
      this.dst.write(bytes.subarray(off, off + size));
      // A macrotask between writes lets the peer's read run, so each piece arrives as its own chunk.
      await macrotask();
    }
  }
}

/** The header (or handshake) fields of a frame; a body too short for them is "unparsed", never a throw. */
function describe(direction: Direction, first: boolean, body: Buffer): Header {
  const r = new JuteReader(body, "frame");
  try {
    if (first) {
      const handshake = direction === "request" ? ConnectRequest.read(r) : ConnectResponse.read(r);
      return { kind: "connect", sessionId: handshake.sessionId };
    }
    if (direction === "request") {
      const h = RequestHeader.read(r);
      return { kind: "message", xid: h.xid, opcode: h.type };
    }
    const h = ReplyHeader.read(r);
    return { kind: "message", xid: h.xid, zxid: h.zxid, err: h.err };
  } catch (error) {
    if (error instanceof ZkProtocolError) return { kind: "unparsed" };
    throw error;
  }
}
