/**
 * Vitest global setup: one standalone server shared by every test file of the run, so tests that only
 * need "a ZooKeeper" do not each pay a JVM start. Tests read its address with `inject("zkConnect")`.
 * Runs in vitest's main process, so the harness's exit handler covers it there too.
 *
 * With ZK_CONNECT set it starts nothing and passes that server on.
 */
import type { TestProject } from "vitest/node";
import { startZooKeeper } from "./zookeeper.js";

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
  const zk = await startZooKeeper();
  project.provide("zkConnect", zk.connectString);
  project.provide("zkVersion", zk.version);
  project.provide("zkSource", zk.source);
  return () => zk.close();
}
