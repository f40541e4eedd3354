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
import { versionAtLeast } from "../../src/testing/versions.js";

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
export function requires(
  ctx: { skip: (condition: boolean, note?: string) => void },
  ...features: (Feature | [Feature, string])[]
): void {
  for (const entry of features) {
    const reason = Array.isArray(entry) ? lacks(entry[0], entry[1]) : lacks(entry);
    if (reason !== undefined) ctx.skip(true, reason);
  }
}
