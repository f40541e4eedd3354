/**
 * Ordering by the trailing sequence number: the one rule every sequential-node recipe here shares with
 * Curator and kazoo. A child's sequence is its last ten digits (the server appends them to an
 * ephemeral-sequential create); the name before them differs between clients (`_c_<uuid>-lock-`,
 * `<hex>__lock__`, `_c_<uuid>-latch-`), so recipes sharing a path with a peer order by the number alone.
 */

/** The sequence number of a contender's child (its trailing ten digits), or -1 for a non-contender. */
export function sequenceOf(name: string): number {
  const end = name.length;
  if (end < 10) return -1;
  let n = 0;
  for (let i = end - 10; i < end; i++) {
    const d = name.charCodeAt(i) - 48; // "0"
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Children that are contenders, lowest sequence first. */
export function contenders(children: readonly string[]): string[] {
  return children
    .map((name) => ({ name, seq: sequenceOf(name) }))
    .filter((c) => c.seq >= 0)
    .sort((a, b) => a.seq - b.seq)
    .map((c) => c.name);
}

/**
 * Curator's protected name: `_c_<uuid>-<name>` (its CreateBuilder.withProtection()), e.g. `_c_<uuid>-lock-`
 * for InterProcessMutex, `-latch-` for LeaderLatch, `-lease-` for InterProcessSemaphoreV2. The id lets a
 * client find its own child again after a create whose reply was lost.
 */
export function curatorName(id: string, name: string): string {
  return `_c_${id}-${name}`;
}

/**
 * kazoo's name: `<uuid hex><node>`, e.g. `<hex>__lock__` for Lock and Election, `<hex>__rlock__` for
 * ReadLock. kazoo finds its child again by the hex id the same way.
 */
export function kazooName(id: string, node: string): string {
  return `${id.replaceAll("-", "")}${node}`;
}
