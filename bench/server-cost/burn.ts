/**
 * COST_BURN: `client:µs[,client:µs…]`, the CPU a named client burns on every answer it gets, as if it
 * were that much slower. It imitates a slower client without changing a byte it sends.
 */
export function burns(spec: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of spec.split(",")) {
    if (part.trim() === "") continue;
    const [name, us] = part.split(":").map((s) => s.trim());
    const n = Number(us);
    if (name === undefined || name === "" || !Number.isFinite(n) || n < 0) {
      throw new Error(`COST_BURN: "${part}" is not client:µs (e.g. zkwire:35)`);
    }
    out.set(name, n);
  }
  return out;
}
