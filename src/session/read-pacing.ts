/**
 * When a connection waits a moment before its next read. With many requests in flight, replies come in a
 * steady stream; reading each one the moment it lands costs the client a wake-up and a read per reply or
 * two, and sends the server its next requests one or two at a time. Waiting about a millisecond first lets
 * replies gather in the kernel's buffer: one read takes them all, and the requests they make room for leave
 * together in one write.
 *
 * The wait must never starve the server. It is taken only while at least HEADROOM times what the server
 * answers in one wait is still in flight, so the server always has work queued behind the wait. The reply
 * rate is measured over windows of RATE_WINDOW_MS; if waiting slowed the server down, the rate falls, the
 * queue in flight drains, and the waits stop. Below MIN_IN_FLIGHT requests in flight it never waits: a
 * caller with a handful of requests out is waiting on each one. Nor after a read that filled the buffer:
 * more is already waiting, and waiting would only slow a stream of large replies down.
 *
 * Plain TCP only (connection.ts): a paused TLS socket stops reading once it holds 16 KiB, and hands over
 * what it holds one TLS record at a time, so a wait per record would cap it at one record per wait.
 *
 * Measured with `npm run bench` beside zkwire-unpaced (bench/README.md, "Read pacing, kept").
 */

/** How long a held read waits (Node's shortest timer). */
export const HOLD_MS = 1;
/** Fewer in flight than this: every read at once. */
export const MIN_IN_FLIGHT = 32;
/** In flight at least this many waits' worth of replies, or no wait. */
export const HEADROOM = 4;
/** The reply rate is measured over windows at least this long. */
export const RATE_WINDOW_MS = 20;

export class ReadPacer {
  private windowStart: number;
  private windowReplies = 0;
  /** Replies per ms over the last whole window; 0 until one has passed. */
  private rate = 0;

  constructor(now: number) {
    this.windowStart = now;
  }

  /** Replies per ms in the last whole window. */
  get repliesPerMs(): number {
    return this.rate;
  }

  /**
   * A read at `now` brought `replies` frames and left `inFlight` requests unanswered; `full`: it filled the
   * read buffer. How long to wait before reading again (0: read at once).
   */
  afterRead(now: number, replies: number, inFlight: number, full = false): number {
    this.windowReplies += replies;
    const elapsed = now - this.windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      this.rate = this.windowReplies / elapsed;
      this.windowStart = now;
      this.windowReplies = 0;
    }
    return !full && inFlight >= MIN_IN_FLIGHT && inFlight >= HEADROOM * HOLD_MS * this.rate ? HOLD_MS : 0;
  }
}
