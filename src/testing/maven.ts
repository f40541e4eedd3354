/**
 * Fetches a ZooKeeper server (its jar and runtime dependencies) from Maven Central into a cache dir:
 *
 *   $ZKWIRE_CACHE/zookeeper/            ($ZKWIRE_CACHE defaults to ~/.cache/zkwire)
 *     lines.json                         "3.9" -> "3.9.5", so a line is looked up once a week
 *     3.9.5/pom.xml, lib/*.jar, classpath.json
 *     .lock-3.9.5/                       held while one process resolves 3.9.5
 *
 * A version dir appears only complete: it is filled under a temp name and renamed into place, so a
 * reader never sees half a download. The lock dir (mkdir is atomic) only saves two processes (parallel
 * vitest workers, CI jobs) from both running Maven; correctness comes from the rename.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { copyDependenciesArgs, exclusive, writeAtomically } from "./cache-lock.js";
import { MavenResolveError } from "./errors.js";
import {
  compareVersions,
  DEFAULT_VERSION_LINE,
  KNOWN_GOOD_VERSIONS,
  lineOf,
  parseVersionSpec,
  type VersionLine,
  versionAtLeast,
} from "./versions.js";

export interface MavenOptions {
  /** Root of zkwire's cache; default $ZKWIRE_CACHE or ~/.cache/zkwire. */
  readonly cacheDir?: string;
  /** Maven executable; default $ZKWIRE_MVN or "mvn". */
  readonly mvn?: string;
}

export interface ResolvedServer {
  readonly version: string;
  /** Absolute paths of the jars to put on the JVM's class path. */
  readonly classpath: readonly string[];
  readonly dir: string;
}

const METADATA_URL = "https://repo1.maven.org/maven2/org/apache/zookeeper/zookeeper/maven-metadata.xml";
/** How long "3.9 means 3.9.5" is trusted before maven-metadata.xml is read again. */
const LINE_TTL_MS = 7 * 24 * 3600_000;
const MVN_TIMEOUT_MS = 10 * 60_000;

export function cacheRoot(cacheDir?: string): string {
  const root =
    cacheDir ??
    process.env.ZKWIRE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "zkwire");
  return join(root, "zookeeper");
}

const inProcess = new Map<string, Promise<ResolvedServer>>();

/**
 * Resolves "3.9" (newest 3.9.x that Maven can actually resolve) or "3.8.4" (exactly that) to jars in
 * the cache, running Maven only when the version is not cached yet.
 */
export function resolveFromMaven(
  spec: string = DEFAULT_VERSION_LINE,
  options: MavenOptions = {},
): Promise<ResolvedServer> {
  const root = cacheRoot(options.cacheDir);
  const key = `${root}\0${spec}`;
  let pending = inProcess.get(key);
  if (pending === undefined) {
    pending = resolve(spec, root, options.mvn ?? process.env.ZKWIRE_MVN ?? "mvn");
    // A failure is not memoized: the next test may run after the network came back.
    pending.catch(() => inProcess.delete(key));
    inProcess.set(key, pending);
  }
  return pending;
}

async function resolve(spec: string, root: string, mvn: string): Promise<ResolvedServer> {
  const parsed = parseVersionSpec(spec);
  if (parsed.kind === "exact")
    return (await cached(root, parsed.version)) ?? install(root, parsed.version, mvn);

  const lines = await readLines(root);
  const known = lines[parsed.line];
  if (known !== undefined && Date.now() - known.checkedAt < LINE_TTL_MS) {
    const hit = await cached(root, known.version);
    if (hit !== undefined) return hit;
  }
  const candidates = await lineCandidates(parsed.line, known?.version);
  const failures: string[] = [];
  for (const version of candidates) {
    try {
      const resolved = (await cached(root, version)) ?? (await install(root, version, mvn));
      await writeLine(root, parsed.line, version);
      return resolved;
    } catch (error) {
      // A listed release can still be unresolvable (a mirror missing its parent pom): try the next.
      failures.push(`${version}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    }
  }
  throw new MavenResolveError(
    parsed.line,
    candidates.length === 0
      ? "no release of this line is known"
      : `every candidate failed:\n  ${failures.join("\n  ")}`,
  );
}

/** Releases of a line, newest first: from maven-metadata.xml, else the cached and known-good ones. */
async function lineCandidates(line: string, cachedVersion: string | undefined): Promise<string[]> {
  const found = new Set<string>();
  try {
    const response = await fetch(METADATA_URL, { signal: AbortSignal.timeout(10_000) });
    if (response.ok) {
      const xml = await response.text();
      for (const match of xml.matchAll(/<version>(\d+\.\d+\.\d+)<\/version>/g)) {
        // Only plain releases: "-alpha"/"-beta" tags do not match the pattern above.
        if (lineOf(match[1]!) === line) found.add(match[1]!);
      }
    }
  } catch {
    // Offline or a mirror-only network: fall back to what is known below.
  }
  if (cachedVersion !== undefined) found.add(cachedVersion);
  const knownGood = KNOWN_GOOD_VERSIONS[line as VersionLine] as string | undefined;
  if (knownGood !== undefined) found.add(knownGood);
  return [...found].sort((a, b) => compareVersions(b, a));
}

interface LineEntry {
  readonly version: string;
  readonly checkedAt: number;
}

async function readLines(root: string): Promise<Record<string, LineEntry>> {
  try {
    return JSON.parse(await readFile(join(root, "lines.json"), "utf8")) as Record<string, LineEntry>;
  } catch {
    return {};
  }
}

async function writeLine(root: string, line: string, version: string): Promise<void> {
  const lines = await readLines(root);
  lines[line] = { version, checkedAt: Date.now() };
  await writeAtomically(join(root, "lines.json"), `${JSON.stringify(lines, null, 2)}\n`);
}

async function cached(root: string, version: string): Promise<ResolvedServer | undefined> {
  const dir = join(root, version);
  try {
    const jars = JSON.parse(await readFile(join(dir, "classpath.json"), "utf8")) as string[];
    return { version, dir, classpath: jars.map((jar) => join(dir, "lib", jar)) };
  } catch {
    return undefined;
  }
}

async function install(root: string, version: string, mvn: string): Promise<ResolvedServer> {
  await mkdir(root, { recursive: true });
  await exclusive(
    join(root, `.lock-${version}`),
    () => existsSync(join(root, version, "classpath.json")),
    async () => {
      if ((await cached(root, version)) !== undefined) return;
      const temp = join(root, `.tmp-${version}-${process.pid}-${randomBytes(4).toString("hex")}`);
      await mkdir(temp, { recursive: true });
      try {
        await writeFile(join(temp, "pom.xml"), serverPom(version));
        await runMaven(mvn, temp, version);
        const jars = (await readdir(join(temp, "lib"))).filter((name) => name.endsWith(".jar")).sort();
        if (!jars.includes(`zookeeper-${version}.jar`)) {
          throw new MavenResolveError(
            version,
            `Maven finished but zookeeper-${version}.jar is not among ${jars.join(", ")}`,
          );
        }
        await writeFile(join(temp, "classpath.json"), `${JSON.stringify(jars, null, 2)}\n`);
        try {
          await rename(temp, join(root, version));
        } catch (error) {
          // Someone else's complete copy got there first (only possible if their lock went stale).
          if (!existsSync(join(root, version, "classpath.json"))) throw error;
        }
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    },
  );
  const result = await cached(root, version);
  if (result === undefined)
    throw new MavenResolveError(version, `cache dir ${join(root, version)} is unreadable`);
  return result;
}

/**
 * The pom Maven resolves. It inherits ZooKeeper's own parent pom so the jars ZooKeeper declares
 * `provided` (it expects a distribution to ship them) come in the versions it was built and tested with:
 * - metrics-core: 3.6+ fail at start without it (NoClassDefFoundError com/codahale/metrics/Reservoir);
 * - snappy-java: only used with zookeeper.snapshot.compression.method=snappy, cheap to have;
 * - slf4j-simple in ZooKeeper's slf4j version (1.7 or 2.0) so the server log is readable; 3.8 brings
 *   logback as a compile dependency, which without a logback.xml logs at DEBUG, so it is excluded.
 */
export function serverPom(version: string): string {
  const provided = versionAtLeast(version, "3.6")
    ? `
    <dependency><groupId>io.dropwizard.metrics</groupId><artifactId>metrics-core</artifactId></dependency>
    <dependency><groupId>org.xerial.snappy</groupId><artifactId>snappy-java</artifactId></dependency>`
    : "";
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by zkwire's test harness to fetch a runnable ZooKeeper ${version} server. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.apache.zookeeper</groupId>
    <artifactId>parent</artifactId>
    <version>${version}</version>
    <relativePath/>
  </parent>
  <groupId>zkwire.harness</groupId>
  <artifactId>zookeeper-server</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
      <version>${version}</version>
      <exclusions>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>${provided}
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>\${slf4j.version}</version></dependency>
  </dependencies>
</project>
`;
}

function runMaven(mvn: string, dir: string, version: string): Promise<void> {
  const args = copyDependenciesArgs(dir);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(mvn, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-64_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), MVN_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new MavenResolveError(version, `cannot run '${mvn}': ${error.message}`, { cause: error }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise();
      // Maven's first [FATAL]/[ERROR] lines say what went wrong (e.g. "Non-resolvable parent POM").
      const reasons = output
        .split("\n")
        .filter((line) => /^\[(FATAL|ERROR)\] \S/.test(line))
        .slice(0, 3)
        .join("\n");
      reject(
        new MavenResolveError(
          version,
          `mvn exited with ${code ?? signal}: ${reasons || output.slice(-2_000)}`,
        ),
      );
    });
  });
}
