/**
 * A zkwire LeaderLatch participant in its own process, for the election-failover benchmark: it can be
 * killed with kill -9 as a real leader process would die. Speaks LatchPeer.java's protocol (JSON lines):
 *
 *   node --import tsx bench/recipes/election-peer.ts CONNECT LATCH_PATH ID SESSION_TIMEOUT_MS
 *   {"event":"ready","id":..,"pid":..}   {"event":"isLeader","id":..,"t":..}
 *   stdin "closeSession": {"event":"closing","t":..}, the client closes, {"event":"sessionClosed"}, exit 0
 */
import { createInterface } from "node:readline";
import { LeaderLatch, ZooKeeper } from "../../src/index.js";
import { monotonicMicros } from "../../test/peers/clock.js";

const [connect, path, id, sessionTimeout] = process.argv.slice(2) as [string, string, string, string];
const emit = (event: string, fields: object = {}) =>
  process.stdout.write(`${JSON.stringify({ event, id, ...fields })}\n`);

const zk = await ZooKeeper.connect(connect, { sessionTimeout: Number(sessionTimeout) });
const latch = new LeaderLatch(zk, path, { id });
latch.on("isLeader", () => emit("isLeader", { t: monotonicMicros() }));
latch.start();
emit("ready", { pid: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "closeSession") {
    emit("closing", { t: monotonicMicros() });
    await zk.close();
    emit("sessionClosed", { t: monotonicMicros() });
    process.exit(0);
  }
}
