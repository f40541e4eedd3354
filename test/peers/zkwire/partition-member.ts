/**
 * A zkwire Partitioner member as a process of its own, so that the partitioner test and the
 * partition-rebalance benchmark can kill it with kill -9 as they kill a kazoo member. It speaks the protocol of
 * test/peers/kazoo/partitioner.py (the kazoo member): the same arguments, the same JSON lines
 * (ready, state ACQUIRED/RELEASE/ALLOCATING/FAILURE with "t" in monotonic-clock microseconds), "quit" on stdin.
 *
 *   tsx test/peers/zkwire/partition-member.ts CONNECT PATH ID SETTLE_SECONDS ITEMS [--session-timeout-ms=N]
 */
import { createInterface } from "node:readline";
import { Partitioner, ZooKeeper } from "../../../src/index.js";
import { monotonicMicros } from "../clock.js";

const [connect, path, id, settle, items] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const timeoutArg = process.argv.find((a) => a.startsWith("--session-timeout-ms="));
const sessionTimeout = timeoutArg === undefined ? 10_000 : Number(timeoutArg.split("=")[1]);
const emit = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, id, ...fields })}\n`);

try {
  const zk = await ZooKeeper.connect(connect!, { sessionTimeout });
  const partitioner = new Partitioner(zk, path!, items!.split(",").filter(Boolean), {
    id,
    settle: Number(settle) * 1000,
  });
  emit("ready", { pid: process.pid });
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "quit") void partitioner.close();
  });
  let held: readonly string[] = [];
  for await (const state of partitioner.states()) {
    if (state.kind === "acquired") {
      held = state.items;
      emit("state", { state: "ACQUIRED", items: [...held].sort(), t: monotonicMicros() });
    } else if (state.kind === "release") {
      emit("state", { state: "RELEASE", items: [...held].sort(), t: monotonicMicros() });
      held = [];
      await partitioner.release();
    } else if (state.kind === "allocating") {
      emit("state", { state: "ALLOCATING", t: monotonicMicros() });
    } else {
      emit("state", { state: "FAILURE", t: monotonicMicros() });
      break;
    }
  }
  await partitioner.close();
  await zk.close();
  process.exit(0);
} catch (error) {
  emit("error", { message: String(error) });
  process.exit(1);
}
