/**
 * Medians and percentiles: the only statistics the benchmark reports (robust to one odd round); and the
 * order runs take within a round.
 */

/** The median; the mean of the two middle values for an even count. NaN for none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of values already sorted ascending. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Ratio a/b per round, then their median: a round where both were disturbed still compares fairly. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  return median(roundRatios(a, b));
}

/** The ratio a/b of each round (rounds where either figure is missing left out). */
export function roundRatios(a: readonly number[], b: readonly number[]): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const r = a[i]! / b[i]!;
    if (Number.isFinite(r)) ratios.push(r);
  }
  return ratios;
}

/** Lowest and highest value of the middle half (nearest-rank quartiles); undefined for no values. */
export type Spread = readonly [low: number, high: number];
export function middleHalf(values: readonly number[]): Spread | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return [percentileSorted(v, 25), percentileSorted(v, 75)];
}

/**
 * The clients' order in round `round`: rotated one place per round, so each client runs in every position
 * equally often. (Alternating A B C, C B A would run the clients at either end twice in a row at every
 * round's boundary, where a disturbance of a few seconds would count against the same client twice.)
 */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % Math.max(1, items.length);
  return [...items.slice(k), ...items.slice(0, k)];
}
