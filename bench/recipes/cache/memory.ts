/**
 * What a TreeCache holds per node (issue 12: a 10,000-node tree at most 2x the bytes of its names,
 * data and stats). Not timed: it builds a 10,001-node tree (100 directories of 99 leaves) for each data
 * size (each in a process of its own), caches it, and compares the memory the process gained (V8 heap + ArrayBuffers, after full GCs)
 * with the tree's own bytes:
 *
 *   names  the UTF-8 bytes of every node's path ("/bench-mem/tree/d12/n34"; also shown: of its last
 *          segment alone, "n34", the stricter measure)
 *   data   the data bytes
 *   stats  68 bytes per node (a Stat on the wire: six longs and five ints)
 *
 *   node --expose-gc --import tsx bench/recipes/cache/memory.ts          (CACHE_MEMORY_DATA_BYTES=0,16,100,1024)
 *
 * It starts a throwaway server through the test harness, or uses ZK_CONNECT.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ZooKeeper } from "../../../src/index.js";
import { TreeCache } from "../../../src/recipes/cache/tree-cache.js";
import { startZooKeeper } from "../../../src/testing/index.js";

const DIRS = 100;
const LEAVES = 99;
const STAT_BYTES = 68;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write("run with node --expose-gc\n");
  process.exit(2);
}

/**
 * Heap + ArrayBuffers after full GCs. The pauses let V8's concurrent ArrayBuffer sweeper account for
 * the backing stores it freed (without them the figure moved by megabytes from one call to the next).
 */
async function used(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** One data size, in a process of its own (a closed cache is freed only some time later). */
async function measure(connect: string, size: number): Promise<string> {
  const zk = await ZooKeeper.connect(connect, { sessionTimeout: 30_000 });
  const root = `/bench-mem-${process.pid}-${size}`;
  try {
    const data = Buffer.alloc(size, 0x61);
    const paths = [root];
    for (let d = 0; d < DIRS; d++) paths.push(`${root}/d${d}`);
    for (let d = 0; d < DIRS; d++) for (let n = 0; n < LEAVES; n++) paths.push(`${root}/d${d}/n${n}`);
    await zk.create(root, data);
    await Promise.all(paths.slice(1, 1 + DIRS).map((p) => zk.create(p, data)));
    await Promise.all(paths.slice(1 + DIRS).map((p) => zk.create(p, data)));
    let pathBytes = 0;
    let nameBytes = 0;
    for (const p of paths) {
      pathBytes += Buffer.byteLength(p);
      nameBytes += Buffer.byteLength(p.slice(p.lastIndexOf("/") + 1));
    }
    const own = pathBytes + paths.length * (size + STAT_BYTES);
    const ownNames = nameBytes + paths.length * (size + STAT_BYTES);
    // A first cache on one directory compiles the code a cache runs (code and its type feedback live
    // on the heap too); closed, it is measured before the real one starts.
    const warm = new TreeCache(zk, `${root}/d0`);
    await warm.start();
    await warm.close();
    const before = await used();
    const cache = new TreeCache(zk, root);
    await cache.start();
    if (cache.size !== paths.length) throw new Error(`cached ${cache.size} nodes, not ${paths.length}`);
    const held = (await used()) - before;
    await cache.close();
    return `| ${size} | ${own.toLocaleString("en-US")} | ${held.toLocaleString("en-US")} | ${(held / own).toFixed(2)}x | ${(held / ownNames).toFixed(2)}x |`;
  } finally {
    await zk.deleteRecursive(root).catch(() => undefined);
    await zk.close();
  }
}

async function main(): Promise<void> {
  const child = process.env.CACHE_MEMORY_CHILD;
  if (child !== undefined) {
    const [connect, size] = child.split(" ");
    process.stdout.write(`${await measure(connect!, Number(size))}\n`);
    return;
  }
  const sizes = (process.env.CACHE_MEMORY_DATA_BYTES ?? "0,16,100,1024").split(",").map(Number);
  const cluster = await startZooKeeper({ jvmArgs: ["-Xmx512m"] });
  const lines: string[] = [
    `ZooKeeper ${cluster.version}, Node ${process.version}, ${1 + DIRS + DIRS * LEAVES} nodes per tree`,
    "",
    "| data bytes per node | paths + data + stats | cache holds | ratio | ratio with names as last segments |",
    "| --: | --: | --: | --: | --: |",
  ];
  try {
    for (const size of sizes) {
      const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, CACHE_MEMORY_CHILD: `${cluster.connectString} ${size}` },
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`measuring ${size} bytes failed: ${r.stderr}`);
      lines.push(r.stdout.trim());
      process.stderr.write(`${lines.at(-1)}\n`);
    }
  } finally {
    await cluster.close();
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
