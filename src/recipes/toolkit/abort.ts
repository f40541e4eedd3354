/**
 * Abort and timeout plumbing shared by the recipes: one signal that aborts when the caller's signal
 * does or the timeout passes, and a way to race a promise (a watch) against it.
 */

/** A caller's `signal` and `timeout` joined into one signal; `done()` removes the timer and listener. */
export interface Deadline {
  /** undefined when the caller gave neither: the hot path then passes no signal to any call. */
  readonly signal: AbortSignal | undefined;
  done(): void;
}

/**
 * Joins `signal` and `timeout` (ms) into one signal. On the timeout it aborts with `onTimeout()`, on the
 * caller's abort with the caller's reason. Only a caller that can give up pays for a controller, a
 * listener and a timer.
 */
export function deadline(
  options: { signal?: AbortSignal | undefined; timeout?: number | undefined },
  onTimeout: () => Error,
): Deadline {
  const { signal, timeout } = options;
  signal?.throwIfAborted();
  if (signal === undefined && timeout === undefined) return { signal: undefined, done: noop };
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = timeout === undefined ? undefined : setTimeout(() => stop.abort(onTimeout()), timeout);
  return {
    signal: stop.signal,
    done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** `promise`, or a rejection with the signal's reason once it aborts (the promise itself goes on). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Checks a timeout option before anything is sent. Returns the reason it is bad, or undefined. */
export function timeoutProblem(timeout: unknown): string | undefined {
  if (timeout === undefined) return undefined;
  return typeof timeout === "number" && Number.isFinite(timeout) && timeout >= 0
    ? undefined
    : `timeout must be a number of ms >= 0, got ${String(timeout)}`;
}

function noop(): void {}
