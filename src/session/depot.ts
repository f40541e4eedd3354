/**
 * Pending requests, in one structure: the frames waiting to be written and the frames written and not
 * yet answered, in order.
 *
 *   submit() ──> toWrite [r5 r6 r7]  ──flush (one socket write per tick)──>  written [r2 r3 r4] ──> reply
 *                (encoded at call time;                                     (answered in order: the
 *                 xid patched in at write)                                   head must match each reply)
 *
 * A request's xid is assigned when it is written, so xids on the wire always increase. On connection
 * loss every written request fails with ConnectionLoss (it may or may not have been applied); requests
 * not yet written stay queued for the next connection. A queued request that is aborted is only marked
 * done; the flush skips it, so nothing is searched for or spliced out.
 */
import type { JuteReader } from "../protocol/jute.js";
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

export interface Pending {
  readonly opcode: number;
  /** The whole frame, length prefix included; the xid sits at offset 4. */
  readonly frame: Buffer;
  xid: number;
  status: RequestStatus;
  readonly decode: ((r: JuteReader) => unknown) | null;
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
