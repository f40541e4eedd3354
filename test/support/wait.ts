/**
 * Bounded waits for the tests: each fails with what it saw instead of hanging until the test
 * timeout, and none sleeps for correctness: states are awaited on `zk.states()`, server-side facts are
 * polled with a deadline.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { SessionState, SessionStateKind, ZooKeeper } from "../../src/index.js";

/**
 * Resolves with the client's state once its kind is `kind` (now, or at a later transition). Rejects
 * after `timeoutMs` naming the states seen, or when the session reaches another terminal state.
 */
export async function waitForState(
  zk: ZooKeeper,
  kind: SessionStateKind,
  timeoutMs: number,
): Promise<SessionState> {
  const seen: string[] = [zk.state.kind];
  const abort = new AbortController();
  // states() listens from the call on, so a transition between it and the check below is not missed.
  const states = zk.states(abort.signal);
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    if (zk.state.kind === kind) return zk.state;
    for await (const state of states) {
      seen.push(state.kind);
      if (state.kind === kind) return state;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  throw new Error(
    `state "${kind}" not reached within ${timeoutMs} ms; seen: ${seen.join(" -> ")} (now ${zk.state.kind})`,
  );
}

/** Polls `probe` every `intervalMs` until it returns true; rejects after `timeoutMs` with `what`. */
export async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** The rejection of `promise`, or an error saying it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => new Error(`expected a rejection, got ${String(value)}`),
    (err: unknown) => err,
  );
}
