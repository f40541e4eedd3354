/**
 * The retry on connection loss. A request that failed with ConnectionLoss may or may not have been
 * applied; the client reconnects on its own (same session). A read is safe to repeat; a write is
 * repeated only where the recipe can tell whether it happened (the protected create finds its child
 * by id, a delete answers NoNode). Nothing retries once the recipe's signal aborted or the session ended.
 */
import { ZooKeeperError } from "../../errors.js";

/** Whether `err` is a ConnectionLoss worth retrying (and `signal`, if given, has not aborted). */
export function isRetryable(err: unknown, signal?: AbortSignal): boolean {
  return err instanceof ZooKeeperError && err.isConnectionLoss && signal?.aborted !== true;
}

/** Runs `fn` until it does not fail with ConnectionLoss. Use for reads and idempotent calls only. */
export async function retryOnConnectionLoss<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err, signal)) throw err;
    }
  }
}

/** `promise`'s rejection marked as handled, for a request written alongside another that is awaited first. */
export function ignore(): void {}
