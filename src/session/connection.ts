/**
 * One TCP (or TLS) connection to one server: bytes in as frames, bytes out as given. It knows nothing of
 * sessions; the session drives the handshake and decides what to write. It ends exactly once, reporting
 * why (null for a clean end).
 */
import type * as tls from "node:tls";
import { FrameDecoder } from "../protocol/framing.js";
import { type Clock, netTransport, realClock, type SocketLike, type Transport } from "./clock.js";
import type { HostAddress } from "./connect-string.js";
import { ReadPacer } from "./read-pacing.js";

export interface ConnectionHandlers {
  /** The socket is open (TLS: handshake done); the session may write. */
  onOpen(): void;
  /**
   * A whole frame, bytes `[start, end)` of `buf`; throwing ends the connection with that error. `owned`:
   * its memory stays as it is; otherwise it is read into again once this returns (copy what you keep).
   */
  onFrame(buf: Buffer, start: number, end: number, owned: boolean): void;
  /** The socket can take more after a write returned false. */
  onDrain(): void;
  /** Requests written and not yet answered (read-pacing.ts: whether to wait before the next read). */
  inFlight(): number;
  /** Called once, after which nothing else is called. */
  onClose(error: Error | null): void;
}

export interface ConnectionOptions {
  /** TLS options, or undefined for plain TCP. */
  tls: tls.ConnectionOptions | undefined;
  maxPacketSize: number;
  /**
   * Wait a moment before reading again while many requests are in flight (read-pacing.ts). Plain TCP only:
   * a paused TLS socket stops reading once it holds 16 KiB, and hands over one record per data event.
   */
  readPacing: boolean;
  /** Where the connection reads the time (default: performance.now()). */
  clock?: Clock | undefined;
  /** How it opens its socket (default: node:net, or node:tls). */
  transport?: Transport | undefined;
}

export class Connection {
  readonly address: HostAddress;
  private readonly socket: SocketLike;
  private readonly clock: Clock;
  private readonly decoder: FrameDecoder;
  /** Null when reads are not paced. */
  private readonly pacer: ReadPacer | null;
  /** Frames the read being handled has brought so far. */
  private framesThisRead = 0;
  /** The timer that ends a held read, while one is held. */
  private holdTimer: unknown = null;
  private closed = false;
  /** clock.now() of the last bytes received and sent: the session's timers read these. */
  lastReceived: number;
  lastSent: number;

  constructor(
    address: HostAddress,
    options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.address = address;
    this.decoder = new FrameDecoder(options.maxPacketSize);
    this.clock = options.clock ?? realClock;
    this.lastReceived = this.lastSent = this.clock.now();
    this.pacer = options.readPacing && options.tls === undefined ? new ReadPacer(this.lastReceived) : null;
    const { socket, openEvent } = (options.transport ?? netTransport)(
      address,
      options.tls,
      (chunk, reused, full) => this.received(chunk, reused, full),
    );
    this.socket = socket;
    this.socket.once(openEvent, () => this.opened());
    this.socket.setNoDelay(true);
    this.socket.on("drain", () => {
      if (!this.closed) this.handlers.onDrain();
    });
    this.socket.on("error", (err) => this.end(err));
    this.socket.on("close", () => this.end(new Error("connection closed by the server")));
    this.socket.on("end", () => this.end(new Error("connection closed by the server")));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes bytes; false when the socket's buffer is full (wait for onDrain before writing more). */
  write(bytes: Buffer): boolean {
    if (this.closed) return false;
    this.lastSent = this.clock.now();
    return this.socket.write(bytes);
  }

  /** Ends the connection; `error` says why (null: we chose to, cleanly). */
  end(error: Error | null = null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.holdTimer !== null) this.clock.clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.socket.destroy();
    this.handlers.onClose(error);
  }

  /** The decoder's frame handler, bound once rather than a closure per read. */
  private readonly onFrame = (buf: Buffer, start: number, end: number, owned: boolean): void => {
    this.framesThisRead++;
    if (!this.closed) this.handlers.onFrame(buf, start, end, owned);
  };

  /** The end of a held read: read again. */
  private readonly resumeReads = (): void => {
    this.holdTimer = null;
    if (!this.closed) this.socket.resume();
  };

  private opened(): void {
    if (!this.closed) this.handlers.onOpen();
  }

  private received(chunk: Buffer, reused: boolean, full: boolean): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.lastReceived = now;
    this.framesThisRead = 0;
    try {
      this.decoder.pushRanges(chunk, this.onFrame, reused);
    } catch (err) {
      this.end(err as Error);
      return;
    }
    if (this.pacer === null || this.closed || this.holdTimer !== null) return;
    const hold = this.pacer.afterRead(now, this.framesThisRead, this.handlers.inFlight(), full);
    if (hold > 0) {
      this.socket.pause();
      this.holdTimer = this.clock.setTimeout(this.resumeReads, hold);
    }
  }
}
