/**
 * Shared pieces of the conformance suite: clients of the shared server (vitest's global setup starts
 * one standalone ZooKeeper per run, `inject("zkConnect")`), a unique root znode per file so files and
 * tests never see each other's nodes, and bounded waits that fail with a message instead of hanging
 * until the test timeout.
 */
import { randomBytes } from "node:crypto";
import { expect, inject } from "vitest";
import {
  type PersistentWatch,
  type WatchedEvent,
  type Watcher,
  ZkArgumentError,
  ZooKeeper,
  ZooKeeperError,
  type ZooKeeperOptions,
} from "../../src/index.js";
import { fourLetterWord } from "../../src/testing/four-letter-word.js";

/** "127.0.0.1:port" of the run's shared standalone server. */
export const SHARED: string = inject("zkConnect");
/** The version it reports, e.g. "3.9.5" (3.9 unless ZK_VERSION says otherwise). */
export const SHARED_VERSION: string = inject("zkVersion");

/** A name no other test (or run) uses: the suite shares one server and may run files in parallel. */
export function uniqueName(prefix = "conformance"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/**
 * A client of the shared server (or `connectString`). The 10 s session timeout bounds how long the
 * ephemeral nodes of a test that failed before close() outlive it.
 */
export function connect(connectString = SHARED, options: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  return ZooKeeper.connect(connectString, { sessionTimeout: 10_000, connectTimeout: 10_000, ...options });
}

/**
 * A client and a fresh root node for one test file; `path()` names a new node under it. Call close()
 * in afterAll: it removes the root and everything under it, then closes the client.
 */
export class Fixture {
  #counter = 0;
  private constructor(
    readonly zk: ZooKeeper,
    readonly root: string,
  ) {}

  static async open(prefix = "conformance"): Promise<Fixture> {
    const zk = await connect();
    const { path } = await zk.create(`/${uniqueName(prefix)}`);
    return new Fixture(zk, path);
  }

  /** A path under the root that no other test of the file uses (the node is not created). */
  path(name = "n"): string {
    return `${this.root}/${name}-${++this.#counter}`;
  }

  /** Creates a fresh persistent node under the root and returns its path. */
  async dir(name = "d"): Promise<string> {
    return (await this.zk.create(this.path(name))).path;
  }

  async close(): Promise<void> {
    try {
      if (this.zk.state.kind === "connected") await this.zk.deleteRecursive(this.root);
    } catch {
      // Tidiness only: the shared server lives for this run alone, and a test that failed half-way may
      // have left a node this client cannot list. The failure that matters is the test's own.
    } finally {
      await this.zk.close();
    }
  }
}

/** `promise`, or a rejection naming what did not happen within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The rejection reason of `promise`; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    expect.unreachable(`expected a rejection, got ${show(value)}`);
  } catch (err) {
    return err;
  }
}

/** Asserts `promise` rejects with a ZooKeeperError of this code name and returns it. */
export async function zkError(promise: Promise<unknown>, codeName: string): Promise<ZooKeeperError> {
  const err = await rejectionOf(promise);
  expect(err, String(err)).toBeInstanceOf(ZooKeeperError);
  expect((err as ZooKeeperError).codeName).toBe(codeName);
  return err as ZooKeeperError;
}

/** Asserts `promise` rejects with ZkArgumentError (refused before sending) and returns its message. */
export async function argumentError(promise: Promise<unknown>, message?: RegExp): Promise<string> {
  const err = await rejectionOf(promise);
  expect(err, String(err)).toBeInstanceOf(ZkArgumentError);
  if (message !== undefined) expect((err as Error).message).toMatch(message);
  return (err as Error).message;
}

function show(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v))?.slice(0, 200) ?? "undefined"
    );
  } catch {
    return String(value);
  }
}

/** A watcher that records every event, and waits for the next ones with a bound. */
export class Recorder {
  readonly events: WatchedEvent[] = [];
  #waiters: (() => void)[] = [];

  readonly watcher: Watcher = (event) => {
    this.events.push(event);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  /** Resolves once at least `count` events were recorded. */
  async waitFor(count: number, ms = 5_000): Promise<WatchedEvent[]> {
    const reached = async () => {
      while (this.events.length < count) await new Promise<void>((r) => this.#waiters.push(r));
      return this.events;
    };
    return within(reached(), ms, `${count} watch event(s) (have ${this.events.length})`);
  }
}

/** The next event of a persistent watch, bounded. */
export async function nextEvent(watch: PersistentWatch, ms = 5_000): Promise<WatchedEvent> {
  const result = await within(watch.next(), ms, `an event on the persistent watch of ${watch.path}`);
  if (result.done) expect.unreachable(`the persistent watch of ${watch.path} ended`);
  return result.value;
}

/** Only what a test compares: event type and path (state and zxid vary). */
export function brief(events: readonly WatchedEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.path}`);
}

/** Polls `check` until it is true, every `every` ms, failing with `what` after `ms`. */
export async function eventually(
  check: () => Promise<boolean>,
  ms: number,
  what: string,
  every = 50,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Whether the server at `server` ("host:port") lists `path` among the watches of `zk`'s session. Asks
 * with the `wchc` four-letter word (watched paths by session), which does not go through the client.
 */
export async function serverWatches(server: string, zk: ZooKeeper, path: string): Promise<boolean> {
  const [host, port] = server.split(":");
  const text = await fourLetterWord(host!, Number(port), "wchc");
  const session = `0x${zk.sessionId.toString(16)}`;
  // Blocks of "0x<session>" followed by tab-indented paths.
  const block = text.split(/\n(?=0x)/).find((b) => b.trim().split("\n")[0] === session);
  return block?.split("\n").some((line) => line.trim() === path) ?? false;
}
