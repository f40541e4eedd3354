/**
 * ZooKeeper versions the harness knows how to run.
 *
 * A version is asked for as a line ("3.9": the newest 3.9.x that resolves) or exactly ("3.8.4").
 */
import { HarnessError } from "./errors.js";

/** Release lines the harness starts and the client is tested against. */
export const SUPPORTED_VERSION_LINES = ["3.5", "3.6", "3.7", "3.8", "3.9"] as const;
export type VersionLine = (typeof SUPPORTED_VERSION_LINES)[number];

/** What "no version asked for" means when the server comes from Maven. */
export const DEFAULT_VERSION_LINE: VersionLine = "3.9";

/**
 * Newest patch of each line verified to resolve from Maven Central and to start (standalone and
 * ensemble). Used when maven-metadata.xml cannot be read (offline CI with a warm ~/.m2) and as the
 * last candidate of a line. Newer patches listed in the metadata are tried first; e.g. 3.8.7 and
 * 3.9.6 are listed but their parent pom was missing from the mirror this was verified on.
 */
export const KNOWN_GOOD_VERSIONS: Readonly<Record<VersionLine, string>> = {
  "3.5": "3.5.10",
  "3.6": "3.6.4",
  "3.7": "3.7.2",
  "3.8": "3.8.6",
  "3.9": "3.9.5",
};

export type VersionSpec =
  | { readonly kind: "line"; readonly line: string }
  | { readonly kind: "exact"; readonly version: string };

export function parseVersionSpec(spec: string): VersionSpec {
  const trimmed = spec.trim();
  if (/^\d+\.\d+$/.test(trimmed)) return { kind: "line", line: trimmed };
  if (/^\d+\.\d+\.\d+$/.test(trimmed)) return { kind: "exact", version: trimmed };
  throw new HarnessError(
    "ZK_BAD_OPTION",
    `ZooKeeper version '${spec}' is neither a line like "3.9" nor an exact release like "3.9.5"`,
  );
}

/** Numeric order of dotted versions: negative if a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

export function lineOf(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}
