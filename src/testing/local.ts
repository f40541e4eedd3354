/**
 * A ZooKeeper already installed on this machine:
 * - ZOOKEEPER_HOME: an unpacked release (apache-zookeeper-X-bin): jars in lib/ (and the root), and conf/
 *   with the release's logback.xml / log4j.properties that log to the console, i.e. to our log file;
 * - the Debian/Ubuntu package (`apt-get install zookeeper`): /usr/share/java/zookeeper.jar, whose
 *   manifest Class-Path names its dependencies, plus slf4j-simple.jar when installed, for readable logs.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";

export interface LocalInstall {
  readonly kind: "zookeeper-home" | "debian";
  readonly home: string;
  readonly classpath: readonly string[];
  /** From the jar's file name; the server's `srvr` answer is the final word. */
  readonly version: string | undefined;
}

export const DEBIAN_JAVA_DIR = "/usr/share/java";

const SERVER_JAR = /^zookeeper-(\d+\.\d+\.\d+)\.jar$/;

function jarsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(".jar"))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

function versionIn(paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const match = SERVER_JAR.exec(basename(path));
    if (match) return match[1];
  }
  return undefined;
}

/** The installation to use, or the reason there is none. */
export function findLocalInstall(
  env: NodeJS.ProcessEnv = process.env,
  debianDir = DEBIAN_JAVA_DIR,
): LocalInstall | { readonly reason: string } {
  const home = env.ZOOKEEPER_HOME;
  if (home !== undefined && home !== "") {
    const jars = [...jarsIn(home), ...jarsIn(join(home, "lib"))];
    const version = versionIn(jars);
    if (version === undefined) {
      return { reason: `ZOOKEEPER_HOME=${home} has no zookeeper-<version>.jar in it or in lib/` };
    }
    const conf = join(home, "conf");
    const classpath = existsSync(conf) && statSync(conf).isDirectory() ? [conf, ...jars] : jars;
    return { kind: "zookeeper-home", home, classpath, version };
  }
  const serverJar = join(debianDir, "zookeeper.jar");
  if (!existsSync(serverJar)) {
    return {
      reason: `ZOOKEEPER_HOME is not set and ${serverJar} does not exist (apt-get install zookeeper)`,
    };
  }
  const binding = join(debianDir, "slf4j-simple.jar");
  return {
    kind: "debian",
    home: debianDir,
    classpath: existsSync(binding) ? [serverJar, binding] : [serverJar],
    version: versionIn(jarsIn(debianDir)),
  };
}
