/**
 * Where a ZooKeeper for the tests comes from, tried in order (ZK_SOURCES or the `sources` option):
 *   external        ZK_CONNECT / `connect`: a running server; the harness starts nothing
 *   local           ZOOKEEPER_HOME or the Debian package, only when no version was asked for
 *   maven           the asked version (default newest 3.9.x) from Maven Central, run with local java
 *   testcontainers  the official image, when a Docker engine answers and testcontainers is installed
 * Each source that is passed over says why, and all reasons end up in one ZooKeeperNotFoundError.
 */
import { spawnSync } from "node:child_process";
import { HarnessError, type SourceAttempt, ZooKeeperNotFoundError } from "./errors.js";
import { findLocalInstall } from "./local.js";
import { type MavenOptions, resolveFromMaven } from "./maven.js";
import { parseConnectString } from "./server.js";
import { dockerUnavailable, loadTestcontainers } from "./testcontainers.js";
import { DEFAULT_VERSION_LINE } from "./versions.js";

export const SOURCE_NAMES = ["external", "local", "maven", "testcontainers"] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export type Runtime =
  | { readonly source: "external"; readonly connect: string }
  | {
      readonly source: "local" | "maven";
      readonly java: string;
      readonly classpath: readonly string[];
      readonly version: string | undefined;
    }
  | {
      readonly source: "testcontainers";
      readonly module: Exclude<Awaited<ReturnType<typeof loadTestcontainers>>, { reason: string }>;
      readonly tag: string;
    };

export interface SourceRequest extends MavenOptions {
  readonly servers: number;
  /** An explicitly asked version (option or ZK_VERSION); undefined means "any, newest by default". */
  readonly version: string | undefined;
  readonly connect: string | undefined;
  readonly sources: readonly SourceName[];
  readonly java: string;
}

export function parseSources(value: string | readonly string[]): SourceName[] {
  const names = (typeof value === "string" ? value.split(",") : value)
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(SOURCE_NAMES as readonly string[]).includes(name)) {
      throw new HarnessError(
        "ZK_BAD_OPTION",
        `unknown ZooKeeper source '${name}'; known: ${SOURCE_NAMES.join(", ")}`,
      );
    }
  }
  return names as SourceName[];
}

const javaChecks = new Map<string, string | undefined>();

/** Why `java` cannot run, or undefined when it can (checked once per executable). */
function javaUnavailable(java: string): string | undefined {
  if (!javaChecks.has(java)) {
    const result = spawnSync(java, ["-version"], { stdio: "ignore", timeout: 30_000 });
    javaChecks.set(
      java,
      result.error !== undefined || result.status !== 0
        ? `cannot run '${java} -version' (${result.error?.message ?? `exit ${result.status}`}); set JAVA_HOME or ZKWIRE_JAVA`
        : undefined,
    );
  }
  return javaChecks.get(java);
}

export async function findZooKeeper(request: SourceRequest): Promise<Runtime> {
  const attempts: SourceAttempt[] = [];
  const skip = (source: SourceName, reason: string) => attempts.push({ source, reason });
  for (const source of request.sources) {
    switch (source) {
      case "external": {
        if (request.connect === undefined || request.connect === "") {
          skip(source, "ZK_CONNECT is not set");
          break;
        }
        const hosts = parseConnectString(request.connect).length;
        if (hosts < request.servers) {
          skip(
            source,
            `ZK_CONNECT=${request.connect} has ${hosts} server(s), the test needs ${request.servers}`,
          );
          break;
        }
        return { source, connect: request.connect };
      }
      case "local": {
        if (request.version !== undefined) {
          skip(
            source,
            `version ${request.version} was asked for; a local installation is used only when none is`,
          );
          break;
        }
        const local = findLocalInstall();
        if ("reason" in local) {
          skip(source, local.reason);
          break;
        }
        const noJava = javaUnavailable(request.java);
        if (noJava !== undefined) {
          skip(source, noJava);
          break;
        }
        return { source, java: request.java, classpath: local.classpath, version: local.version };
      }
      case "maven": {
        const noJava = javaUnavailable(request.java);
        if (noJava !== undefined) {
          skip(source, noJava);
          break;
        }
        try {
          const resolved = await resolveFromMaven(request.version ?? DEFAULT_VERSION_LINE, request);
          return { source, java: request.java, classpath: resolved.classpath, version: resolved.version };
        } catch (error) {
          skip(source, error instanceof Error ? error.message : String(error));
        }
        break;
      }
      case "testcontainers": {
        if (request.servers > 1) {
          skip(source, "only standalone servers are supported in containers");
          break;
        }
        const noDocker = await dockerUnavailable();
        if (noDocker !== undefined) {
          skip(source, noDocker);
          break;
        }
        const module = await loadTestcontainers();
        if ("reason" in module) {
          skip(source, module.reason);
          break;
        }
        return { source, module, tag: request.version ?? DEFAULT_VERSION_LINE };
      }
    }
  }
  if (request.sources.length === 0)
    attempts.push({ source: "(none)", reason: "ZK_SOURCES / `sources` is empty" });
  throw new ZooKeeperNotFoundError(attempts);
}
