/**
 * `partition-rebalance`: how long a set split between 4 members takes to be owned again after one member
 * is killed with kill -9. zkwire's Partitioner against kazoo's SetPartitioner, in the same run, with the
 * same settle time, session timeout and items, against the same server, rounds interleaved.
 *
 * One round, per client: 4 member processes (test/peers/zkwire/partition-member.ts for zkwire,
 * test/peers/kazoo/partitioner.py for kazoo; the same protocol) join one path and split the items. Once
 * all 4 hold their share, the first is killed with SIGKILL. The figure is the time from the kill to the
 * moment the last of the 3 survivors reports ACQUIRED with the 3 shares covering every item again
 * (monotonic-clock microseconds of one host, stamped by the members themselves).
 *
 * What bounds it: the killed member's party node and item locks go only when the server expires its
 * session, the session timeout after it last heard from it (a ping, up to about a third of the timeout
 * before the kill; the server checks every tickTime); then each survivor sees the party change, releases,
 * waits the settle time with the party unchanged, and takes its new items' locks (kazoo one after
 * another, zkwire all at once). So the figure from the kill is about session timeout + settle time, give
 * or take the ping phase; the figure from the party change is the recipes' own work, floor the settle.
 * Before the kill the members idle for a random half to whole session timeout, so that the kill lands at
 * a random point of the killed member's ping cadence, for both clients alike.
 *
 * Knobs: BENCH_REBALANCE_ROUNDS (3), BENCH_REBALANCE_SETTLE_MS (1000), BENCH_REBALANCE_SESSION_MS (4000),
 * BENCH_REBALANCE_ITEMS (20). Members are processes, so each round costs a few seconds of start-up
 * outside the measured interval.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ZooKeeper } from "../../src/index.js";
import { monotonicMicros } from "../../test/peers/clock.js";
import { installKazoo } from "../../test/peers/peers.js";
import { KnobError } from "../knobs.js";

export const REBALANCE_SCENARIO = "partition-rebalance";
const MEMBERS = 4;

export interface RebalanceKnobs {
  readonly rounds: number;
  readonly settleMs: number;
  readonly sessionMs: number;
  readonly items: number;
}

export interface RebalanceResult {
  readonly knobs: RebalanceKnobs;
  /**
   * Per client: ms per round from the kill, and from the party change (the moment the server expired
   * the killed member's session and deleted its party node, as a watcher of the party saw it), or why
   * it was skipped.
   */
  readonly clients: {
    readonly client: "zkwire" | "kazoo";
    readonly ms: number[];
    readonly afterChangeMs: number[];
    readonly skipped?: string;
  }[];
}

function int(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new KnobError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

export function readRebalanceKnobs(): RebalanceKnobs {
  return {
    rounds: int("BENCH_REBALANCE_ROUNDS", 3, 1),
    settleMs: int("BENCH_REBALANCE_SETTLE_MS", 1000, 0),
    sessionMs: int("BENCH_REBALANCE_SESSION_MS", 4000, 500),
    items: int("BENCH_REBALANCE_ITEMS", 20, 1),
  };
}

interface StateEvent {
  event: string;
  id: string;
  state?: string;
  items?: string[];
  t?: number;
}

/** A member process: its JSON-line events, and a wait for one that matches. */
class Member {
  readonly events: StateEvent[] = [];
  private readonly exited: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    private readonly child: ChildProcess,
  ) {
    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          this.events.push(JSON.parse(line) as StateEvent);
        } catch {
          continue;
        }
        for (const wake of this.waiters.splice(0)) wake();
      }
    });
    child.stderr!.resume();
    this.exited = new Promise((resolve) => child.once("close", () => resolve()));
    void this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves at this member's next event (or its exit). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  kill(): Promise<void> {
    this.child.kill("SIGKILL");
    return this.exited;
  }

  async quit(): Promise<void> {
    this.child.stdin!.end("quit\n");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The member's last ACQUIRED, if that is its current state. */
function holding(member: Member): StateEvent | null {
  for (let i = member.events.length - 1; i >= 0; i--) {
    const e = member.events[i]!;
    if (e.event !== "state" || e.state === "ALLOCATING") continue;
    return e.state === "ACQUIRED" ? e : null;
  }
  return null;
}

/** Every member holds (since `since`), and their shares cover every item exactly once. */
function stable(members: readonly Member[], items: number, since: number): boolean {
  const held: string[] = [];
  for (const m of members) {
    const h = holding(m);
    if (h === null || (h.t ?? 0) < since) return false;
    held.push(...(h.items ?? []));
  }
  return held.length === items && new Set(held).size === items;
}

async function until(
  members: readonly Member[],
  check: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`partition-rebalance: ${what} not reached within ${ms} ms`);
    await Promise.race([
      ...members.map((m) => m.changed()),
      new Promise((r) => setTimeout(r, Math.min(left, 250))),
    ]);
  }
}

type Launcher = (args: string[]) => ChildProcess;

async function oneRound(
  client: "zkwire" | "kazoo",
  launch: Launcher,
  connect: string,
  watcher: ZooKeeper,
  path: string,
  knobs: RebalanceKnobs,
): Promise<{ fromKill: number; fromChange: number }> {
  const items = Array.from({ length: knobs.items }, (_, i) => `item-${String(i).padStart(3, "0")}`);
  const members = Array.from({ length: MEMBERS }, (_, i) => {
    const id = `${client}-m${i}`;
    const args = [
      connect,
      path,
      id,
      String(knobs.settleMs / 1000),
      items.join(","),
      `--session-timeout-ms=${knobs.sessionMs}`,
    ];
    return new Member(id, launch(args));
  });
  try {
    await until(members, () => stable(members, items.length, 0), 120_000, "a first stable split");
    // Idle for a random while first, the same for both clients: right after acquiring, the member to be
    // killed has just talked to the server, so its session would expire a full timeout after the kill;
    // after a while it pings on its own cadence, and the kill lands at a random point of it.
    await new Promise((r) => setTimeout(r, knobs.sessionMs * (0.5 + Math.random() / 2)));
    // When the killed member's party node goes: the server expired its session.
    const party = await watcher.getChildren(`${path}/party`, { watch: true });
    const changedAt = party.watch.then(() => monotonicMicros());
    const killedAt = monotonicMicros();
    await members[0]!.kill();
    const survivors = members.slice(1);
    await until(
      survivors,
      () => stable(survivors, items.length, killedAt),
      120_000,
      "a split after the kill",
    );
    const last = Math.max(...survivors.map((m) => holding(m)!.t!));
    return { fromKill: (last - killedAt) / 1000, fromChange: (last - (await changedAt)) / 1000 };
  } finally {
    await Promise.all(members.slice(1).map((m) => m.quit()));
    await members[0]!.kill();
  }
}

/** Runs the rounds, zkwire and kazoo interleaved (the order alternating), on paths under `root`. */
export async function runPartitionRebalance(
  connect: string,
  root: string,
  knobs: RebalanceKnobs,
  log: (line: string) => void,
): Promise<RebalanceResult> {
  const launchers = new Map<"zkwire" | "kazoo", Launcher>();
  const memberScript = fileURLToPath(new URL("../../test/peers/zkwire/partition-member.ts", import.meta.url));
  launchers.set("zkwire", (args) =>
    spawn(process.execPath, ["--import", "tsx", memberScript, ...args], { stdio: ["pipe", "pipe", "pipe"] }),
  );
  const skipped = new Map<string, string>();
  try {
    const kazoo = await installKazoo();
    const script = fileURLToPath(new URL("../../test/peers/kazoo/partitioner.py", import.meta.url));
    launchers.set("kazoo", (args) =>
      spawn(kazoo.python, ["-u", script, ...args], { stdio: ["pipe", "pipe", "pipe"] }),
    );
  } catch (error) {
    skipped.set("kazoo", `kazoo is not installed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const ms = new Map<string, number[]>([
    ["zkwire", []],
    ["kazoo", []],
  ]);
  const afterChange = new Map<string, number[]>([
    ["zkwire", []],
    ["kazoo", []],
  ]);
  const watcher = await ZooKeeper.connect(connect);
  try {
    for (let round = 0; round < knobs.rounds; round++) {
      const order = [...launchers.keys()];
      if (round % 2 === 1) order.reverse();
      for (const client of order) {
        const path = `${root}/rebalance-${client}-${round}`;
        const took = await oneRound(client, launchers.get(client)!, connect, watcher, path, knobs);
        ms.get(client)!.push(took.fromKill);
        afterChange.get(client)!.push(took.fromChange);
        log(
          `${REBALANCE_SCENARIO} round ${round + 1}/${knobs.rounds}: ${client} ${took.fromKill.toFixed(0)} ms ` +
            `(${took.fromChange.toFixed(0)} ms after the party change)`,
        );
      }
    }
  } finally {
    await watcher.close();
  }
  return {
    knobs,
    clients: (["zkwire", "kazoo"] as const).map((client) => {
      const reason = skipped.get(client);
      return reason === undefined
        ? { client, ms: ms.get(client)!, afterChangeMs: afterChange.get(client)! }
        : { client, ms: [], afterChangeMs: [], skipped: reason };
    }),
  };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function rebalanceMarkdown(result: RebalanceResult): string {
  const { knobs } = result;
  const floor = knobs.sessionMs + knobs.settleMs;
  const lines = [
    `## ${REBALANCE_SCENARIO}`,
    "",
    `${MEMBERS} members split ${knobs.items} items; one is killed with kill -9; ms from the kill until the ` +
      `survivors own every item again. Session timeout ${knobs.sessionMs} ms, settle ${knobs.settleMs} ms ` +
      `(their sum: ${floor} ms), ${knobs.rounds} interleaved rounds, median (min-max).`,
    "",
    "| client | ms from the kill | minus timeout + settle | ms from the party change | rounds (from the kill) |",
    "| :----- | ---------------: | --------------: | -----------------------: | :--------------------- |",
  ];
  for (const c of result.clients) {
    if (c.skipped !== undefined || c.ms.length === 0) {
      lines.push(`| ${c.client} | skipped: ${c.skipped ?? "no rounds"} | | | |`);
      continue;
    }
    const m = median(c.ms);
    lines.push(
      `| ${c.client} | ${m.toFixed(0)} (${Math.min(...c.ms).toFixed(0)}-${Math.max(...c.ms).toFixed(0)}) | ` +
        `${(m - floor).toFixed(0)} | ${median(c.afterChangeMs).toFixed(0)} | ${c.ms.map((x) => x.toFixed(0)).join(", ")} |`,
    );
  }
  const z = result.clients.find((c) => c.client === "zkwire")!;
  const k = result.clients.find((c) => c.client === "kazoo")!;
  if (z.ms.length > 0 && k.ms.length > 0) {
    lines.push(
      "",
      `zkwire / kazoo (medians): ${(median(z.ms) / median(k.ms)).toFixed(2)}x from the kill, ` +
        `${(median(z.afterChangeMs) / median(k.afterChangeMs)).toFixed(2)}x from the party change. ` +
        "From the kill, the killed member's last ping before the kill decides when its session expires " +
        "(up to a third of the session timeout earlier than a full timeout), which moves single rounds by " +
        "hundreds of ms either way; from the party change, only the recipes' own work counts (floor: the settle time).",
    );
  }
  return `${lines.join("\n")}\n`;
}

export function rebalanceJson(result: RebalanceResult): string[] {
  return result.clients.map((c) =>
    JSON.stringify({
      scenario: REBALANCE_SCENARIO,
      client: c.client,
      ...(c.skipped !== undefined ? { skipped: c.skipped } : {}),
      ms: c.ms,
      medianMs: c.ms.length > 0 ? median(c.ms) : null,
      afterChangeMs: c.afterChangeMs,
      medianAfterChangeMs: c.afterChangeMs.length > 0 ? median(c.afterChangeMs) : null,
      sessionMs: result.knobs.sessionMs,
      settleMs: result.knobs.settleMs,
      items: result.knobs.items,
    }),
  );
}
