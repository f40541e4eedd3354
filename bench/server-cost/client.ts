/**
 * One client of `bench/server-cost/run.ts`, in a process of its own: connects, warms up, then on each
 * line "go" on stdin runs one measured batch and prints its figures as one JSON line.
 *
 *   tsx bench/server-cost/client.ts <connect> <client> <path> <op: get|set> <depth> <ops> <rate ops/s, 0: unpaced>
 *
 * COST_BURN, inherited from run.ts, may name this client with a busy loop to run on every answer.
 */
import { createInterface } from "node:readline";
import { type ClientName, type Done, loadFactory, type Op } from "../clients/client.js";
import { drive } from "../driver.js";
import { burns } from "./burn.js";

const [connect, name, path, opKind, depthArg, opsArg, rateArg] = process.argv.slice(2);
const depth = Number(depthArg);
const ops = Number(opsArg);
const rate = Number(rateArg);
const client = await (await loadFactory(name as ClientName)).connect(connect!, 30_000);
const op: Op =
  opKind === "set"
    ? { kind: "set", path: path!, data: Buffer.alloc(100, 0x61) }
    : { kind: "get", path: path! };

/** COST_BURN (see run.ts): this client spends that many µs of CPU more on every answer it gets. */
const burnUs = burns(process.env.COST_BURN ?? "").get(name!) ?? 0;
function burning(done: Done): Done {
  if (burnUs === 0) return done;
  return (error) => {
    const until = performance.now() + burnUs / 1000;
    while (performance.now() < until) {
      // a busy loop: the CPU a slower client would spend here
    }
    done(error);
  };
}

/** `count` operations at `rate` per second, at most `depth` in flight, issued on a 1 ms tick. */
function paced(count: number): Promise<{ ops: number; errors: number }> {
  return new Promise((resolve) => {
    let issued = 0;
    let completed = 0;
    let inFlight = 0;
    let errors = 0;
    const t0 = performance.now();
    const done: Done = (error) => {
      inFlight--;
      completed++;
      if (error !== null && error !== undefined) errors++;
      if (completed === count) {
        clearInterval(timer);
        resolve({ ops: completed, errors });
      }
    };
    const issue = client.issuer(op, burning(done));
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (issued < due && inFlight < depth) {
        issued++;
        inFlight++;
        issue();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
}

const batch = (count: number) =>
  rate > 0
    ? paced(count)
    : drive((done) => client.issuer(op, burning(done)), {
        depth,
        limit: { durationMs: 0, ops: count },
        latency: false,
      });

await batch(Math.min(ops, 20_000)); // warm-up: JIT on both sides, TCP windows
console.log("ready");
for await (const _line of createInterface({ input: process.stdin })) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await batch(ops);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ ops: r.ops, errors: r.errors, wallMs, clientCpuUs: cpu.user + cpu.system }));
}
await client.close();
process.exit(0);
