/**
 * zkwire's TreeCache driven for the cache benchmarks (bench/recipes/cache/run.ts), over the protocol of
 * test/peers/curator/CacheBench.java (Curator's CuratorCache), which see:
 *
 *   node <compiled>/bench/recipes/cache/program.js CONNECT
 *   stdin: initial PATH | watch PATH | expect N | unwatch | quit     stdout: one JSON object per line
 */
import { createInterface } from "node:readline";
import { TreeCache, ZooKeeper } from "../../../src/index.js";

const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const connect = process.argv[2];
  if (connect === undefined) {
    say({ event: "error", message: "usage: program.js CONNECT" });
    process.exit(2);
  }
  const zk = await ZooKeeper.connect(connect, { sessionTimeout: 30_000 });
  say({ event: "ready", peer: "zkwire", pid: process.pid });
  let watched: TreeCache | null = null;
  let changes = 0;
  let expected = -1;
  let armedAt = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, arg] = line.trim().split(" ");
    switch (command) {
      case "initial": {
        const cache = new TreeCache(zk, arg!);
        const t0 = performance.now();
        await cache.start();
        const ms = performance.now() - t0;
        const nodes = cache.size;
        await cache.close();
        say({ event: "initial", ms, nodes });
        break;
      }
      case "watch": {
        watched = new TreeCache(zk, arg!);
        watched.on("changed", () => {
          if (++changes === expected) say({ event: "applied", ms: performance.now() - armedAt });
        });
        await watched.start();
        say({ event: "watching", nodes: watched.size });
        break;
      }
      case "expect":
        changes = 0;
        armedAt = performance.now();
        expected = Number(arg);
        say({ event: "armed" });
        break;
      case "unwatch":
        await watched?.close();
        watched = null;
        say({ event: "closed" });
        break;
      case "quit":
        await zk.close();
        process.exit(0);
        break;
      default:
        throw new Error(`unknown command: ${line}`);
    }
  }
}

main().catch((err: unknown) => {
  say({ event: "error", message: String(err) });
  process.exit(1);
});
