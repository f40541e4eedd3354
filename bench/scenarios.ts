/**
 * The scenario table. A scenario is a workload with a stable name (the names are an interface: JSON
 * consumers and RESULTS.md refer to them); which clients can run it is the clients' business (see
 * `ClientFactory.unsupported`: a client that cannot run one is listed as skipped for it). A scenario
 * can be kept out of the default set (`byDefault: false`) and still be run by name.
 */
import { type Knobs, matches } from "./knobs.js";

export type Workload =
  /** One getData at a time; latency of each. */
  | { readonly kind: "get-seq" }
  /** `depth` requests in flight, kept full: each completion issues the next. */
  | { readonly kind: "pipelined"; readonly op: "get" | "set"; readonly depth: number }
  /** One ephemeral create, then its delete, then the next create; latency of each pair. */
  | { readonly kind: "create-delete" }
  /** `contenders` sessions take and release one lock in turn (1: nobody else wants it). */
  | { readonly kind: "lock"; readonly contenders: number }
  /** `requests` getData issued at once; memory held at the peak. */
  | { readonly kind: "memory"; readonly requests: number };

export interface Scenario {
  readonly name: string;
  readonly workload: Workload;
  /** What one operation is, for the README and the table's footnotes. */
  readonly op: string;
  /** In the default set (false: only when named in BENCH_SCENARIOS). */
  readonly byDefault: boolean;
}

export const MEMORY_SCENARIO = "memory-10k-in-flight";

/** Every network and memory scenario, in the order they run. */
export function allScenarios(knobs: Pick<Knobs, "depths" | "memoryRequests">): Scenario[] {
  const out: Scenario[] = [
    { name: "get-seq", workload: { kind: "get-seq" }, op: "getData of a node", byDefault: true },
  ];
  for (const op of ["get", "set"] as const) {
    for (const depth of knobs.depths) {
      out.push({
        name: `${op}-pipelined-${depth}`,
        workload: { kind: "pipelined", op, depth },
        op: op === "get" ? "getData of a node" : "setData of a node",
        byDefault: true,
      });
    }
  }
  out.push({
    name: "create-delete",
    workload: { kind: "create-delete" },
    op: "create of an ephemeral node, then its delete",
    byDefault: true,
  });
  for (const contenders of [1, 4, 16]) {
    out.push({
      name: contenders === 1 ? "lock-uncontended" : `lock-contended-${contenders}`,
      workload: { kind: "lock", contenders },
      op: "acquire then release of the lock (all sessions together)",
      byDefault: true,
    });
  }
  out.push({
    name: MEMORY_SCENARIO,
    workload: { kind: "memory", requests: knobs.memoryRequests },
    op: `${knobs.memoryRequests} getData issued at once`,
    byDefault: true,
  });
  return out;
}

/** The scenarios the filter selects: the default set when it is empty, else every match. */
export function selectScenarios(all: readonly Scenario[], filter: readonly string[]): Scenario[] {
  if (filter.length === 0) return all.filter((s) => s.byDefault);
  return all.filter((s) => filter.some((pattern) => matches(pattern, s.name)));
}
