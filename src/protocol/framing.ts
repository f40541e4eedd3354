/**
 * Frames out of a TCP byte stream. Every ZooKeeper message, both ways, is an int32 big-endian length
 * followed by that many bytes.
 *
 * The stream arrives in chunks of any size. A frame that lies wholly inside one chunk is handed on as a
 * view of that chunk (no copy); only a frame that spans chunks is joined, once, when its last byte has
 * arrived. The pieces of a partial frame are kept as they came, so memory held never exceeds what was
 * received: a length prefix promising a megabyte allocates nothing until the megabyte is here.
 *
 *     chunk 1            chunk 2                chunk 3
 *   [len|frame A|len|fr][ame B .............. ][...B|len|frame C]
 *    '--- view ---'     '------- pieces of B, joined when complete -------'  '-- view --'
 *
 * A chunk may be `reused`: its memory is read into again once push() returns (a socket reading into a
 * buffer it keeps). Its frames are then views the handler must copy from to keep anything, and the
 * decoder copies the piece of a partial frame it holds on to.
 */
import { DEFAULT_MAX_PACKET } from "./constants.js";
import { ZkProtocolError } from "./errors.js";

/**
 * Receives one frame. `owned`: its memory stays as it is (a joined frame, or a view of a chunk that is not
 * reused); otherwise it is overwritten once the handler returns.
 */
export type FrameHandler = (frame: Buffer, owned: boolean) => void;

/**
 * Receives one frame as bytes `[start, end)` of `buf`, without a view made for it; `owned` as for
 * FrameHandler. (A view per frame is an object per reply; a session reads the range in place.)
 */
export type FrameRangeHandler = (buf: Buffer, start: number, end: number, owned: boolean) => void;

export class FrameDecoder {
  /** Largest frame body accepted; a larger length prefix ends the stream with a ZkProtocolError. */
  readonly maxFrame: number;
  /** Pieces of the frame (length prefix included) that has begun but not completed. */
  private pieces: Buffer[] = [];
  private piecesLength = 0;
  /** Bytes of the stream before the current frame, for error offsets. */
  private streamOffset = 0;
  private failed: ZkProtocolError | null = null;

  constructor(maxFrame = DEFAULT_MAX_PACKET) {
    this.maxFrame = maxFrame;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.piecesLength;
  }

  /**
   * Feeds a chunk; calls `onFrame` for each complete frame, in order. Throws ZkProtocolError on a bad
   * length; the decoder then stays failed (a stream cannot be resynchronised after a bad prefix).
   */
  push(chunk: Buffer, onFrame: FrameHandler, reused = false): void {
    this.pushRanges(chunk, (buf, start, end, owned) => onFrame(buf.subarray(start, end), owned), reused);
  }

  /** push(), each frame handed on as a range of a buffer rather than a view of it. */
  pushRanges(chunk: Buffer, onFrame: FrameRangeHandler, reused = false): void {
    if (this.failed) throw this.failed;
    let off = 0;
    if (this.piecesLength > 0) {
      off = this.completePending(chunk, onFrame, reused);
      if (off < 0) return;
    }
    const end = chunk.length;
    while (end - off >= 4) {
      const len = this.checkLength(chunk.readInt32BE(off));
      if (end - off - 4 < len) break;
      const start = off + 4;
      off = start + len;
      this.streamOffset += 4 + len;
      onFrame(chunk, start, off, !reused);
    }
    if (off < end) {
      // Keep a view when the chunk is ours to hold (handed over once); a copy when it is read into again.
      this.pieces.push(reused ? Buffer.from(chunk.subarray(off)) : chunk.subarray(off));
      this.piecesLength = end - off;
    }
  }

  /** Resets to the start of a new stream (a new connection). */
  reset(): void {
    this.pieces = [];
    this.piecesLength = 0;
    this.streamOffset = 0;
    this.failed = null;
  }

  /**
   * Adds `chunk` to the pending frame. Returns the offset in `chunk` where the bytes after the completed
   * frame begin, or -1 when the frame is still incomplete (all of `chunk` was taken).
   */
  private completePending(chunk: Buffer, onFrame: FrameRangeHandler, reused: boolean): number {
    this.pieces.push(chunk);
    this.piecesLength += chunk.length;
    if (this.piecesLength < 4) return this.holdLast(reused);
    const len = this.checkLength(this.pendingLength());
    const total = 4 + len;
    if (this.piecesLength < total) return this.holdLast(reused);

    // Complete: join the body once, exactly its size.
    const frame = Buffer.allocUnsafe(len);
    let skip = 4;
    let written = 0;
    for (const piece of this.pieces) {
      const from = Math.min(skip, piece.length);
      skip -= from;
      const take = Math.min(piece.length - from, len - written);
      if (take > 0) {
        piece.copy(frame, written, from, from + take);
        written += take;
      }
      if (written === len) break;
    }
    const consumedFromChunk = chunk.length - (this.piecesLength - total);
    this.pieces = [];
    this.piecesLength = 0;
    this.streamOffset += total;
    onFrame(frame, 0, len, true);
    return consumedFromChunk;
  }

  /** The frame is still incomplete: the chunk just added stays a piece (a copy if it is reused). -1. */
  private holdLast(reused: boolean): number {
    if (reused) this.pieces[this.pieces.length - 1] = Buffer.from(this.pieces[this.pieces.length - 1]!);
    return -1;
  }

  /** The length prefix of the pending frame, which may itself be split across pieces. */
  private pendingLength(): number {
    const first = this.pieces[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.allocUnsafe(4);
    let n = 0;
    for (const piece of this.pieces) {
      n += piece.copy(head, n, 0, Math.min(piece.length, 4 - n));
      if (n === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Offsets in errors are stream positions: `streamOffset` is where the offending frame starts. */
  private checkLength(len: number): number {
    if (len < 0 || len > this.maxFrame) {
      this.failed = new ZkProtocolError(
        "frame",
        this.streamOffset,
        (len < 0
          ? `negative frame length ${len}`
          : `frame length ${len} exceeds the maximum packet size ${this.maxFrame}`) + notZooKeeperHint(len),
      );
      throw this.failed;
    }
    return len;
  }
}

/**
 * A length prefix that is four printable ASCII bytes is text: the peer speaks another protocol (an HTTP
 * server answers "HTTP/1.1 400", which reads as length 1213486160). Say so, with the bytes, instead of
 * leaving the caller with a huge number.
 */
function notZooKeeperHint(len: number): string {
  const bytes = [len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff];
  if (!bytes.every((b) => b >= 0x20 && b < 0x7f)) return "";
  const text = String.fromCharCode(...bytes);
  const http = text === "HTTP" ? " (an HTTP server?)" : "";
  return `; the peer is probably not ZooKeeper: its reply begins with the text "${text}"${http}`;
}
