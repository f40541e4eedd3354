/**
 * Vitest global setup: one standalone server shared by every test file of a project, so tests that only
 * need "a ZooKeeper" do not each pay a JVM start. Tests read its address with `inject("zkConnect")`.
 * Runs in vitest's main process, so the harness's exit handler covers it there too.
 *
 * Each project of vitest.config.ts names its release line in its `env.ZK_VERSION` (one project per line:
 * the suite runs against each); the server started here is of that line. The first lines of the output
 * say which server each project got, and from where.
 *
 * With ZK_CONNECT set it starts nothing and passes that server on.
 */
import type { TestProject } from "vitest/node";
import { startZooKeeper } from "../../src/testing/zookeeper.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** "127.0.0.1:port" of the shared server. */
    zkConnect: string;
    /** The version it reports, e.g. "3.9.5". */
    zkVersion: string;
    /** Where it came from: "external" | "local" | "maven" | "testcontainers". */
    zkSource: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const version = project.config?.env?.ZK_VERSION || process.env.ZK_VERSION || undefined;
  const zk = await startZooKeeper({ version });
  const name = project.name ? `[${project.name}] ` : "";
  process.stdout.write(
    `${name}ZooKeeper ${zk.version} (${zk.source}${version ? `, asked for ${version}` : ""}) at ${zk.connectString}\n`,
  );
  project.provide("zkConnect", zk.connectString);
  project.provide("zkVersion", zk.version);
  project.provide("zkSource", zk.source);
  return () => zk.close();
}
