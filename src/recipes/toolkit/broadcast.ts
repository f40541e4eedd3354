/**
 * A recipe's changes as async iterables: every iterator made by `subscribe()` gets every value
 * published after it was made, in order, until the broadcast ends, its `signal` aborts, or the loop
 * `break`s (which removes it). Each iterator buffers what it has not read yet; the values are small
 * state records, and a slow reader must not make a fast one miss changes.
 */
export class Broadcast<T> {
  private readonly readers = new Set<Reader<T>>();
  private ended = false;

  /** Sends `value` to every current iterator. Ignored after end(). */
  publish(value: T): void {
    if (this.ended) return;
    for (const reader of this.readers) reader.push(value);
  }

  /** Ends every iterator once it has read what was published before. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const reader of this.readers) reader.finish();
    this.readers.clear();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** An iterator of the values published from now on (listening starts now, not at the first next()). */
  subscribe(signal?: AbortSignal): AsyncIterableIterator<T> {
    const reader = new Reader<T>(() => this.readers.delete(reader));
    if (this.ended || signal?.aborted) reader.finish();
    else {
      this.readers.add(reader);
      if (signal !== undefined) {
        const onAbort = () => reader.stop();
        signal.addEventListener("abort", onAbort, { once: true });
        reader.onStop = () => signal.removeEventListener("abort", onAbort);
      }
    }
    return reader;
  }
}

class Reader<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private done = false;
  private wake: (() => void) | null = null;
  onStop: (() => void) | null = null;

  constructor(private readonly detach: () => void) {}

  push(value: T): void {
    this.queue.push(value);
    this.wake?.();
  }

  /** No more values; what is queued is still read. */
  finish(): void {
    this.done = true;
    this.onStop?.();
    this.wake?.();
  }

  /** Stops at once (abort, break): what is queued is dropped. */
  stop(): void {
    this.queue.length = 0;
    this.detach();
    this.finish();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.queue.length > 0) return { value: this.queue.shift()!, done: false };
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.stop();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
