/**
 * The depot: every pending request of a session, from the call that made it to its answer, with the
 * verbs of that job (push, flush, answer, fail, hold). Nothing else touches the queues or the xids.
 *
 *   push() ──> toWrite [r5 r6 r7]  ──flush (one socket write per tick)──>  written [r2 r3 r4] ──> answer(xid)
 *              (encoded at call time;                                     (answered in order: the head
 *               xid patched in at write)                                   must carry the reply's xid)
 *
 * Frames are encoded end to end into shared chunks (encodeFrame), so the requests a session makes in one
 * tick usually lie side by side and leave as one slice of a chunk, with no buffer made per request and
 * none joined per write. The frames of other sessions of the process, or one aborted, split a run: the
 * runs are then joined.
 *
 * A request's xid is assigned when it is written, so xids on the wire always increase. ZooKeeper answers
 * one connection's requests in order, so `written` is a FIFO and answer(xid) checks its head instead of
 * searching a map: a reply for any other xid means the stream cannot be trusted, and the connection ends.
 * Auth packets carry the reserved xid -4 and are answered in their own order (`authWritten`).
 *
 * Nothing is written while the depot is detached (no connection, or its handshake not yet answered),
 * held (SASL authentication runs; see sasl/mechanism.ts for why the server requires this), or congested
 * (the socket's buffer is full; the connection's drain releases it).
 *
 * On connection loss every written request fails with ConnectionLoss (it may or may not have been
 * applied); requests not yet written stay queued for the next connection. A queued request that is
 * aborted is only marked done; the flush skips it, so nothing is searched for or spliced out.
 */

import { ZkProtocolError } from "../errors.js";
import { Xid } from "../protocol/constants.js";
import { JuteWriter } from "../protocol/jute.js";
import { type AnyOperation, type Operation, requestSize, writeRequest } from "../protocol/operations.js";
import type { Watcher, WatchKind } from "./watches.js";

/** Why a request failed: a ZooKeeper error code (server's or the client's own) and optional words. */
export interface Failure {
  readonly code: number;
  readonly detail?: string;
  readonly cause?: unknown;
}

/** Where a successful reply registers a watch (e.g. exists: data watch on Ok, exist watch on NoNode). */
export interface WatchRegistration {
  readonly path: string;
  readonly watcher: Watcher;
  readonly onOk: WatchKind | null;
  readonly onNoNode: WatchKind | null;
}

export const RequestStatus = {
  Queued: 0,
  Written: 1,
  /** Answered, failed, aborted or timed out: the caller has its outcome. */
  Done: 2,
} as const;
export type RequestStatus = (typeof RequestStatus)[keyof typeof RequestStatus];

/** A request's whole frame, length prefix included: bytes `[start, end)` of `buf`; its xid at start + 4. */
export interface Frame {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

/** Chunks frames are encoded into; a frame larger than OWN_BUFFER gets a buffer of its own. */
const CHUNK = 64 * 1024;
const OWN_BUFFER = 8 * 1024;
/** The chunk being filled, shared by every session of the process; `arena.pos` is its first free byte. */
let arena: JuteWriter | null = null;

/**
 * Encodes a request frame (xid 0: numbered when written; else a reserved xid) after the last one in the
 * shared chunk. Written bytes are never written again except the xid, before the frame leaves; a chunk
 * that is full is left to the frames in it, and freed with the last of them.
 */
export function encodeFrame<Req>(
  operation: Operation<Req, unknown>,
  value: Req,
  xid = 0,
  size = requestSize(operation, value),
): Frame {
  let w: JuteWriter;
  if (size > OWN_BUFFER) {
    w = JuteWriter.alloc(size);
  } else {
    if (arena === null || arena.buf.length - arena.pos < size) arena = JuteWriter.alloc(CHUNK);
    w = arena;
  }
  const start = w.pos;
  writeRequest(w, operation, value, size, xid);
  return { buf: w.buf, start, end: w.pos };
}

export interface Pending {
  /** What the request is: its opcode, and the record its reply is decoded with. */
  readonly op: AnyOperation;
  /** The request's frame, from encodeFrame; its xid is written in when the frame is sent. */
  readonly frame: Frame;
  xid: number;
  status: RequestStatus;
  readonly watch: WatchRegistration | null;
  resolve(value: unknown): void;
  reject(failure: Failure): void;
  /** Releases the abort listener and the timer, if any. */
  cleanup: (() => void) | null;
}

/** A FIFO with O(1) push and shift (a growable ring), for requests in flight. */
export class Fifo<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  /** Removes every item, returning them in order. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  private grow(): void {
    const bigger: (T | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) bigger[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = bigger;
    this.head = 0;
  }
}

const MAX_XID = 0x7fffffff;

/** The one place a request record is built. `xid` 0: numbered when written; else a reserved xid. */
export function request(
  op: AnyOperation,
  frame: Frame,
  watch: WatchRegistration | null,
  resolve: (value: unknown) => void,
  reject: (failure: Failure) => void,
  xid = 0,
): Pending {
  return { op, frame, xid, status: RequestStatus.Queued, watch, resolve, reject, cleanup: null };
}

/** Marks a request done and releases its abort listener and timer. */
export function finish(p: Pending): void {
  p.status = RequestStatus.Done;
  if (p.cleanup !== null) {
    p.cleanup();
    p.cleanup = null;
  }
}

/** Gives a request its outcome, unless its caller already has one (it gave up). */
export function settle(p: Pending, value: unknown, failure: Failure | null): void {
  if (p.status === RequestStatus.Done) return;
  finish(p);
  if (failure === null) p.resolve(value);
  else p.reject(failure);
}

export class Depot {
  private readonly toWrite = new Fifo<Pending>();
  private readonly written = new Fifo<Pending>();
  private readonly authWritten = new Fifo<Pending>();
  private xid = 1;
  private sink: ((bytes: Buffer) => boolean) | null = null;
  private held = false;
  private congested = false;
  private flushScheduled = false;

  /** `onWrite` hears of every request as it is written (the diagnostics channel). */
  constructor(private readonly onWrite: (p: Pending) => void) {}

  /** The next xid from the session's one counter (also SASL's, which is written outside the queue). */
  nextXid(): number {
    const xid = this.xid;
    this.xid = xid === MAX_XID ? 1 : xid + 1;
    return xid;
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.written.length + this.authWritten.length;
  }

  /** Queues a request behind every other; it leaves with the next flush. */
  push(p: Pending): void {
    this.toWrite.push(p);
    this.scheduleFlush();
  }

  /** Queues requests ahead of everything queued (credentials and watches on a new connection). */
  pushFirst(first: readonly Pending[]): void {
    if (first.length === 0) return;
    const rest = this.toWrite.drain();
    for (const p of first) this.toWrite.push(p);
    for (const p of rest) this.toWrite.push(p);
    this.scheduleFlush();
  }

  /** A connection is ready for requests: writes go to `write`, which says false when its buffer is full. */
  attach(write: (bytes: Buffer) => boolean): void {
    this.sink = write;
    this.congested = false;
    this.flush();
  }

  /** The connection ended: nothing is written until the next attach. */
  detach(): void {
    this.sink = null;
    this.congested = false;
    this.held = false;
  }

  /** Nothing but what bypasses the queue (SASL's tokens) is written until release(). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.flush();
  }

  /** The socket took what it had buffered: write again. */
  drained(): void {
    this.congested = false;
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // nextTick, not setImmediate: requests issued in the same tick, including from promise
    // continuations, leave together in one write without waiting for the next loop iteration.
    process.nextTick(this.flushNow);
  }

  /** flush, bound once rather than a closure per scheduled flush. */
  private readonly flushNow = (): void => this.flush();

  /**
   * Writes every queued request in one socket write, assigning xids in order. Frames that lie side by
   * side in one buffer leave as one slice of it; separate runs are joined.
   */
  flush(): void {
    this.flushScheduled = false;
    const write = this.sink;
    if (write === null || this.held || this.congested) return;
    let runs: Buffer[] | null = null;
    let run: Buffer | null = null;
    let runStart = 0;
    let runEnd = 0;
    let bytes = 0;
    for (let p = this.toWrite.shift(); p !== undefined; p = this.toWrite.shift()) {
      if (p.status === RequestStatus.Done) continue; // aborted before it was written
      const f = p.frame;
      if (p.xid === Xid.auth) {
        this.authWritten.push(p);
      } else if (p.xid === 0) {
        // A numbered request: its xid is decided now, so xids on the wire always increase.
        p.xid = this.nextXid();
        f.buf.writeInt32BE(p.xid, f.start + 4);
        this.written.push(p);
      }
      p.status = RequestStatus.Written;
      this.onWrite(p);
      bytes += f.end - f.start;
      if (f.buf === run && f.start === runEnd) {
        runEnd = f.end;
        continue;
      }
      if (run !== null) (runs ??= []).push(run.subarray(runStart, runEnd));
      run = f.buf;
      runStart = f.start;
      runEnd = f.end;
    }
    if (run === null) return;
    const last = run.subarray(runStart, runEnd);
    if (runs !== null) runs.push(last);
    if (!write(runs === null ? last : Buffer.concat(runs, bytes))) this.congested = true;
  }

  /**
   * The request a reply with this xid answers: the oldest written one. Throws ZkProtocolError when the
   * reply does not match it (the request stays, and fails with the rest when the connection ends).
   */
  answer(xid: number): Pending {
    const p = this.written.shift();
    if (p === undefined) throw new ZkProtocolError("reply", 0, `reply xid ${xid} answers no request`);
    if (p.xid !== xid) {
      this.written.push(p);
      throw new ZkProtocolError("reply", 0, `reply xid ${xid} out of order, expected ${p.xid}`);
    }
    return p;
  }

  /** The auth packet a reply with the auth xid answers, if any. */
  answerAuth(): Pending | undefined {
    return this.authWritten.shift();
  }

  /** Fails every written request (the connection ended); queued ones wait for the next connection. */
  failWritten(failure: Failure): void {
    for (const p of this.written.drain()) settle(p, null, failure);
    for (const p of this.authWritten.drain()) settle(p, null, failure);
  }

  /** Fails every request, written or not (the session ended). */
  failAll(failure: Failure): void {
    this.failWritten(failure);
    for (const p of this.toWrite.drain()) settle(p, null, failure);
  }
}
