/**
 * Small pieces the coordination recipes (PersistentNode, GroupMember, Partitioner, Semaphore,
 * ReadWriteLock) share: abortable waits, the retry of an idempotent call after ConnectionLoss, the
 * wait for a usable session, and the check of a node name before anything is sent.
 *
 * They use the public client API only. The shared recipe toolkit (the contender, the lease, the
 * connection view) is being extracted from lock.ts separately; these are the few helpers left once
 * that exists, and move there when it does.
 */
import type { ZooKeeper } from "../client/client.js";
import { ZkArgumentError, ZooKeeperError } from "../errors.js";
import { JUTE_MAX_BUFFER } from "../protocol/constants.js";
import { pathProblem } from "../session/paths.js";
import type { SessionState } from "../session/state.js";

/** `promise`, or the signal's reason once it aborts (the promise goes on; its outcome is ignored). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(ignore);
    return Promise.reject(signal.reason);
  }
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

/** Resolves after `ms`, or rejects with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortable(
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }),
    signal,
  );
}

export function ignore(): void {}

export function isConnectionLoss(err: unknown): boolean {
  return err instanceof ZooKeeperError && err.isConnectionLoss;
}

export function isCode(err: unknown, name: string): boolean {
  return err instanceof ZooKeeperError && err.codeName === name;
}

/**
 * Repeats `fn` after ConnectionLoss (the client reconnects by itself; the call must be safe to repeat:
 * a read, or a write whose repetition is harmless). Anything else, or an aborted signal, ends it.
 */
export async function retrying<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionLoss(err) || signal?.aborted) throw err;
    }
  }
}

/** Whether the client can never serve a request again (closed, or refused our credentials). */
export function isFinished(state: SessionState): boolean {
  return state.kind === "closed" || state.kind === "auth-failed";
}

/**
 * Resolves true once the client is connected (at once if it is), false if it ends (closed or
 * auth-failed) first. After an expiry it waits for a renewed session (renewSessionOnExpiry); on a
 * client without renewal that is never, so the caller's signal is what ends the wait.
 */
export function untilConnected(zk: ZooKeeper, signal?: AbortSignal): Promise<boolean> {
  const usable = (s: SessionState) => s.kind === "connected" || s.kind === "read-only";
  if (usable(zk.state)) return Promise.resolve(true);
  if (isFinished(zk.state)) return Promise.resolve(false);
  let onState: ((s: SessionState) => void) | undefined;
  const wait = new Promise<boolean>((resolve) => {
    onState = (s) => {
      if (usable(s)) resolve(true);
      else if (isFinished(s)) resolve(false);
    };
    zk.on("state", onState);
  });
  return abortable(wait, signal).finally(() => zk.off("state", onState!));
}

/**
 * Checks a node name (one path segment) as the server would, and its size against the server's
 * packet limit, before anything is sent.
 */
export function validateNodeName(name: unknown, what: string): string {
  if (typeof name !== "string" || name.length === 0)
    throw new ZkArgumentError(`${what} must be a non-empty string`);
  if (name.includes("/")) throw new ZkArgumentError(`${what} "${name}" must not contain "/"`);
  const problem = pathProblem(`/${name}`);
  if (problem !== null) throw new ZkArgumentError(`${what} "${name}" is not a valid node name: ${problem}`);
  if (Buffer.byteLength(name) > JUTE_MAX_BUFFER)
    throw new ZkArgumentError(`${what} is longer than the server's packet limit (${JUTE_MAX_BUFFER} bytes)`);
  return name;
}

/** Data as bytes (a string is UTF-8), checked against the server's packet limit. */
export function dataBytes(data: Uint8Array | string | null | undefined, what: string): Uint8Array {
  if (data === null || data === undefined) return new Uint8Array(0);
  let bytes: Uint8Array;
  if (typeof data === "string") bytes = Buffer.from(data, "utf8");
  else if (data instanceof Uint8Array) bytes = data;
  else throw new ZkArgumentError(`${what} must be a string or a Uint8Array`);
  if (bytes.length > JUTE_MAX_BUFFER)
    throw new ZkArgumentError(`${what} is larger than the server's packet limit (${JUTE_MAX_BUFFER} bytes)`);
  return bytes;
}

/**
 * A queue read as an async iterator, ended by `close()` or the signal; `break` in a for-await ends it
 * too. Values pushed while nobody reads are kept in order.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private readonly onAbort = () => this.close();

  constructor(
    private readonly signal?: AbortSignal,
    private readonly onEnd?: () => void,
  ) {
    if (signal?.aborted) this.ended = true;
    else signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  push(value: T): void {
    if (this.ended) return;
    this.queue.push(value);
    this.wake?.();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    this.onEnd?.();
    this.wake?.();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      const value = this.queue.shift();
      if (value !== undefined) return { value, done: false };
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
