/**
 * Mutual exclusion across processes: contenders in several processes increment one counter under the
 * lock, read-check-write with the version. Zero version conflicts, and the counter equals the
 * increments the contenders applied. Also with the ensemble's leader killed mid-run, and with a proxy
 * dropping connections.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { ZooKeeper } from "../../src/index.js";
import { startZooKeeper } from "../../src/testing/index.js";
import { proxyTo } from "../support/proxy.js";

const fixture = resolve(import.meta.dirname, "fixtures/contender.ts");

interface Report {
  id: string;
  done: number;
  conflicts: number;
  lost: number;
}

function runContender(
  connect: string,
  lockPath: string,
  counter: string,
  n: number,
  id: string,
): Promise<Report> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fixture, connect, lockPath, counter, String(n), id],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`contender ${id} exited ${code}: ${err.slice(-2000)}`));
      else resolvePromise(JSON.parse(out.trim().split("\n").pop()!) as Report);
    });
  });
}

type During = (counterValue: () => Promise<number>) => Promise<void>;

async function contend(connects: string[], processes: number, each: number, during?: During) {
  const admin = await ZooKeeper.connect(connects[0]!);
  const root = `/lock-proc-${randomUUID().slice(0, 8)}`;
  const counter = `${root}-counter`;
  await admin.create(counter, "0");
  try {
    const runs = Array.from({ length: processes }, (_, i) =>
      runContender(connects[i % connects.length]!, `${root}/lock`, counter, each, `p${i}`),
    );
    const value = async () => Number(Buffer.from((await admin.getData(counter)).data).toString());
    if (during) await during(value);
    const reports = await Promise.all(runs);
    const total = Number(Buffer.from((await admin.getData(counter)).data).toString());
    return { reports, total };
  } finally {
    await admin.deleteRecursive(root).catch(() => undefined);
    await admin.delete(counter).catch(() => undefined);
    await admin.close();
  }
}

describe("lock across processes", () => {
  it("4 processes x 300 acquisitions: no conflict, the counter counts every increment", async () => {
    const { reports, total } = await contend([inject("zkConnect")], 4, 300);
    expect(reports.map((r) => r.conflicts)).toEqual([0, 0, 0, 0]);
    expect(total).toBe(1200);
    expect(reports.reduce((n, r) => n + r.done, 0)).toBe(total);
  }, 120_000);

  it("with the ensemble's leader killed mid-run", async () => {
    await using cluster = await startZooKeeper({ servers: 3 });
    let killedAt = -1;
    const { reports, total } = await contend([cluster.connectString], 3, 150, async (value) => {
      // Kill the leader in the middle of the run, not before or after it.
      while ((killedAt = await value()) < 100) await new Promise((r) => setTimeout(r, 20));
      const leader = await cluster.leader();
      await cluster.kill(leader);
      await cluster.leader(); // a new one is elected
      await cluster.start(leader);
    });
    expect(reports.map((r) => r.conflicts)).toEqual([0, 0, 0]);
    expect(reports.reduce((n, r) => n + r.done, 0)).toBe(total);
    expect(total).toBe(450);
    expect(killedAt).toBeLessThan(450);
  }, 180_000);

  it("with a proxy dropping connections", async () => {
    await using proxy = await proxyTo(inject("zkConnect"));
    let dropping = true;
    const { reports, total } = await contend([proxy.connectString], 3, 150, async () => {
      void (async () => {
        while (dropping) {
          await new Promise((r) => setTimeout(r, 300));
          proxy.dropAll();
        }
      })();
    });
    dropping = false;
    expect(reports.map((r) => r.conflicts)).toEqual([0, 0, 0]);
    expect(reports.reduce((n, r) => n + r.done, 0)).toBe(total);
    expect(total).toBe(450);
    expect(proxy.stats.cuts).toBeGreaterThan(0);
  }, 180_000);
});
