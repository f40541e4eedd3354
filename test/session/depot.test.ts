/**
 * The depot's writes, with no socket: frames encoded into the shared chunks leave in order, numbered, as
 * one slice when they lie side by side, and joined around what an abort or another session put between
 * them. Every written byte is checked against the same request encoded on its own (encodeRequest).
 */
import { describe, expect, it } from "vitest";
import { Xid } from "../../src/protocol/constants.js";
import type { JuteRecord } from "../../src/protocol/jute.js";
import { encodeRequest, type Operation, Operations } from "../../src/protocol/operations.js";
import { Depot, encodeFrame, type Frame, finish, type Pending, request } from "../../src/session/depot.js";

const ignore = () => {};

/** A depot whose writes are kept, attached at once. */
function depot(): { depot: Depot; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const d = new Depot(ignore);
  d.attach((bytes) => {
    writes.push(bytes);
    return true;
  });
  return { depot: d, writes };
}

function getData(path: string): Pending {
  return request(
    Operations.getData,
    encodeFrame(Operations.getData, { path, watch: false }),
    null,
    ignore,
    ignore,
  );
}

/** The getData request for `path` as it must look on the wire, numbered `xid`. */
function expected(path: string, xid: number): Buffer {
  return encodeRequest(Operations.getData, { path, watch: false }, xid);
}

describe("Depot", () => {
  it("writes one tick's frames as one slice of the chunk they were encoded into, numbered in order", () => {
    const { depot: d, writes } = depot();
    const paths = ["/a", "/b/c", "/d"];
    const ps = paths.map(getData);
    for (const p of ps) d.push(p);
    d.flush();
    expect(writes).toHaveLength(1);
    const [bytes] = writes as [Buffer];
    expect(bytes).toEqual(Buffer.concat(paths.map((path, i) => expected(path, i + 1))));
    // No copy: the slice is of the chunk the frames were written in.
    expect(bytes.buffer).toBe(ps[0]!.frame.buf.buffer);
    expect(ps.map((p) => p.xid)).toEqual([1, 2, 3]);
  });

  it("leaves out a request aborted before it was written, and joins what lies around it", () => {
    const { depot: d, writes } = depot();
    const ps = ["/a", "/aborted", "/c"].map(getData);
    for (const p of ps) d.push(p);
    finish(ps[1]!);
    d.flush();
    expect(writes).toEqual([Buffer.concat([expected("/a", 1), expected("/c", 2)])]);
  });

  it("keeps each session's order when the frames of two sessions interleave in the chunk", () => {
    const one = depot();
    const two = depot();
    for (let i = 0; i < 5; i++) {
      one.depot.push(getData(`/one/${i}`));
      two.depot.push(getData(`/two/${i}`));
    }
    one.depot.flush();
    two.depot.flush();
    const all = (name: string) => Buffer.concat([0, 1, 2, 3, 4].map((i) => expected(`/${name}/${i}`, i + 1)));
    expect(one.writes).toEqual([all("one")]);
    expect(two.writes).toEqual([all("two")]);
  });

  it("gives a large frame a buffer of its own and writes it in its place", () => {
    const { depot: d, writes } = depot();
    const data = Buffer.alloc(20_000, 7);
    const set = encodeFrame(Operations.setData, { path: "/big", data, version: -1 });
    expect([set.start, set.end]).toEqual([0, set.buf.length]);
    d.push(getData("/before"));
    d.push(request(Operations.setData, set, null, ignore, ignore));
    d.push(getData("/after"));
    d.flush();
    const big = encodeRequest(Operations.setData, { path: "/big", data, version: -1 }, 2);
    expect(writes).toEqual([Buffer.concat([expected("/before", 1), big, expected("/after", 3)])]);
  });

  it("starts a new chunk when one is full, and never writes into bytes already handed out", () => {
    const { depot: d, writes } = depot();
    const path = `/${"x".repeat(2000)}`;
    const frames: Frame[] = [];
    // 40 frames of about 2 KB: more than one 64 KiB chunk holds.
    for (let i = 0; i < 40; i++) {
      const p = getData(path);
      frames.push(p.frame);
      d.push(p);
      if (i % 10 === 9) d.flush();
    }
    expect(new Set(frames.map((f) => f.buf.buffer)).size).toBeGreaterThan(1);
    const written = Buffer.concat(writes);
    expect(written).toEqual(Buffer.concat(frames.map((_, i) => expected(path, i + 1))));
    // Every earlier write still holds its bytes after the later ones.
    let offset = 0;
    for (const w of writes) {
      expect(w).toEqual(written.subarray(offset, offset + w.length));
      offset += w.length;
    }
  });

  it("keeps a reserved xid as encoded", () => {
    const { depot: d, writes } = depot();
    const value = { type: 0, scheme: "digest", auth: Buffer.from("u:p") };
    d.push(
      request(Operations.auth, encodeFrame(Operations.auth, value, Xid.auth), null, ignore, ignore, Xid.auth),
    );
    d.push(getData("/a"));
    d.flush();
    expect(writes).toEqual([
      Buffer.concat([encodeRequest(Operations.auth, value, Xid.auth), expected("/a", 1)]),
    ]);
  });

  it("refuses a frame whose record writes other than the size it gave", () => {
    const lying: JuteRecord<{ path: string }> = {
      name: "Lying",
      fields: [["path", "ustring"]],
      size: () => 4,
      write: (w, v) => w.ustring(v.path),
      read: () => ({ path: "" }),
    };
    const op = { name: "getData", opcode: 4, request: lying, response: null } as unknown as Operation<
      { path: string },
      void
    >;
    expect(() => encodeFrame(op, { path: "/abc" })).toThrow(/wrote 20 bytes of a 16-byte frame/);
    // The chunk goes on: the next frame is whole.
    const { depot: d, writes } = depot();
    d.push(getData("/next"));
    d.flush();
    expect(writes).toEqual([expected("/next", 1)]);
  });
});
