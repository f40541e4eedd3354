/**
 * One ZooKeeper server of a cluster: a JVM this harness started (ProcessServer) or a server it was
 * pointed at (ExternalServer, from ZK_CONNECT). Both answer four-letter words; only the first can be
 * stopped, killed and restarted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { JavaCommand, MemberLayout } from "./config.js";
import { HarnessError, NotOwnedServerError, ServerStartError } from "./errors.js";
import { type FourLetterWord, fourLetterWord, type ServerMode, serverMode } from "./four-letter-word.js";
import { trackChild } from "./reaper.js";

/**
 * How long start/restart wait:
 * - "serving": `srvr` reports a mode (leader, follower, observer, standalone, read-only). `ruok` is not
 *   enough: it answers "imok" as soon as the port is open, before the server serves requests;
 * - "answering": `ruok` answers (e.g. a member that cannot reach a quorum and will not serve);
 * - "none": return once the process is spawned.
 */
export type WaitFor = "serving" | "answering" | "none";

export interface StartOptions {
  readonly wait?: WaitFor;
  /** Default 60 s: three JVMs electing a leader on a loaded 2-CPU CI machine. */
  readonly timeoutMs?: number;
}

export interface StopOptions {
  /** How long SIGTERM may take before SIGKILL; default 10 s. */
  readonly timeoutMs?: number;
}

export interface ZooKeeperServer {
  /** The server id (myid), 1-based. */
  readonly id: number;
  readonly host: string;
  readonly clientPort: number;
  /** "127.0.0.1:port" */
  readonly connectString: string;
  /** client, quorum, election and extra ports by name (external servers: client only). */
  readonly ports: Readonly<Record<string, number>>;
  /** The member's own dir (zoo.cfg, server.log, data/); undefined when not started by the harness. */
  readonly dir: string | undefined;
  readonly dataDir: string | undefined;
  readonly configFile: string | undefined;
  /** The server's stdout and stderr, appended across restarts. */
  readonly logFile: string | undefined;
  /** The JVM's pid while it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Whether stop/kill/start/restart can work (false for ZK_CONNECT servers). */
  readonly controllable: boolean;
  fourLetterWord(command: FourLetterWord | (string & {}), timeoutMs?: number): Promise<string>;
  /** The role `srvr` reports now, or undefined if the server does not answer or does not serve. */
  mode(timeoutMs?: number): Promise<ServerMode | undefined>;
  /** Starts it again after stop/kill (same ports, same data dir, same zoo.cfg); no-op while running. */
  start(options?: StartOptions): Promise<void>;
  /** SIGTERM and wait for the exit (SIGKILL after StopOptions.timeoutMs). */
  stop(options?: StopOptions): Promise<void>;
  /** SIGKILL and wait for the exit: a crash, nothing is flushed or closed cleanly. */
  kill(): Promise<void>;
  /** stop() if running, then start(). */
  restart(options?: StartOptions): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

export class ProcessServer implements ZooKeeperServer {
  readonly id: number;
  readonly host: string;
  readonly clientPort: number;
  readonly connectString: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly controllable = true;
  readonly #command: JavaCommand;
  readonly #env: NodeJS.ProcessEnv;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #exitReason = "";

  constructor(
    layout: MemberLayout,
    configFile: string,
    logFile: string,
    command: JavaCommand,
    env: NodeJS.ProcessEnv,
  ) {
    this.id = layout.id;
    this.host = layout.host;
    this.clientPort = layout.ports.client;
    this.connectString = `${layout.host}:${layout.ports.client}`;
    this.ports = layout.ports;
    this.dir = layout.dir;
    this.dataDir = layout.dataDir;
    this.configFile = configFile;
    this.logFile = logFile;
    this.#command = command;
    this.#env = env;
  }

  get running(): boolean {
    const child = this.#child;
    return child?.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  fourLetterWord(command: FourLetterWord | (string & {}), timeoutMs?: number): Promise<string> {
    return fourLetterWord(this.host, this.clientPort, command, timeoutMs);
  }

  mode(timeoutMs?: number): Promise<ServerMode | undefined> {
    return serverMode(this.host, this.clientPort, timeoutMs);
  }

  async start(options: StartOptions = {}): Promise<void> {
    if (this.running) return;
    this.spawn();
    try {
      await this.waitFor(
        options.wait ?? "serving",
        Date.now() + (options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS),
      );
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  async stop(options: StopOptions = {}): Promise<void> {
    const child = this.#child;
    if (!this.running || child === undefined) return;
    child.kill("SIGTERM");
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    if (this.running) this.#child?.kill("SIGKILL");
    await this.#exited;
  }

  async restart(options?: StartOptions): Promise<void> {
    await this.stop();
    await this.start(options);
  }

  /** Starts the JVM without waiting; the cluster spawns all members first so they can elect. */
  spawn(): void {
    if (this.running) return;
    const fd = openSync(this.logFile, "a");
    let child: ChildProcess;
    try {
      writeSync(
        fd,
        `\n---- zkwire harness: starting server ${this.id} at ${new Date().toISOString()} ----\n`,
      );
      child = spawn(this.#command.java, this.#command.args, {
        cwd: this.dir,
        env: this.#env,
        stdio: ["ignore", fd, fd],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
    this.#child = child;
    this.#exitReason = "";
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exitReason = signal === null ? `exited with code ${code}` : `killed by ${signal}`;
        resolve();
      });
      // Spawning itself failed (e.g. no java on the PATH): there will be no 'exit'.
      child.once("error", (error) => {
        this.#exitReason = `could not run ${this.#command.java}: ${error.message}`;
        resolve();
      });
    });
    trackChild(child);
  }

  /** Polls until the server reaches `wait`; fails fast if the process exits, with the log's tail. */
  async waitFor(wait: WaitFor, deadline: number): Promise<void> {
    if (wait === "none") return;
    for (;;) {
      if (!this.running) {
        await this.#exited; // for the exit reason; resolves at once (exit) or next tick (spawn error)
        throw await this.#startError(this.#exitReason || "the process is not running");
      }
      if (wait === "serving" ? (await this.mode(1_000)) !== undefined : await this.#answersRuok()) return;
      if (Date.now() > deadline) {
        const state = wait === "serving" ? "does not serve (srvr reports no mode)" : "does not answer ruok";
        throw await this.#startError(`still ${state} after the start timeout`);
      }
      await sleep(POLL_MS);
    }
  }

  async #answersRuok(): Promise<boolean> {
    try {
      return (await this.fourLetterWord("ruok", 1_000)) === "imok";
    } catch {
      return false;
    }
  }

  async #startError(why: string): Promise<ServerStartError> {
    return new ServerStartError(this.id, why, this.logFile, await tail(this.logFile, 40));
  }
}

/** The last `lines` lines of a file, read from its end (logs of a long test can be large). */
export async function tail(file: string, lines: number): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, "r");
    const { size } = await handle.stat();
    const length = Math.min(size, 16_384);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString("utf8").split("\n").slice(-lines).join("\n");
  } catch (error) {
    return `(log unreadable: ${(error as Error).message})`;
  } finally {
    await handle?.close();
  }
}

/** A server from ZK_CONNECT (or the `connect` option): observed, never controlled. */
export class ExternalServer implements ZooKeeperServer {
  readonly id: number;
  readonly host: string;
  readonly clientPort: number;
  readonly connectString: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly dir = undefined;
  readonly dataDir = undefined;
  readonly configFile = undefined;
  readonly logFile = undefined;
  readonly pid = undefined;
  readonly running = true;
  readonly controllable = false;

  constructor(id: number, host: string, port: number) {
    this.id = id;
    this.host = host;
    this.clientPort = port;
    this.connectString = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    this.ports = { client: port };
  }

  fourLetterWord(command: FourLetterWord | (string & {}), timeoutMs?: number): Promise<string> {
    return fourLetterWord(this.host, this.clientPort, command, timeoutMs);
  }

  mode(timeoutMs?: number): Promise<ServerMode | undefined> {
    return serverMode(this.host, this.clientPort, timeoutMs);
  }

  #refuse(operation: string): Promise<never> {
    return Promise.reject(
      new NotOwnedServerError(operation, this.connectString, "it was not started by the harness"),
    );
  }

  start(): Promise<void> {
    return this.#refuse("start");
  }

  stop(): Promise<void> {
    return this.#refuse("stop");
  }

  kill(): Promise<void> {
    return this.#refuse("kill");
  }

  restart(): Promise<void> {
    return this.#refuse("restart");
  }
}

/** Parses "host:port,host:port[/chroot]" as ZooKeeper clients do (IPv6 as [addr]:port). */
export function parseConnectString(connect: string): Array<{ host: string; port: number }> {
  const hosts = connect.split("/")[0] ?? "";
  return hosts
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(entry);
      if (match === null)
        throw new HarnessError("ZK_BAD_OPTION", `'${entry}' in '${connect}' is not host:port`);
      return { host: match[1] ?? match[2] ?? "", port: Number(match[3] ?? 2181) };
    });
}
