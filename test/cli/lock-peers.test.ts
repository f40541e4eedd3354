/**
 * `zkwire lock` on locks held by the real peers: Curator's InterProcessMutex (Java) and kazoo's Lock
 * (Python) hold one lock each (test/peers, manual mode), a zkwire contender with the matching naming
 * waits behind each, and the command must name the peer's child as the holder, with the peer's own
 * session, and the zkwire contender as the queue.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Lock, type LockNaming, ZooKeeper } from "../../src/index.js";
import {
  type ContenderHandle,
  installCurator,
  installKazoo,
  killAllContenders,
  spawnCuratorContender,
  spawnKazooContender,
} from "../peers/peers.js";
import { assertBuilt, zkwire } from "./support.js";

const SERVER: string = inject("zkConnect");
const root = `/cli-lock-peers-${randomUUID().slice(0, 8)}`;
let admin: ZooKeeper;

beforeAll(async () => {
  assertBuilt();
  await Promise.all([installCurator(), installKazoo()]);
  admin = await ZooKeeper.connect(SERVER);
  await admin.create(root);
}, 600_000);

afterAll(async () => {
  await killAllContenders();
  await admin?.deleteRecursive(root).catch(() => undefined);
  await admin?.close();
});

async function showsPeerHolder(
  spawnPeer: typeof spawnCuratorContender,
  naming: LockNaming & string,
  name: RegExp,
): Promise<void> {
  const lockPath = `${root}/${naming}`;
  const counter = `${root}/${naming}-counter`;
  await admin.create(counter, "0");
  const peer: ContenderHandle = await spawnPeer({
    connect: SERVER,
    lockPath,
    counterPath: counter,
    iterations: 1,
    id: `${naming}-holder`,
    manual: true,
  });
  const waiter = await ZooKeeper.connect(SERVER, { sessionTimeout: 10_000 });
  try {
    const { sessionId } = await peer.ready;
    const entered = await peer.acquire(30_000);
    // A zkwire contender behind it, with the peer's naming.
    const queued = new Lock(waiter, lockPath, { naming }).acquire({ timeout: 60_000 });
    queued.catch(() => {});
    const deadline = Date.now() + 15_000;
    while ((await admin.getChildren(lockPath)).children.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await zkwire(SERVER, ["--json", "lock", lockPath]);
    expect(r.stderr).toBe("");
    const shown = JSON.parse(r.stdout) as {
      holder: { name: string; naming: string; session: string };
      waiting: { name: string; naming: string; session: string }[];
    };
    expect(shown.holder).toMatchObject({ name: entered.node, naming, session: sessionId });
    expect(shown.holder.name).toMatch(name);
    expect(shown.waiting).toHaveLength(1);
    expect(shown.waiting[0]).toMatchObject({ naming, session: `0x${waiter.sessionId.toString(16)}` });
    await peer.release(30_000);
    const lease = await queued;
    const after = JSON.parse((await zkwire(SERVER, ["--json", "lock", lockPath])).stdout) as {
      holder: { name: string };
      waiting: unknown[];
    };
    expect(after.holder.name).toBe(lease.path.slice(lockPath.length + 1));
    expect(after.waiting).toEqual([]);
    await lease.release();
    await peer.quit();
  } finally {
    peer.kill();
    await waiter.close();
  }
}

describe("zkwire lock beside the peers", { timeout: 180_000 }, () => {
  it("a lock Curator's InterProcessMutex holds: its _c_<uuid>-lock- child and session, zkwire queued", async () => {
    await showsPeerHolder(spawnCuratorContender, "curator", /^_c_[0-9a-f-]{36}-lock-\d{10}$/);
  });

  it("a lock kazoo's Lock holds: its <hex>__lock__ child and session, zkwire queued", async () => {
    await showsPeerHolder(spawnKazooContender, "kazoo", /^[0-9a-f]{32}__lock__\d{10}$/);
  });
});
