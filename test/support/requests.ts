/**
 * The requests each session writes, counted by opcode from the zkwire:request diagnostics channel: for
 * tests that pin down how many round trips a recipe costs the server.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ZooKeeper } from "../../src/index.js";

export interface RequestCounts {
  /** The opcodes `zk`'s session has written since counting began, with how often. */
  of(zk: ZooKeeper): Map<number, number>;
  stop(): void;
}

export function countRequests(): RequestCounts {
  const bySession = new Map<bigint, Map<number, number>>();
  const onRequest = (m: unknown) => {
    const { session, opcode } = m as { session: bigint; opcode: number };
    let counts = bySession.get(session);
    if (counts === undefined) bySession.set(session, (counts = new Map()));
    counts.set(opcode, (counts.get(opcode) ?? 0) + 1);
  };
  subscribe("zkwire:request", onRequest);
  return {
    of: (zk) => bySession.get(zk.sessionId) ?? new Map(),
    stop: () => unsubscribe("zkwire:request", onRequest),
  };
}
