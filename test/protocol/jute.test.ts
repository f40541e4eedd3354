/** The primitives' exact bytes and the reader's refusals, case by case. */
import { describe, expect, it, vi } from "vitest";
import { ZkProtocolError } from "../../src/protocol/errors.js";
import { decode, encode, JuteReader, JuteWriter } from "../../src/protocol/jute.js";
import { GetChildrenResponse, GetDataResponse, Id, SetWatches } from "../../src/protocol/records/index.js";

function bytesOf(write: (w: JuteWriter) => void, size: number): string {
  const w = JuteWriter.alloc(size);
  write(w);
  expect(w.pos).toBe(size);
  return w.buf.toString("hex");
}

describe("primitives", () => {
  it("int and long are big-endian two's complement", () => {
    expect(bytesOf((w) => w.int(-2), 4)).toBe("fffffffe");
    expect(bytesOf((w) => w.long(-(2n ** 63n)), 8)).toBe("8000000000000000");
    expect(bytesOf((w) => w.long(0x0102030405060708n), 8)).toBe("0102030405060708");
  });

  it("null buffer, string and vector are length -1; empty ones are length 0", () => {
    expect(bytesOf((w) => w.buffer(null), 4)).toBe("ffffffff");
    expect(bytesOf((w) => w.ustring(null), 4)).toBe("ffffffff");
    expect(bytesOf((w) => w.ustringVector(null), 4)).toBe("ffffffff");
    expect(bytesOf((w) => w.ustring(""), 4)).toBe("00000000");
    expect(bytesOf((w) => w.buffer(new Uint8Array(0)), 4)).toBe("00000000");
  });

  it("a character beyond the BMP is standard 4-byte UTF-8 and reads back intact", () => {
    const s = "a\u{1D11E}é中";
    const bytes = encode(Id, { scheme: s, id: "" });
    expect(bytes.subarray(0, 14).toString("hex")).toBe("0000000a61f09d849ec3a9e4b8ad");
    expect(decode(Id, bytes)).toEqual({ scheme: s, id: "" });
  });

  it("invalid UTF-8 from the wire reads as U+FFFD, not an exception", () => {
    const bytes = Buffer.from("00000002fffe00000000", "hex");
    expect(decode(Id, bytes)).toEqual({ scheme: "\uFFFD\uFFFD", id: "" });
  });

  it("any non-zero byte reads as true", () => {
    expect(new JuteReader(Buffer.from([7])).boolean()).toBe(true);
  });
});

describe("buffer(): a copy, or a view of memory nobody else holds", () => {
  /** A 4-byte length prefix and `n` bytes of 0xab, with `extra` bytes after them, in memory of its own. */
  function framed(n: number, extra: number): Buffer {
    const b = Buffer.alloc(4 + n + extra);
    b.writeInt32BE(n, 0);
    b.fill(0xab, 4, 4 + n);
    expect(b.buffer.byteLength).toBe(b.length); // not a slice of Node's shared pool
    return b;
  }

  it("copies by default: changing the source later leaves what was read alone", () => {
    const src = framed(100, 0);
    const data = new JuteReader(src).buffer()!;
    src.fill(0);
    expect(Buffer.from(data).equals(Buffer.alloc(100, 0xab))).toBe(true);
  });

  it("an exclusive reader views memory at most 1 KB larger than the bytes", () => {
    const src = framed(100, 1024 - 4);
    const r = new JuteReader(src);
    r.exclusive = true;
    const data = r.buffer()!;
    expect(data.buffer).toBe(src.buffer);
    expect(Buffer.from(data).equals(Buffer.alloc(100, 0xab))).toBe(true);
    expect(r.pos).toBe(104);
  });

  it("an exclusive reader copies out of larger memory, so a small result keeps no large chunk alive", () => {
    const src = framed(100, 1024 - 3);
    const r = new JuteReader(src);
    r.exclusive = true;
    const data = r.buffer()!;
    expect(data.buffer).not.toBe(src.buffer);
    expect(Buffer.from(data).equals(Buffer.alloc(100, 0xab))).toBe(true);
  });
});

describe("the reader refuses bad input with a ZkProtocolError naming record and offset", () => {
  it("truncated record", () => {
    const bytes = encode(GetDataResponse, {
      data: Buffer.from("hello"),
      stat: {
        czxid: 1n,
        mzxid: 2n,
        ctime: 3n,
        mtime: 4n,
        version: 5,
        cversion: 6,
        aversion: 7,
        ephemeralOwner: 8n,
        dataLength: 5,
        numChildren: 0,
        pzxid: 9n,
      },
    });
    const err = catchError(() => decode(GetDataResponse, bytes.subarray(0, 20)));
    expect(err).toBeInstanceOf(ZkProtocolError);
    expect(err.record).toBe("GetDataResponse");
    expect(err.offset).toBe(17);
    expect(err.message).toMatch(/GetDataResponse at offset 17: truncated: long needs 8 bytes, 3 remain/);
  });

  it("a buffer length beyond what remains is refused before any allocation", () => {
    const allocUnsafe = vi.spyOn(Buffer, "allocUnsafe");
    const err = catchError(() => decode(GetDataResponse, Buffer.from("7fffffff00", "hex")));
    expect(allocUnsafe).not.toHaveBeenCalled();
    allocUnsafe.mockRestore();
    expect(err.message).toMatch(/buffer length 2147483647 exceeds the 1 bytes that remain/);
    expect(err.offset).toBe(0);
  });

  it("a vector count beyond what remains is refused", () => {
    const err = catchError(() => decode(GetChildrenResponse, Buffer.from("0000000300000000", "hex")));
    expect(err.message).toMatch(/vector length 3 exceeds/);
  });

  it("negative lengths other than -1 are refused", () => {
    expect(catchError(() => decode(Id, Buffer.from("fffffffe", "hex"))).message).toMatch(
      /negative ustring length -2/,
    );
  });

  it("a null string inside a string vector is refused", () => {
    // relativeZxid, empty dataWatches, empty existWatches, childWatches of one null string
    const bytes = Buffer.from(`${"00".repeat(8)}00000000${"00000000"}00000001ffffffff`, "hex");
    expect(catchError(() => decode(SetWatches, bytes)).message).toMatch(/null string inside a vector/);
  });

  it("trailing bytes after a whole record are refused by decode()", () => {
    expect(catchError(() => decode(Id, Buffer.from("000000000000000000", "hex"))).message).toMatch(
      /1 trailing bytes/,
    );
  });
});

function catchError(fn: () => unknown): ZkProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ZkProtocolError) return err;
    throw err;
  }
  throw new Error("expected a ZkProtocolError");
}
