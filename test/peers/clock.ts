/**
 * The one clock that times compared across processes are read from: microseconds of the machine's
 * CLOCK_MONOTONIC. The peers read the same clock (Java's System.nanoTime, Python's time.monotonic_ns), so
 * the times a Curator, kazoo or zkwire process logs on one host can be set side by side. A wall clock
 * would not do: an adjustment during a run moves every process that reads it after the step.
 */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);
