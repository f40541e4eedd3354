/** Frames out of a byte stream, for any chunking. */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { ZkProtocolError } from "../../src/protocol/errors.js";
import { FrameDecoder } from "../../src/protocol/framing.js";

const numRuns = Number(process.env.FC_RUNS ?? 1000);

function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** Cuts `stream` at the given points (taken modulo its length). */
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

function collect(decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const c of chunks) decoder.push(c, (f) => frames.push(Buffer.from(f)));
  return frames;
}

describe("FrameDecoder", () => {
  const bodies = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 });

  it("yields the same frames for any chunking", () => {
    fc.assert(
      fc.property(bodies, fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map(frame));
        const got = collect(new FrameDecoder(), split(stream, cuts));
        expect(got).toEqual(frames.map((b) => Buffer.from(b)));
      }),
      { numRuns },
    );
  });

  it("yields the same frames for any chunking when each chunk is read into again after push()", () => {
    fc.assert(
      fc.property(bodies, fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map(frame));
        const decoder = new FrameDecoder();
        // One buffer for every read, as a socket reading into its own buffer does; garbage after each.
        const readBuffer = Buffer.allocUnsafeSlow(stream.length + 1);
        const got: Buffer[] = [];
        for (const piece of split(stream, cuts)) {
          const chunk = readBuffer.subarray(0, piece.length);
          piece.copy(chunk);
          decoder.push(
            chunk,
            (f, owned) => {
              // A view of the read buffer is lent only; anything else is the handler's to keep.
              expect(owned).toBe(f.buffer !== readBuffer.buffer);
              got.push(Buffer.from(f));
            },
            true,
          );
          readBuffer.fill(0xee);
        }
        expect(got).toEqual(frames.map((b) => Buffer.from(b)));
      }),
      { numRuns },
    );
  });

  it("says which frames are owned: views of a chunk handed over, and joined ones", () => {
    const a = frame(Buffer.from("first"));
    const b = frame(Buffer.from("second"));
    const owned: boolean[] = [];
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([a, b.subarray(0, 3)]), (_f, o) => owned.push(o));
    decoder.push(b.subarray(3), (_f, o) => owned.push(o));
    expect(owned).toEqual([true, true]);
  });

  it("works one byte at a time", () => {
    const frames = [Buffer.from("abc"), Buffer.alloc(0), Buffer.from("0123456789")];
    const stream = Buffer.concat(frames.map(frame));
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(collect(new FrameDecoder(), chunks)).toEqual(frames);
  });

  it("hands whole frames on as views of the chunk, joining only split ones", () => {
    const a = frame(Buffer.from("first"));
    const b = frame(Buffer.from("second"));
    // Unpooled, so that a view of it and a joined copy cannot share an ArrayBuffer by chance.
    const chunk = Buffer.allocUnsafeSlow(a.length + 6);
    a.copy(chunk, 0);
    b.copy(chunk, a.length, 0, 6);
    const seen: Buffer[] = [];
    const decoder = new FrameDecoder();
    decoder.push(chunk, (f) => seen.push(f));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.buffer).toBe(chunk.buffer);
    expect(seen[0]!.byteOffset).toBe(chunk.byteOffset + 4);
    expect(decoder.buffered).toBe(6);
    decoder.push(b.subarray(6), (f) => seen.push(f));
    expect(seen[1]!.toString()).toBe("second");
    expect(seen[1]!.buffer).not.toBe(chunk.buffer);
    expect(decoder.buffered).toBe(0);
  });

  it("pushRanges hands on the chunk itself with each frame's bounds, and a joined frame whole", () => {
    const a = frame(Buffer.from("first"));
    const b = frame(Buffer.from("second"));
    const c = frame(Buffer.from("third"));
    const chunk = Buffer.concat([a, b, c.subarray(0, 5)]);
    const seen: [Buffer, number, number, boolean][] = [];
    const decoder = new FrameDecoder();
    decoder.pushRanges(chunk, (buf, start, end, owned) => seen.push([buf, start, end, owned]), true);
    expect(seen).toHaveLength(2);
    expect(seen[0]![0]).toBe(chunk);
    expect(seen[0]!.slice(1)).toEqual([4, 9, false]);
    expect(seen[1]![0]).toBe(chunk);
    expect(seen[1]!.slice(1)).toEqual([13, 19, false]);
    chunk.fill(0); // a reused chunk is read into again: the held piece of the third frame was copied
    decoder.pushRanges(c.subarray(5), (buf, start, end, owned) => seen.push([buf, start, end, owned]));
    const [joined, start, end, owned] = seen[2]!;
    expect(joined.toString("latin1", start, end)).toBe("third");
    expect([start, end, owned]).toEqual([0, 5, true]);
  });

  it("refuses a negative length and a length over the maximum, with the stream offset", () => {
    const ok = frame(Buffer.from("x"));
    const negative = Buffer.from("ffffff00", "hex");
    const d1 = new FrameDecoder();
    const err = catchProtocol(() => collect(d1, [Buffer.concat([ok, negative])]));
    expect(err.record).toBe("frame");
    expect(err.offset).toBe(5);
    expect(err.message).toMatch(/negative frame length -256/);
    // A failed stream stays failed.
    expect(() => d1.push(ok, () => {})).toThrow(ZkProtocolError);

    const d2 = new FrameDecoder(1000);
    const big = Buffer.alloc(4);
    big.writeInt32BE(1001);
    expect(catchProtocol(() => collect(d2, [big])).message).toMatch(
      /frame length 1001 exceeds the maximum packet size 1000/,
    );
    // The check happens on the prefix alone, also when it arrives split.
    const d3 = new FrameDecoder(1000);
    expect(catchProtocol(() => collect(d3, [big.subarray(0, 2), big.subarray(2)])).message).toMatch(/1001/);
  });

  it("arbitrary bytes end in frames or a ZkProtocolError, allocating no more than was received", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const allocUnsafe = vi.spyOn(Buffer, "allocUnsafe");
        const decoder = new FrameDecoder();
        let received = 0;
        try {
          for (const c of chunks) {
            received += c.length;
            decoder.push(Buffer.from(c), () => {});
            expect(decoder.buffered).toBeLessThanOrEqual(received);
          }
        } catch (err) {
          if (!(err instanceof ZkProtocolError)) throw err;
        } finally {
          const largest = Math.max(0, ...allocUnsafe.mock.calls.map(([n]) => n));
          allocUnsafe.mockRestore();
          expect(largest).toBeLessThanOrEqual(Math.max(4, received));
        }
      }),
      { numRuns },
    );
  });
});

function catchProtocol(fn: () => unknown): ZkProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ZkProtocolError) return err;
    throw err;
  }
  throw new Error("expected a ZkProtocolError");
}
