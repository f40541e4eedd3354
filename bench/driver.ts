/**
 * The loop every client is driven by: `depth` operations in flight, kept full (each completion issues
 * the next), until the time or the operation count is up; then the operations still in flight are
 * waited for. The driver's own work per operation is a counter and a call, the same for every client;
 * the end of a timed run is a flag set by a timer, so no clock is read per operation unless latencies
 * are wanted.
 */
import type { Done, Lock, LockHold } from "./clients/client.js";

export interface Limit {
  /** Stop issuing after this long (when `ops` is 0). */
  readonly durationMs: number;
  /** Issue exactly this many operations; 0: run for `durationMs`. */
  readonly ops: number;
}

export interface DriveResult {
  ops: number;
  errors: number;
  firstError: string | undefined;
  /** Per-operation latencies in ms, in completion order (only when asked for, depth 1). */
  latencies: Float64Array | undefined;
}

export interface DriveOptions {
  depth: number;
  limit: Limit;
  /** Time each operation (sequential runs only: one start time is tracked). */
  latency: boolean;
  /** Called right after the first `depth` operations are issued, before any can complete. */
  afterIssue?: () => void;
}

export function drive(makeIssuer: (done: Done) => () => void, options: DriveOptions): Promise<DriveResult> {
  const { depth, limit, latency } = options;
  if (latency && depth !== 1) throw new Error("latencies are measured at depth 1 only");
  const maxOps = limit.ops > 0 ? limit.ops : Number.POSITIVE_INFINITY;
  return new Promise((resolve) => {
    let inFlight = 0;
    let issued = 0;
    let completed = 0;
    let errors = 0;
    let firstError: string | undefined;
    let stopped = false;
    let startedAt = 0;
    const log = latency ? new LatencyLog() : null;
    const timer = limit.ops > 0 ? null : setTimeout(() => (stopped = true), limit.durationMs);

    const done: Done = (error) => {
      inFlight--;
      completed++;
      if (log !== null) log.add(performance.now() - startedAt);
      if (error !== null && error !== undefined) {
        errors++;
        firstError ??= String((error as Error)?.message ?? error);
      }
      if (!stopped && issued < maxOps) {
        issued++;
        inFlight++;
        if (log !== null) startedAt = performance.now();
        issue();
      } else if (inFlight === 0) {
        if (timer !== null) clearTimeout(timer);
        resolve({ ops: completed, errors, firstError, latencies: log?.values() });
      }
    };
    const issue = makeIssuer(done);
    const first = Math.min(depth, maxOps);
    if (log !== null) startedAt = performance.now();
    for (let i = 0; i < first; i++) {
      issued++;
      inFlight++;
      issue();
    }
    options.afterIssue?.();
  });
}

/**
 * `contenders` sessions, each taking and releasing the lock in a loop until the time or count is up.
 * One operation is one acquire followed by its release.
 */
export function driveLock(locks: readonly Lock[], limit: Limit): Promise<DriveResult> {
  const maxOps = limit.ops > 0 ? limit.ops : Number.POSITIVE_INFINITY;
  return new Promise((resolve) => {
    let started = 0;
    let completed = 0;
    let running = locks.length;
    let errors = 0;
    let firstError: string | undefined;
    let stopped = false;
    const timer = limit.ops > 0 ? null : setTimeout(() => (stopped = true), limit.durationMs);
    const fail = (error: unknown) => {
      errors++;
      firstError ??= String((error as Error)?.message ?? error);
    };
    const retire = () => {
      if (--running > 0) return;
      if (timer !== null) clearTimeout(timer);
      resolve({ ops: completed, errors, firstError, latencies: undefined });
    };
    const loop = (lock: Lock) => {
      if (stopped || started >= maxOps) return retire();
      started++;
      lock.acquire((error: unknown, hold: LockHold | null) => {
        if (hold === null) {
          // A failed acquire ends the run: going on would measure the failure, not the lock.
          fail(error);
          stopped = true;
          return retire();
        }
        hold.release((releaseError) => {
          if (releaseError !== null && releaseError !== undefined) fail(releaseError);
          completed++;
          loop(lock);
        });
      });
    };
    for (const lock of locks) loop(lock);
  });
}

/** A growable log of doubles: one Float64Array, doubled when full, so logging never allocates per op. */
class LatencyLog {
  private buf = new Float64Array(1 << 16);
  private n = 0;
  add(v: number): void {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.n);
  }
}
