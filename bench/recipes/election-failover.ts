/**
 * `election-failover`: how long a LeaderLatch takes to hand leadership to the next participant when the
 * leader goes, zkwire's LeaderLatch beside Curator's (Java) in one run, against the same server.
 *
 * One round, per client and per way of going:
 *   - a leader participant in its own process (bench/recipes/election-peer.ts, or LatchPeer.java on Curator)
 *     joins an empty latch and leads; a follower of the same client joins behind it;
 *   - kill: the parent reads the clock and kills the leader's process with SIGKILL. Nothing tells the
 *     server; it expires the session once it has not heard from it for the session timeout
 *     (BENCH_FAILOVER_SESSION_MS, default 4000), deletes the leader's child, and the follower's watch on
 *     it fires. The kill comes at a random point of the leader's ping cycle (see round()), so this is
 *     between two thirds of the timeout and the whole of it, plus the server's expiry tick, for any
 *     client; what a client adds is what comes after the deletion;
 *   - close: the leader process reads the clock and closes its client (the session, not the latch):
 *     the server deletes the child at once.
 *   Measured: from that clock reading to the follower's own clock reading when it learns it leads
 *   (zkwire: awaitLeadership resolving in the parent; Curator: its isLeader callback in the follower's
 *   JVM). Monotonic-clock microseconds: every process on one host reads the same clock.
 * Rounds rotate the client order (BENCH_ROUNDS after BENCH_WARMUP); figures are medians.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { LeaderLatch, ZooKeeper } from "../../src/index.js";
import { monotonicMicros } from "../../test/peers/clock.js";
import {
  type ContenderHandle,
  installCurator,
  type PeerEvent,
  spawnCuratorProgram,
} from "../../test/peers/peers.js";
import { type Knobs, matches } from "../knobs.js";
import { median } from "../stats.js";

export const ELECTION_FAILOVER = "election-failover";
const CLIENTS = ["zkwire", "curator"] as const;
const MODES = ["close", "kill"] as const;
type FailoverClient = (typeof CLIENTS)[number];
type Mode = (typeof MODES)[number];

/** Whether the run selects this scenario (it is in the default set). */
export function wantsElectionFailover(knobs: Pick<Knobs, "scenarios">): boolean {
  return knobs.scenarios.length === 0 || knobs.scenarios.some((p) => matches(p, ELECTION_FAILOVER));
}

export interface FailoverResults {
  readonly sessionTimeoutMs: number;
  /** ms per round, by client and mode. */
  readonly samples: Map<`${FailoverClient} ${Mode}`, number[]>;
  readonly skipped: Map<FailoverClient, string>;
}

/** A participant process with a JSON-lines protocol (LatchPeer.java's). */
interface Participant {
  waitFor(event: string): Promise<PeerEvent>;
  send(line: string): void;
  kill(): void;
  exited: Promise<void>;
}

function zkwireParticipant(connect: string, path: string, id: string, sessionMs: number): Participant {
  const script = fileURLToPath(new URL("election-peer.ts", import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", script, connect, path, id, String(sessionMs)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const events: PeerEvent[] = [];
  const waiters: { name: string; resolve: (e: PeerEvent) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const event = JSON.parse(line) as PeerEvent;
    events.push(event);
    for (const w of waiters.splice(0)) {
      if (w.name === event.event) w.resolve(event);
      else waiters.push(w);
    }
  });
  child.stdin!.on("error", () => undefined);
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  return {
    waitFor: (name) =>
      new Promise((resolve, reject) => {
        const seen = events.find((e) => e.event === name);
        if (seen !== undefined) return resolve(seen);
        const timer = setTimeout(
          () => reject(new Error(`zkwire participant ${id}: no ${name} in 60 s`)),
          60_000,
        );
        waiters.push({
          name,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      }),
    send: (line) => child.stdin!.write(`${line}\n`),
    kill: () => child.kill("SIGKILL"),
    exited,
  };
}

function curatorParticipant(handle: ContenderHandle): Participant {
  return {
    waitFor: (name) => handle.waitForEvent(name, undefined, 60_000),
    send: (line) => handle.send(line),
    kill: () => handle.kill("SIGKILL"),
    exited: handle.result.then(() => undefined),
  };
}

/** One failover: leader process, follower, the leader goes; returns ms until the follower leads. */
async function round(
  client: FailoverClient,
  mode: Mode,
  connect: string,
  path: string,
  sessionMs: number,
): Promise<number> {
  const spawnLeader = async (): Promise<Participant> =>
    client === "zkwire"
      ? zkwireParticipant(connect, path, "leader", sessionMs)
      : curatorParticipant(
          await spawnCuratorProgram(
            "LatchPeer",
            [connect, path, "leader", `--session-timeout-ms=${sessionMs}`],
            {
              id: "leader",
              timeoutMs: 120_000,
            },
          ),
        );
  const leader = await spawnLeader();
  let followerZk: ZooKeeper | null = null;
  let followerPeer: Participant | null = null;
  try {
    await leader.waitFor("isLeader");
    let learned: Promise<number>;
    if (client === "zkwire") {
      followerZk = await ZooKeeper.connect(connect, { sessionTimeout: sessionMs });
      const latch = new LeaderLatch(followerZk, path, { id: "follower" }).start();
      await waitForChildren(followerZk, path, 2);
      learned = latch.awaitLeadership({ timeout: sessionMs * 3 }).then(() => monotonicMicros());
    } else {
      followerPeer = curatorParticipant(
        await spawnCuratorProgram(
          "LatchPeer",
          [connect, path, "follower", `--session-timeout-ms=${sessionMs}`],
          {
            id: "follower",
            timeoutMs: 120_000,
          },
        ),
      );
      await followerPeer.waitFor("ready");
      const probe = await ZooKeeper.connect(connect);
      await waitForChildren(probe, path, 2);
      await probe.close();
      learned = followerPeer.waitFor("isLeader").then((e) => e.t as number);
    }
    let from: number;
    if (mode === "kill") {
      // An idle leader pings every third of its session timeout, and the server expires the session a
      // full timeout after it last heard from it: the failover is the timeout less the time since that
      // ping. Waiting more than a ping interval, plus a random part of one, puts the kill at a random
      // point of either client's ping cycle, the same way for both.
      await new Promise((r) => setTimeout(r, sessionMs / 3 + 200 + Math.random() * (sessionMs / 3)));
      from = monotonicMicros();
      leader.kill();
    } else {
      leader.send("closeSession");
      from = (await leader.waitFor("closing")).t as number;
    }
    return ((await learned) - from) / 1000;
  } finally {
    leader.kill();
    followerPeer?.kill();
    await followerZk?.close();
    await leader.exited;
    await followerPeer?.exited;
  }
}

async function waitForChildren(zk: ZooKeeper, path: string, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const count = (await zk.getChildren(path).catch(() => ({ children: [] }))).children.length;
    if (count >= n) return;
    if (Date.now() > deadline) throw new Error(`${path}: ${count} participants, wanted ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function runElectionFailover(
  connect: string,
  root: string,
  knobs: Pick<Knobs, "rounds" | "warmup" | "clients">,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FailoverResults> {
  const sessionMs = Number(env.BENCH_FAILOVER_SESSION_MS || 4_000);
  const results: FailoverResults = { sessionTimeoutMs: sessionMs, samples: new Map(), skipped: new Map() };
  // BENCH_CLIENTS names the network clients; Curator runs here only when it is not narrowed down.
  const clients = CLIENTS.filter(
    (c) => knobs.clients.length === 0 || (c === "zkwire" && knobs.clients.includes(c)),
  );
  const runnable: FailoverClient[] = [];
  for (const c of clients) {
    if (c === "curator") {
      try {
        await installCurator();
      } catch (err) {
        results.skipped.set(c, `Curator did not install: ${(err as Error).message.split("\n")[0]}`);
        continue;
      }
    }
    runnable.push(c);
  }
  let n = 0;
  const total = knobs.warmup + knobs.rounds;
  for (const mode of MODES) {
    for (let r = 0; r < total; r++) {
      const figures: string[] = [];
      const order = r % 2 === 0 ? runnable : [...runnable].reverse();
      for (const client of order) {
        const ms = await round(client, mode, connect, `${root}/failover-${n++}`, sessionMs);
        figures.push(`${client} ${ms.toFixed(1)} ms`);
        if (r < knobs.warmup) continue;
        const key = `${client} ${mode}` as const;
        results.samples.set(key, [...(results.samples.get(key) ?? []), ms]);
      }
      log(
        `${ELECTION_FAILOVER} ${mode} ${r < knobs.warmup ? "warm-up" : `round ${r - knobs.warmup + 1}/${knobs.rounds}`}: ${figures.join(", ")}`,
      );
    }
  }
  return results;
}

/** The scenario's table: median failover per client and way of going, and zkwire's ratio to Curator. */
export function failoverMarkdown(results: FailoverResults): string {
  const lines = [
    `### ${ELECTION_FAILOVER}`,
    "",
    `LeaderLatch, leader in its own process, session timeout ${results.sessionTimeoutMs} ms: from the leader's`,
    "process killed (kill -9) or its session closed to the next participant learning it leads. Median ms",
    "(min-max) over the rounds; lower is better.",
    "",
    "| leader goes by | zkwire | Curator LeaderLatch | Curator / zkwire |",
    "| :------------- | -----: | ------------------: | ---------------: |",
  ];
  for (const mode of MODES) {
    const z = results.samples.get(`zkwire ${mode}`) ?? [];
    const c = results.samples.get(`curator ${mode}`) ?? [];
    const cell = (xs: number[]) =>
      xs.length === 0
        ? "-"
        : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
    const ratio = z.length > 0 && c.length > 0 ? `${(median(c) / median(z)).toFixed(2)}x` : "-";
    lines.push(`| ${mode === "kill" ? "kill -9" : "session close"} | ${cell(z)} | ${cell(c)} | ${ratio} |`);
  }
  for (const [client, reason] of results.skipped) lines.push("", `${client} skipped: ${reason}`);
  return `${lines.join("\n")}\n`;
}

/** One JSON object per client and mode. */
export function failoverJson(results: FailoverResults): string[] {
  return [...results.samples].map(([key, xs]) => {
    const [client, mode] = key.split(" ");
    return JSON.stringify({
      scenario: ELECTION_FAILOVER,
      client: client === "curator" ? "curator-leaderlatch" : client,
      mode,
      sessionTimeoutMs: results.sessionTimeoutMs,
      medianMs: median(xs),
      samplesMs: xs,
    });
  });
}
