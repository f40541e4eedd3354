/**
 * The floor: the least work any client could do for the same operations, so the other clients can be
 * read as "how far above the floor". It shares no code with zkwire (a zkwire bug or a zkwire speed-up
 * must not move the floor).
 *
 * - Request frames are encoded once per run, by hand; issuing one copies the frame into the next write
 *   and patches its xid (the server echoes xids and requires nothing else of them).
 * - Everything issued in one tick leaves in one socket write.
 * - Replies are counted, not decoded: per frame only the length, the xid and the error code are read
 *   (16 bytes of header), and the body is skipped.
 * - The handshake is the ConnectRequest of protocol version 0 with the read-only byte; pings keep the
 *   session alive while other clients take their turn.
 * - For the lock scenarios it needs reply bodies (created names, children) and watch notifications, so
 *   lock() switches the connection to reading whole frames, with one callback per request in order;
 *   the recipe on top is the same predecessor recipe the callback clients use.
 *
 *   reply stream:  [len|xid|zxid|err|body......][len|xid|zxid|err|body...]...
 *                   '--- read (20 bytes) ---''-skip-'
 */
import * as net from "node:net";
import type { BenchClient, ClientFactory, Done, Lock, Op } from "./client.js";
import { PredecessorLock } from "./predecessor-lock.js";

const OP_CREATE = 1;
const OP_DELETE = 2;
const OP_EXISTS = 3;
const OP_GET_DATA = 4;
const OP_SET_DATA = 5;
const OP_GET_CHILDREN = 8;
const OP_PING = 11;
const OP_CLOSE = -11;
const XID_NOTIFICATION = -1;
const XID_PING = -2;
const CREATE_EPHEMERAL = 1;
const CREATE_EPHEMERAL_SEQUENTIAL = 3;
const NO_NODE = -101;
const PERMS_ALL = 31;
/** Length prefix, xid, zxid, err. */
const REPLY_HEAD = 20;

/** A request frame with its length prefix; xid 0, to be patched at offset 4 when sent. */
function frame(opcode: number, body: (b: Builder) => void): Buffer {
  const parts = new Builder();
  parts.int(0); // length, filled in below
  parts.int(0); // xid
  parts.int(opcode);
  body(parts);
  const buf = parts.toBuffer();
  buf.writeInt32BE(buf.length - 4, 0);
  return buf;
}

/** Just enough of Jute to hand-encode five frames once per run. */
class Builder {
  private readonly chunks: Buffer[] = [];
  int(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.chunks.push(b);
  }
  long0(): void {
    this.chunks.push(Buffer.alloc(8));
  }
  bytes(b: Buffer): void {
    this.int(b.length);
    this.chunks.push(b);
  }
  string(s: string): void {
    this.bytes(Buffer.from(s, "utf8"));
  }
  byte(v: number): void {
    this.chunks.push(Buffer.from([v]));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const getDataFrame = (path: string) =>
  frame(OP_GET_DATA, (b) => {
    b.string(path);
    b.byte(0); // watch: false
  });

const setDataFrame = (path: string, data: Buffer) =>
  frame(OP_SET_DATA, (b) => {
    b.string(path);
    b.bytes(data);
    b.int(-1); // any version
  });

/** Opcode create (not create2): the smallest reply, the path alone. */
const createFrame = (path: string, data: Buffer, flags = CREATE_EPHEMERAL) =>
  frame(OP_CREATE, (b) => {
    b.string(path);
    b.bytes(data);
    b.int(1); // one ACL: world:anyone, all permissions
    b.int(PERMS_ALL);
    b.string("world");
    b.string("anyone");
    b.int(flags);
  });

/** getData, exists and getChildren share one body: a path and a watch flag. */
const pathWatchFrame = (opcode: number, path: string, watch: boolean) =>
  frame(opcode, (b) => {
    b.string(path);
    b.byte(watch ? 1 : 0);
  });

const deleteFrame = (path: string) =>
  frame(OP_DELETE, (b) => {
    b.string(path);
    b.int(-1);
  });

const EMPTY = Buffer.alloc(0);

const PING = (() => {
  const f = frame(OP_PING, () => {});
  f.writeInt32BE(XID_PING, 4);
  return f;
})();

function connectFrame(timeoutMs: number): Buffer {
  const b = new Builder();
  b.int(0); // length
  b.int(0); // protocolVersion
  b.long0(); // lastZxidSeen
  b.int(timeoutMs);
  b.long0(); // sessionId: a new session
  b.bytes(Buffer.alloc(16)); // passwd
  b.byte(0); // readOnly: false
  const buf = b.toBuffer();
  buf.writeInt32BE(buf.length - 4, 0);
  return buf;
}

/** Called per reply with the server's error code (0: ok). */
type ReplySink = (err: number) => void;
/** Called with a whole reply (lock mode): the error code and the body after the reply header. */
type ReplyCallback = (err: number, body: Buffer) => void;

function readString(b: Buffer, off: number): [string, number] {
  const n = b.readInt32BE(off);
  if (n < 0) return ["", off + 4];
  return [b.toString("utf8", off + 4, off + 4 + n), off + 4 + n];
}

class RawFloor implements BenchClient {
  private nextXid = 1;
  private readonly queued: Buffer[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private sink: ReplySink | null = null;
  /** Bytes of the current reply still to skip. */
  private skip = 0;
  /** A reply head split across chunks, gathered here. */
  private readonly head = Buffer.alloc(REPLY_HEAD);
  private headHave = 0;
  private lastSent = performance.now();
  private readonly pinger: NodeJS.Timeout;
  /** Lock mode: replies read whole, answered in order; one-shot watches by path. */
  private whole = false;
  private partial: Buffer | null = null;
  private readonly callbacks: ReplyCallback[] = [];
  private readonly watchers = new Map<string, (() => void)[]>();
  private readonly flushNow = () => this.flush();

  constructor(
    private readonly socket: net.Socket,
    sessionTimeoutMs: number,
  ) {
    socket.on("data", (chunk: Buffer) => this.scan(chunk));
    // A third of the session timeout, as every client does: the server expires a silent session at T.
    const every = sessionTimeoutMs / 3;
    this.pinger = setInterval(() => {
      if (performance.now() - this.lastSent >= every) this.write(PING);
    }, every / 2);
    this.pinger.unref();
  }

  issuer(op: Op, done: Done): () => void {
    this.whole = false;
    switch (op.kind) {
      case "get":
      case "set": {
        const f = op.kind === "get" ? getDataFrame(op.path) : setDataFrame(op.path, op.data);
        this.sink = (err) => done(err === 0 ? null : new Error(`server error ${err}`));
        return () => this.queue(f);
      }
      case "create-delete": {
        // One pair at a time (the node has one name): a create's reply sends the delete; the delete's
        // reply ends the operation.
        const create = createFrame(op.path, op.data);
        const remove = deleteFrame(op.path);
        let creating = true;
        this.sink = (err) => {
          if (creating && err === 0) {
            creating = false;
            this.queue(remove);
            return;
          }
          creating = true;
          done(err === 0 ? null : new Error(`server error ${err}`));
        };
        return () => this.queue(create);
      }
    }
  }

  lock(lockPath: string): Lock {
    this.whole = true;
    const request = (f: Buffer, cb: ReplyCallback) => {
      this.callbacks.push(cb);
      this.queue(f);
    };
    const fail = (err: number) => (err === 0 ? null : new Error(`server error ${err}`));
    return new PredecessorLock(
      {
        createEphemeralSequential: (prefix, cb) =>
          request(createFrame(prefix, EMPTY, CREATE_EPHEMERAL_SEQUENTIAL), (err, body) =>
            cb(fail(err), err === 0 ? readString(body, 0)[0] : ""),
          ),
        getChildren: (path, cb) =>
          request(pathWatchFrame(OP_GET_CHILDREN, path, false), (err, body) => {
            const names: string[] = [];
            if (err === 0) {
              let off = 4;
              for (let i = body.readInt32BE(0); i > 0; i--) {
                const [name, next] = readString(body, off);
                names.push(name);
                off = next;
              }
            }
            cb(fail(err), names);
          }),
        existsWatch: (path, watcher, cb) => {
          // The server sets the watch whether or not the node exists, so it is registered either way.
          const list = this.watchers.get(path) ?? [];
          list.push(watcher);
          this.watchers.set(path, list);
          request(pathWatchFrame(OP_EXISTS, path, true), (err) =>
            cb(err === NO_NODE ? null : fail(err), err === 0),
          );
        },
        delete: (path, cb) => request(deleteFrame(path), (err) => cb(fail(err))),
      },
      lockPath,
    );
  }

  close(): Promise<void> {
    clearInterval(this.pinger);
    this.sink = null;
    return new Promise((resolve) => {
      const f = frame(OP_CLOSE, () => {});
      f.writeInt32BE(this.nextXid, 4);
      this.socket.once("close", () => resolve());
      this.socket.end(f);
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    });
  }

  private queue(f: Buffer): void {
    this.queued.push(f);
    this.queuedBytes += f.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = Buffer.allocUnsafe(this.queuedBytes);
    let off = 0;
    for (const f of this.queued) {
      f.copy(out, off);
      out.writeInt32BE(this.nextXid, off + 4);
      this.nextXid = this.nextXid === 0x7fffffff ? 1 : this.nextXid + 1;
      off += f.length;
    }
    this.queued.length = 0;
    this.queuedBytes = 0;
    this.write(out);
  }

  private write(bytes: Buffer): void {
    this.lastSent = performance.now();
    this.socket.write(bytes);
  }

  /** Counts whole replies in a chunk; a head split across chunks is gathered in `head`. */
  private scan(chunk: Buffer): void {
    if (this.whole) {
      this.frames(chunk);
      return;
    }
    const end = chunk.length;
    let off = 0;
    while (off < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - off);
        this.skip -= n;
        off += n;
        continue;
      }
      if (this.headHave === 0 && end - off >= REPLY_HEAD) {
        this.reply(chunk, off);
        off += REPLY_HEAD;
        continue;
      }
      const n = Math.min(REPLY_HEAD - this.headHave, end - off);
      chunk.copy(this.head, this.headHave, off, off + n);
      this.headHave += n;
      off += n;
      if (this.headHave === REPLY_HEAD) {
        this.headHave = 0;
        this.reply(this.head, 0);
      }
    }
  }

  /** Lock mode: whole frames out of the stream (a frame split across chunks is joined). */
  private frames(chunk: Buffer): void {
    const buf = this.partial === null ? chunk : Buffer.concat([this.partial, chunk]);
    this.partial = null;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const f = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      const xid = f.readInt32BE(0);
      const body = f.subarray(REPLY_HEAD - 4);
      if (xid === XID_NOTIFICATION) {
        // WatcherEvent: type, state, path; every watch here is one-shot and wants only "it changed".
        const path = readString(body, 8)[0];
        const list = this.watchers.get(path);
        this.watchers.delete(path);
        for (const w of list ?? []) w();
      } else if (xid >= 0) {
        this.callbacks.shift()?.(f.readInt32BE(12), body);
      }
    }
    if (off < buf.length) this.partial = buf.subarray(off);
  }

  /** One reply head at `off`: [len][xid][zxid][err]. */
  private reply(buf: Buffer, off: number): void {
    this.skip = buf.readInt32BE(off) - (REPLY_HEAD - 4);
    const xid = buf.readInt32BE(off + 4);
    if (xid < 0) return; // ping replies and notifications
    this.sink?.(buf.readInt32BE(off + 16));
  }
}

export const factory: ClientFactory = {
  connect(connectString, sessionTimeoutMs) {
    const first = connectString.split(",")[0]!;
    const colon = first.lastIndexOf(":");
    const host = first.slice(0, colon);
    const port = Number(first.slice(colon + 1));
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      socket.once("error", reject);
      socket.once("connect", () => socket.write(connectFrame(sessionTimeoutMs)));
      // The ConnectResponse is the first frame; nothing else comes before we send a request.
      let got = Buffer.alloc(0);
      const onHandshake = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length < 4 || got.length < 4 + got.readInt32BE(0)) return;
        socket.off("data", onHandshake);
        socket.off("error", reject);
        const negotiated = got.readInt32BE(8);
        if (negotiated <= 0) {
          socket.destroy();
          reject(new Error("raw-floor: the server refused the session"));
          return;
        }
        resolve(new RawFloor(socket, negotiated));
      };
      socket.on("data", onHandshake);
    });
  },
  unsupported() {
    return null;
  },
};
