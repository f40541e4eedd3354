/**
 * Volume: many requests in flight at once, answered in order, and a node with 10,000 children. The
 * requests are issued without awaiting each one (pipelined); a FaultProxy shows they really were in
 * flight together, not sent one after another.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZooKeeper } from "../../src/index.js";
import { OpCode } from "../../src/protocol/index.js";
import { FaultProxy } from "../../src/testing/proxy.js";
import { connect, Fixture, SHARED } from "./helpers.js";

let fx: Fixture;
let proxy: FaultProxy;
let zk: ZooKeeper;
beforeAll(async () => {
  fx = await Fixture.open("conformance-scale");
  const [host, port] = SHARED.split(":");
  proxy = await FaultProxy.start({ target: { host: host!, port: Number(port) }, logLimit: 50_000 });
  zk = await connect(proxy.connectString);
});
afterAll(async () => {
  await zk?.close();
  await proxy?.close();
  await fx?.close();
});

/** How many of the requests matching `opcodes` reached the server before the first reply to one came. */
function inFlightAtFirstReply(opcodes: readonly number[], from: number): number {
  const frames = proxy.frames.slice(from);
  const firstReply = frames.findIndex((f) => f.direction === "reply" && f.kind === "message" && f.xid! > 0);
  return frames
    .slice(0, firstReply)
    .filter((f) => f.direction === "request" && opcodes.includes(f.opcode ?? Number.NaN)).length;
}

describe("scale", () => {
  it("1,000 requests in flight resolve in the order they were issued, each with its own answer", async () => {
    const { path } = await zk.create(fx.path("busy"), "v-1");
    const order: number[] = [];
    const mark = proxy.frames.length;
    // Alternate writes and reads: each read must see exactly the write issued just before it.
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      i % 2 === 0
        ? zk.setData(path, `v${i}`).then((stat) => {
            order.push(i);
            return { version: stat.version, data: `v${i}` };
          })
        : zk.getData(path).then((r) => {
            order.push(i);
            return { version: r.stat.version, data: Buffer.from(r.data).toString() };
          }),
    );
    const results = await Promise.all(calls);
    expect(order).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    results.forEach((r, i) => {
      const write = i - (i % 2); // the setData at or just before i
      expect(r, `call ${i}`).toEqual({ version: write / 2 + 1, data: `v${write}` });
    });
    // Pipelined: a client that awaited each reply would have had one request out at a time.
    expect(inFlightAtFirstReply([OpCode.setData, OpCode.getData], mark)).toBeGreaterThan(100);
  });

  it("10,000 children, created pipelined, listed and counted", async () => {
    const dir = await fx.dir("wide");
    const n = 10_000;
    const names = Array.from({ length: n }, (_, i) => `child-${String(i).padStart(5, "0")}`);
    const mark = proxy.frames.length;
    const created = await Promise.all(names.map((name) => zk.create(`${dir}/${name}`)));
    expect(created.map((c) => c.path)).toEqual(names.map((name) => `${dir}/${name}`));
    expect(inFlightAtFirstReply([OpCode.create2], mark)).toBeGreaterThan(100);

    const { children, stat } = await zk.getChildren(dir);
    expect(children).toHaveLength(n);
    expect(children.sort()).toEqual(names);
    expect(stat.numChildren).toBe(n);
    expect(stat.cversion).toBe(n);
    expect(await zk.getAllChildrenNumber(dir)).toBe(n);
    expect(await zk.deleteRecursive(dir)).toBe(n + 1);
    expect(await zk.exists(dir)).toBeNull();
  });
});
