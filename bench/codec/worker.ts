/**
 * One codec per process (zkwire's or node-zookeeper-client's), driven by the parent: the two never share
 * a process, so neither inherits the other's type feedback in shared code (Buffer's read and write
 * methods are JavaScript in Node and would otherwise see both codecs' calls).
 *
 * A sample times a batch of operations sized to last about `sampleMs` (one clock read per batch, not
 * per operation); a round is the median of `samples` samples. Each batch's results feed a sum that is
 * sent back to the parent, so no result is dead code.
 */
import {
  CODEC_CASES,
  type CodecImpl,
  type CodecImplementation,
  type CodecOp,
  type CodecRecord,
  codecScenarioName,
  type PreparedCase,
} from "./cases.js";

export type ToCodecWorker =
  | { type: "start"; impl: CodecImpl }
  | {
      type: "sample";
      id: number;
      record: CodecRecord;
      op: CodecOp;
      sampleMs: number;
      samples: number;
      warmupMs: number;
    }
  | { type: "close" };

export type FromCodecWorker =
  | { type: "ready"; checks: Record<string, string> }
  | { type: "result"; id: number; nsPerOp: number; sink: number }
  | { type: "failed"; id: number; error: string };

let codec: CodecImplementation | null = null;
const prepared = new Map<string, { c: PreparedCase; iterations: number }>();
let sink = 0;

function send(m: FromCodecWorker): void {
  process.send!(m);
}

process.on("disconnect", () => process.exit(0));
process.on("message", (m: ToCodecWorker) => {
  void handle(m).catch((err: unknown) => {
    console.error("[codec worker]", err);
    process.exit(1);
  });
});

async function handle(m: ToCodecWorker): Promise<void> {
  switch (m.type) {
    case "start": {
      codec =
        m.impl === "zkwire"
          ? (await import("./zkwire.js")).zkwireCodec
          : (await import("./node-zookeeper-client.js")).nzcCodec;
      const checks: Record<string, string> = {};
      for (const record of CODEC_CASES) {
        for (const op of ["encode", "decode"] as const) {
          checks[codecScenarioName(record, op)] = codec[record][op]().check();
        }
      }
      send({ type: "ready", checks });
      return;
    }
    case "sample": {
      try {
        const nsPerOp = sampleCase(m.record, m.op, m.sampleMs, m.samples, m.warmupMs);
        send({ type: "result", id: m.id, nsPerOp, sink });
      } catch (err) {
        send({ type: "failed", id: m.id, error: String((err as Error)?.stack ?? err) });
      }
      return;
    }
    case "close":
      process.exit(0);
  }
}

function time(c: PreparedCase, iterations: number): number {
  const t0 = process.hrtime.bigint();
  sink += c.run(iterations);
  return Number(process.hrtime.bigint() - t0);
}

function sampleCase(
  record: CodecRecord,
  op: CodecOp,
  sampleMs: number,
  samples: number,
  warmupMs: number,
): number {
  const key = `${record}/${op}`;
  let entry = prepared.get(key);
  const sampleNs = sampleMs * 1e6;
  if (entry === undefined) {
    const c = codec![record][op]();
    // Grow the batch until it lasts a sample, then keep going for the warm-up time, so the timed
    // batches run optimised code.
    let iterations = 1;
    let ns = time(c, iterations);
    while (ns < sampleNs) {
      iterations *= 2;
      ns = time(c, iterations);
    }
    const until = process.hrtime.bigint() + BigInt(warmupMs * 1e6);
    while (process.hrtime.bigint() < until) ns = time(c, iterations);
    iterations = Math.max(1, Math.round((iterations * sampleNs) / ns));
    entry = { c, iterations };
    prepared.set(key, entry);
  }
  const perOp: number[] = [];
  for (let i = 0; i < samples; i++) perOp.push(time(entry.c, entry.iterations) / entry.iterations);
  perOp.sort((a, b) => a - b);
  return perOp[perOp.length >> 1]!;
}
