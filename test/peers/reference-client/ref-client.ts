/**
 * Drives RefClient.java (the real ZooKeeper Java client) from a test: one JVM per RefClient, started
 * with the single-file source launcher on the class path of a Maven-fetched ZooKeeper, answering one
 * JSON line per command. See RefClient.java for the commands.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { defaultJava } from "../../../src/testing/config.js";
import { resolveFromMaven } from "../../../src/testing/maven.js";

export type RefAnswer =
  | { ok: true; children?: string[]; data?: string; path?: string }
  | { ok: false; error: string };

const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");

export class RefClient {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string | null) => void)[] = [];
  #stderr = "";
  #exited = false;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4_000);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
    child.on("exit", () => {
      this.#exited = true;
      for (const waiter of this.#waiting.splice(0)) waiter(null);
    });
  }

  /** Starts the JVM and waits until its session is established. */
  static async start(connectString: string, timeoutMs = 60_000): Promise<RefClient> {
    const { classpath } = await resolveFromMaven();
    const child = spawn(
      defaultJava(),
      [
        // Startup time matters more than peak speed for a handful of requests.
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-Dzookeeper.sasl.client=false",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        classpath.join(process.platform === "win32" ? ";" : ":"),
        join(import.meta.dirname, "RefClient.java"),
        connectString,
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const client = new RefClient(child);
    const ready = await client.#next(timeoutMs);
    if (ready === null || !(JSON.parse(ready) as { ready?: boolean }).ready) {
      client.close();
      throw new Error(`RefClient did not start: ${ready ?? "exited"}\n${client.#stderr}`);
    }
    return client;
  }

  #next(timeoutMs: number): Promise<string | null> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#exited) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`RefClient gave no answer within ${timeoutMs} ms\n${this.#stderr}`));
      }, timeoutMs);
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  async #ask(words: string[]): Promise<RefAnswer> {
    this.#child.stdin.write(`${words.join(" ")}\n`);
    const line = await this.#next(15_000);
    if (line === null) throw new Error(`RefClient exited\n${this.#stderr}`);
    return JSON.parse(line) as RefAnswer;
  }

  /** The children's names as the Java client decodes them. */
  async children(path: string): Promise<string[]> {
    const answer = await this.#ask(["children", hex(path)]);
    if (!answer.ok) throw new Error(`RefClient children ${path}: ${answer.error}`);
    return answer.children ?? [];
  }

  /** The node's data bytes as the Java client reads them. */
  async getData(path: string): Promise<Buffer> {
    const answer = await this.#ask(["get", hex(path)]);
    if (!answer.ok) throw new Error(`RefClient get ${path}: ${answer.error}`);
    return Buffer.from(answer.data ?? "", "hex");
  }

  /** Creates a persistent node with the Java client; returns the path it reports. */
  async create(path: string, data: Uint8Array): Promise<string> {
    const answer = await this.#ask(["create", hex(path), Buffer.from(data).toString("hex")]);
    if (!answer.ok) throw new Error(`RefClient create ${path}: ${answer.error}`);
    return answer.path ?? "";
  }

  close(): void {
    this.#child.stdin.end();
    if (!this.#exited) this.#child.kill();
  }
}
