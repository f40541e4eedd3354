/**
 * Plumbing shared by the shared-state recipes (counters, values, barriers, queues, service discovery):
 * deadlines from a signal and a timeout, waiting for a usable session, and the async iterable that
 * carries watched values to consumers. Only the public client API is used.
 */
import type { ZooKeeper } from "../../client/client.js";
import { RecipeClosedError, RecipeTimeoutError, ZkArgumentError, ZooKeeperError } from "../../errors.js";
import { ErrorCode } from "../../protocol/constants.js";

// One test for a connection loss across the recipes (support.ts), offered here beside the code checks.
export { isConnectionLoss } from "./support.js";
// The errors live with every other zkwire error (src/errors.ts); their names stay importable from here.
export { RecipeClosedError, RecipeTimeoutError };

export function isCode(err: unknown, code: number): boolean {
  return err instanceof ZooKeeperError && err.code === code;
}

export const isNoNode = (err: unknown) => isCode(err, ErrorCode.NoNode);
export const isNodeExists = (err: unknown) => isCode(err, ErrorCode.NodeExists);
export const isBadVersion = (err: unknown) => isCode(err, ErrorCode.BadVersion);
export const isNotEmpty = (err: unknown) => isCode(err, ErrorCode.NotEmpty);

export function checkTimeout(timeout: unknown, what = "timeout"): void {
  if (timeout !== undefined && (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0))
    throw new ZkArgumentError(`${what} must be a number of ms >= 0, got ${String(timeout)}`);
}

export function checkSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new ZkArgumentError("signal must be an AbortSignal");
}

/**
 * One signal for "the caller gave up": the caller's signal, a timeout (aborting with a
 * RecipeTimeoutError naming `what`) and the recipe's own close. `undefined` when none can fire, so
 * the common call without them passes nothing on.
 */
export class Deadline implements Disposable {
  readonly signal: AbortSignal | undefined;
  private readonly controller: AbortController | undefined;
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly sources: AbortSignal[];
  private readonly onAbort: () => void;

  constructor(what: string, options: { signal?: AbortSignal; timeout?: number }, closed?: AbortSignal) {
    checkSignal(options.signal);
    checkTimeout(options.timeout);
    this.sources = [options.signal, closed].filter((s): s is AbortSignal => s !== undefined);
    const needed = this.sources.length > 0 || options.timeout !== undefined;
    this.controller = needed ? new AbortController() : undefined;
    this.signal = this.controller?.signal;
    this.onAbort = () => {
      const source = this.sources.find((s) => s.aborted);
      this.controller?.abort(source?.reason);
    };
    for (const source of this.sources) {
      if (source.aborted) this.onAbort();
      else source.addEventListener("abort", this.onAbort, { once: true });
    }
    this.timer =
      options.timeout === undefined || this.signal?.aborted
        ? undefined
        : setTimeout(
            () => this.controller?.abort(new RecipeTimeoutError(`${what}: not within ${options.timeout} ms`)),
            options.timeout,
          );
  }

  /** Throws the reason if the caller gave up. */
  check(): void {
    this.signal?.throwIfAborted();
  }

  /** Resolves with `promise`, or rejects with the abort reason as soon as the caller gives up. */
  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal === undefined) return promise;
    if (signal.aborted) {
      promise.catch(() => {});
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  [Symbol.dispose](): void {
    clearTimeout(this.timer);
    for (const source of this.sources) source.removeEventListener("abort", this.onAbort);
  }
}

/**
 * Resolves once the client is connected (now or later). Rejects when the client can never be again
 * (closed, auth failed, expired without renewal), or when `signal` aborts.
 */
export async function whenConnected(zk: ZooKeeper, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const states = zk.states(signal);
  try {
    if (zk.state.kind === "connected" || zk.state.kind === "read-only") return;
    for await (const state of states) {
      if (state.kind === "connected" || state.kind === "read-only") return;
    }
  } finally {
    await states.return?.();
  }
  signal?.throwIfAborted();
  throw new RecipeClosedError(`the ZooKeeper client is ${zk.state.kind}`);
}

/**
 * A queue of values read by async iterators: each iterator sees every value pushed after it was made
 * (and, if given, a first value), ends on `break`, its signal, or end(); an error ends it by throwing.
 */
export class Fanout<T> {
  private readonly listeners = new Set<{ push: (v: T) => void; end: (e?: unknown) => void }>();
  private ended: { error?: unknown } | undefined;

  get size(): number {
    return this.listeners.size;
  }

  push(value: T): void {
    for (const listener of this.listeners) listener.push(value);
  }

  end(error?: unknown): void {
    if (this.ended !== undefined) return;
    this.ended = { error };
    for (const listener of [...this.listeners]) listener.end(error);
  }

  iterate(first: T | undefined, signal?: AbortSignal): AsyncIterableIterator<T> {
    checkSignal(signal);
    const queue: T[] = first === undefined ? [] : [first];
    let wake: (() => void) | null = null;
    let done = this.ended !== undefined || signal?.aborted === true;
    let failure: unknown = this.ended?.error;
    const listener = {
      push: (value: T) => {
        queue.push(value);
        wake?.();
      },
      end: (error?: unknown) => {
        failure = error;
        stop();
      },
    };
    const stop = () => {
      done = true;
      this.listeners.delete(listener);
      signal?.removeEventListener("abort", stop);
      wake?.();
    };
    if (!done) {
      this.listeners.add(listener);
      signal?.addEventListener("abort", stop, { once: true });
    }
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        for (;;) {
          if (queue.length > 0 && !(signal?.aborted ?? false)) return { value: queue.shift()!, done: false };
          if (done) {
            if (failure !== undefined) {
              const error = failure;
              failure = undefined;
              throw error;
            }
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      },
      return: async () => {
        queue.length = 0;
        failure = undefined;
        stop();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/** Milliseconds to wait before retry `attempt` (0-based): exponential from `base`, capped, jittered. */
export function backoff(attempt: number, base: number, max: number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * A latch a watcher sets and a loop waits on: a kick that comes before the wait is not lost, and
 * several kicks before one wait count once (the loop reads the current state anyway).
 */
export class Kick {
  private kicked = false;
  private wake: (() => void) | null = null;

  readonly kick = (): void => {
    this.kicked = true;
    this.wake?.();
  };

  /** Resolves at the next kick (at once if one came since the last wait), or when `signal` aborts. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (!this.kicked && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener("abort", done);
          this.wake = null;
          resolve();
        };
        this.wake = done;
        signal?.addEventListener("abort", done, { once: true });
      });
    }
    this.kicked = false;
  }
}
