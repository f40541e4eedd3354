/**
 * Where a ZooKeeper for the tests comes from, tried in order (ZK_SOURCES or the `sources` option):
 *   external        ZK_CONNECT / `connect`: a running server; the harness starts nothing
 *   local           ZOOKEEPER_HOME or the Debian package: only when asked for (see defaultSources), and
 *                   only when its version matches the asked one
 *   maven           the asked version (default newest 3.9.x) from Maven Central, run with local java
 *   testcontainers  the official image, when a Docker engine answers and testcontainers is installed
 * Each source that is passed over says why, and all reasons end up in one ZooKeeperNotFoundError.
 *
 * The rule: a run gets the release line it names (ZK_VERSION, default the newest 3.9 that resolves),
 * whatever else the machine has installed. A machine with Debian's zookeeper 3.8.0 package must not
 * silently test (or benchmark) against 3.8.0 when nothing asked for it; a local installation is used only
 * when asked for, with ZOOKEEPER_HOME or ZK_SOURCES=local.
 */
import { spawnSync } from "node:child_process";
import { HarnessError, type SourceAttempt, ZooKeeperNotFoundError } from "./errors.js";
import { findLocalInstall } from "./local.js";
import { type MavenOptions, resolveFromMaven } from "./maven.js";
import { parseConnectString } from "./server.js";
import { dockerUnavailable, loadTestcontainers } from "./testcontainers.js";
import { DEFAULT_VERSION_LINE, lineOf, parseVersionSpec } from "./versions.js";

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
  /** What the server must be able to do beyond the defaults (see ServerNeed). */
  readonly needs?: readonly ServerNeed[];
}

/**
 * Abilities not every installation has. "tls": NettyServerCnxnFactory, i.e. Netty's codec on the
 * classpath (Debian's zookeeper package ships without it; the Maven artifact and the image have it).
 */
export type ServerNeed = "tls";

/** Why a local installation cannot serve `needs`, or undefined when it can. */
function localLacks(classpath: readonly string[], needs: readonly ServerNeed[]): string | undefined {
  if (needs.includes("tls") && !classpath.some((jar) => /(^|\/)netty-codec[^/]*\.jar$/.test(jar)))
    return "the local installation has no Netty codec on its classpath, which TLS needs";
  return undefined;
}

/**
 * The sources for a test that must start a JVM itself (it passes files or system properties to the
 * server): the run's sources (ZK_SOURCES, else the default) less those that start no JVM here.
 */
export function jvmSources(env: NodeJS.ProcessEnv = process.env): SourceName[] {
  const all = env.ZK_SOURCES ? parseSources(env.ZK_SOURCES) : defaultSources(env);
  return all.filter((source) => source === "local" || source === "maven");
}

/**
 * The sources tried when neither ZK_SOURCES nor the `sources` option says: a local installation only
 * when ZOOKEEPER_HOME points at one (asking for it by name), never the Debian package by accident.
 */
export function defaultSources(env: NodeJS.ProcessEnv = process.env): SourceName[] {
  return env.ZOOKEEPER_HOME
    ? ["external", "local", "maven", "testcontainers"]
    : ["external", "maven", "testcontainers"];
}

/** Whether `version` ("3.8.0") is what `spec` ("3.8" or "3.8.0") asks for. */
export function versionMatches(version: string, spec: string): boolean {
  const asked = parseVersionSpec(spec);
  return asked.kind === "line" ? lineOf(version) === asked.line : version === asked.version;
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
        const local = findLocalInstall();
        if ("reason" in local) {
          skip(source, local.reason);
          break;
        }
        if (
          request.version !== undefined &&
          !(local.version && versionMatches(local.version, request.version))
        ) {
          skip(
            source,
            `version ${request.version} was asked for; the local installation (${local.home}) is ${local.version ?? "of unknown version"}`,
          );
          break;
        }
        const lacking = localLacks(local.classpath, request.needs ?? []);
        if (lacking !== undefined) {
          skip(source, lacking);
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
