/**
 * Helpers of the semaphore and read-write lock tests: peer holders (test/peers/curator/HolderPeer.java,
 * test/peers/kazoo/holder.py) and zkwire holders log when they held ("acquired" .. "released", monotonic-clock
 * microseconds of one host), and one judge counts how many held at once.
 */
import type { ContenderHandle, PeerEvent } from "../peers/peers.js";

export interface Hold {
  readonly id: string;
  readonly kind: string;
  readonly from: number;
  readonly to: number;
}

/** A peer's holds from its acquired/released events. */
export function peerHolds(handle: ContenderHandle, kind: string): Hold[] {
  const holds: Hold[] = [];
  let from: number | null = null;
  for (const e of handle.events as unknown as PeerEvent[]) {
    if (e.event === "acquired") from = e.t as number;
    else if (e.event === "released" && from !== null) {
      holds.push({ id: handle.id, kind, from, to: e.t as number });
      from = null;
    }
  }
  return holds;
}

/** The most holds (of the given kinds, default all) that overlapped at one moment. */
export function maxConcurrent(holds: readonly Hold[], kinds?: readonly string[]): number {
  const points: [number, number][] = [];
  for (const h of holds) {
    if (kinds !== undefined && !kinds.includes(h.kind)) continue;
    points.push([h.from, 1], [h.to, -1]);
  }
  // Ends before starts at one instant: a hold that ends when another starts did not overlap it.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of points) {
    now += d;
    max = Math.max(max, now);
  }
  return max;
}

/** Pairs of holds that overlap where one of them is a writer. */
export function writerOverlaps(holds: readonly Hold[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < holds.length; i++)
    for (let j = i + 1; j < holds.length; j++) {
      const a = holds[i]!;
      const b = holds[j]!;
      if ((a.kind === "write" || b.kind === "write") && a.from < b.to && b.from < a.to)
        found.push(`${a.id}(${a.kind}) [${a.from}, ${a.to}] and ${b.id}(${b.kind}) [${b.from}, ${b.to}]`);
    }
  return found;
}

/** Sends a command and waits for the answer event after it. */
export async function command(handle: ContenderHandle, line: string, answer: string): Promise<PeerEvent> {
  const before = (handle.events as unknown as PeerEvent[]).filter((e) => e.event === answer).length;
  handle.send(line);
  let seen = 0;
  return handle.waitForEvent(answer, () => ++seen > before, 60_000);
}
