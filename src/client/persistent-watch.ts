/**
 * A persistent (or persistent-recursive) watch as an async iterable of events. It stays registered
 * until the consumer leaves the loop (`break`, return, throw), the signal aborts, `close()` is called or
 * `await using` ends its scope; then it unregisters itself (removeWatches, when no other local watcher
 * still needs the server's registration). `zk.removeWatches(path, "persistent" | "persistentRecursive")`
 * also ends it, after a last PersistentWatchRemoved event.
 *
 *   for await (const event of await zk.addWatch("/config", { mode: "persistentRecursive" })) { ... }
 *
 * Events are queued until read, so a slow consumer loses nothing and slows no one else; a consumer that
 * never reads only grows its own queue. Besides node events it yields state events (type "None"):
 * "Disconnected" and then "SyncConnected" when the connection came back (events in between may have
 * been missed: persistent watches are re-registered on reconnection but not replayed), and a final one
 * ("Expired", "Closed", "AuthFailed") after which the iteration ends.
 */
import type { WatchedEvent } from "../session/watches.js";

const TERMINAL_STATES = new Set(["Expired", "Closed", "AuthFailed"]);

export class PersistentWatch implements AsyncIterableIterator<WatchedEvent>, AsyncDisposable {
  private readonly queue: WatchedEvent[] = [];
  private waiting: ((result: IteratorResult<WatchedEvent>) => void) | null = null;
  private ended = false;
  private closing: Promise<void> | null = null;
  private readonly onAbort = () => void this.close();

  /** The function registered in the session's watch registry. */
  readonly watcher = (event: WatchedEvent): void => {
    if (this.ended) return;
    // Last events: the session ended, or removeWatches took this watch out of the registry (nothing
    // can arrive after that, so a consumer waiting for more would wait forever).
    if (
      (event.type === "None" && TERMINAL_STATES.has(event.state)) ||
      event.type === "PersistentWatchRemoved"
    ) {
      this.push(event);
      this.end();
      return;
    }
    this.push(event);
  };

  constructor(
    readonly path: string,
    readonly recursive: boolean,
    private readonly unregister: (watch: PersistentWatch) => Promise<void>,
    private readonly signal?: AbortSignal,
  ) {
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Events received and not yet read. */
  get pending(): number {
    return this.queue.length;
  }

  get closed(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<WatchedEvent>> {
    const event = this.queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<WatchedEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops the watch: unregisters it and ends the iteration. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.signal?.removeEventListener("abort", this.onAbort);
      const wasEnded = this.ended;
      this.end();
      this.queue.length = 0;
      this.closing = wasEnded ? Promise.resolve() : this.unregister(this).catch(() => undefined);
    }
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private push(event: WatchedEvent): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting({ value: event, done: false });
    } else {
      this.queue.push(event);
    }
  }

  private end(): void {
    this.ended = true;
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting({ value: undefined, done: true });
    }
  }
}
