/**
 * What a test needs of the server, said in one place. A test names the features it needs and is
 * skipped, with the reason shown in the output, on a server that lacks them; it never fails because of
 * which server the run got (ZK_VERSION / the CI's second pass against 3.8).
 *
 *   it("removes a persistent watch", async (ctx) => {
 *     requires(ctx, "checkWatchesByType");
 *     ...
 *   });
 *   beforeEach((ctx) => requires(ctx, "persistentWatches")); // a whole file or describe block
 *
 * The version is the one the shared server reports (`srvr`), or pass the version of a server a test
 * started itself.
 */
import { inject } from "vitest";
import {
  startZooKeeper,
  type ZooKeeperCluster,
  ZooKeeperNotFoundError,
  type ZooKeeperOptions,
} from "../../src/testing/index.js";
import { versionAtLeast } from "../../src/testing/versions.js";

/** What a test or hook context offers to skip it with a reason. */
type SkipContext = { skip: (condition: boolean, note?: string) => void };

/** Each feature, the first release that has it, and why a test may need it. */
export const FEATURES = {
  /** addWatch, persistent and persistent-recursive watches (ZOOKEEPER-1416). */
  persistentWatches: { since: "3.6.0", what: "persistent watches (addWatch)" },
  /** getEphemerals, getAllChildrenNumber. */
  getEphemerals: { since: "3.6.0", what: "getEphemerals and getAllChildrenNumber" },
  /** The whoAmI request (ZOOKEEPER-3969). */
  whoAmI: { since: "3.7.0", what: "whoAmI" },
  /** checkWatches/removeWatches of the persistent watch types (ZOOKEEPER-4472). */
  checkWatchesByType: { since: "3.9.0", what: "checkWatches/removeWatches by persistent watch type" },
  /** Watch notifications carry the zxid of the change; -1 before 3.9. */
  eventZxid: { since: "3.9.0", what: "the zxid in watch events" },
  /**
   * A create inside a multi answers with the node's Stat (ZOOKEEPER-4026, in 3.9 and backported to
   * 3.8.2: 3.8.1 answers without it, as Debian's 3.8.0 does; both checked here).
   */
  multiCreateStat: { since: "3.8.2", what: "the created node's Stat in a multi's result" },
} as const;

export type Feature = keyof typeof FEATURES;

/** The shared server's version, as it reports it ("3.9.5"). */
export function sharedVersion(): string {
  return inject("zkVersion");
}

/** Why `version` lacks `feature`, or undefined when it has it. */
export function lacks(feature: Feature, version: string = sharedVersion()): string | undefined {
  const { since, what } = FEATURES[feature];
  if (!/^\d+\.\d+\.\d+/.test(version)) return undefined; // an unknown version: let the test speak
  return versionAtLeast(version, since)
    ? undefined
    : `needs ${what} (ZooKeeper ${since}+); the server is ${version}`;
}

/** Skips the current test, with the reason shown, unless the server has every one of `features`. */
export function requires(ctx: SkipContext, ...features: (Feature | [Feature, string])[]): void {
  for (const entry of features) {
    const reason = Array.isArray(entry) ? lacks(entry[0], entry[1]) : lacks(entry);
    if (reason !== undefined) ctx.skip(true, reason);
  }
}

/** What a start asked for, in words: "ZooKeeper 3.5", "a server with tls". */
function asked(options: ZooKeeperOptions): string {
  const needs = options.needs?.length ? `a server with ${options.needs.join(", ")}` : undefined;
  const version = options.version === undefined ? undefined : `ZooKeeper ${options.version}`;
  return [version, needs].filter((x) => x !== undefined).join(", ") || "a server of its own";
}

/**
 * Starts a server a test needs beyond the shared one (another release line, or `needs: ["tls"]`: a
 * classpath with Netty, which Debian's package lacks). When no source the run allows can give it (say
 * `ZK_SOURCES=local` on a machine with Debian's package), returns why instead of failing; any other
 * failure to start still throws.
 */
async function startOrWhy(options: ZooKeeperOptions): Promise<ZooKeeperCluster | string> {
  try {
    return await startZooKeeper(options);
  } catch (error) {
    if (!(error instanceof ZooKeeperNotFoundError)) throw error;
    const tried = error.attempts.map((a) => `${a.source}: ${a.reason}`).join("; ");
    return `needs ${asked(options)}, which no source this run allows could give (${tried})`;
  }
}

/** In a test: the server, or the test is skipped with the reason shown. */
export async function startOrSkip(ctx: SkipContext, options: ZooKeeperOptions): Promise<ZooKeeperCluster> {
  const started = await startOrWhy(options);
  if (typeof started === "string") {
    ctx.skip(true, started);
    throw new Error(started); // not reached: skip throws
  }
  return started;
}

/**
 * The servers a file starts in beforeAll: when one cannot be had, every test of the file is skipped with
 * the reason shown.
 *
 *   const needed = new NeededServers();
 *   beforeAll(async () => { server = await needed.start({ needs: ["tls"], ... }); });  // or startAll([...])
 *   beforeEach((ctx) => needed.skipIfMissing(ctx));
 */
export class NeededServers {
  /** Why a server could not be had; undefined while every start succeeded. */
  reason: string | undefined;

  /** The started server, or undefined (and `reason` set) when no allowed source can give it. */
  async start(options: ZooKeeperOptions): Promise<ZooKeeperCluster | undefined> {
    const started = await startOrWhy(options);
    if (typeof started !== "string") return started;
    this.reason ??= started;
    return undefined;
  }

  /** Several servers at once: all of them, or none (those started are closed) and `reason` set. */
  async startAll(options: readonly ZooKeeperOptions[]): Promise<ZooKeeperCluster[] | undefined> {
    const started = await Promise.all(options.map((o) => this.start(o)));
    if (started.every((cluster) => cluster !== undefined)) return started as ZooKeeperCluster[];
    await Promise.all(started.map((cluster) => cluster?.close()));
    return undefined;
  }

  skipIfMissing(ctx: SkipContext): void {
    if (this.reason !== undefined) ctx.skip(true, this.reason);
  }
}
