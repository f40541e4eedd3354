/**
 * Last resort: the official `zookeeper` Docker image through testcontainers, for machines with a Docker
 * engine but no Java. testcontainers is not a dependency of zkwire; it is imported only if installed
 * (`npm i -D testcontainers`) and only when an engine answers. Standalone servers only: an ensemble
 * needs a container network and per-member quorum addresses, and is left to a JVM source.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { ConfigMap } from "./config.js";
import { NotOwnedServerError } from "./errors.js";
import { type FourLetterWord, fourLetterWord, type ServerMode, serverMode } from "./four-letter-word.js";
import type { ZooKeeperServer } from "./server.js";

// The slice of testcontainers' API used here, typed locally because the package may be absent.
interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(options?: { timeout?: number }): Promise<unknown>;
}
interface ContainerBuilder {
  withEnvironment(env: Record<string, string>): ContainerBuilder;
  withExposedPorts(...ports: number[]): ContainerBuilder;
  withStartupTimeout(ms: number): ContainerBuilder;
  start(): Promise<StartedContainer>;
}
interface TestcontainersModule {
  GenericContainer: new (image: string) => ContainerBuilder;
}

/** Why Docker cannot be used, or undefined when an engine answers `docker info`. */
export async function dockerUnavailable(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (!env.DOCKER_HOST && !existsSync("/var/run/docker.sock")) {
    return "no Docker engine (DOCKER_HOST unset, no /var/run/docker.sock)";
  }
  const answered = await new Promise<string | undefined>((resolve) => {
    const child = spawn("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "ignore" });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve("`docker info` did not answer within 5 s");
    }, 5_000);
    child.on("error", () => {
      clearTimeout(timer);
      // No docker CLI: the socket exists; let testcontainers talk to it directly.
      resolve(undefined);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `\`docker info\` failed (exit ${code}): the engine does not answer`);
    });
  });
  return answered;
}

export async function loadTestcontainers(): Promise<TestcontainersModule | { readonly reason: string }> {
  // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
  const specifier = "testcontainers";
  try {
    const module = (await import(specifier)) as Partial<TestcontainersModule>;
    if (typeof module.GenericContainer !== "function")
      return { reason: "testcontainers has no GenericContainer" };
    return module as TestcontainersModule;
  } catch (error) {
    return {
      reason: `testcontainers is not installed (npm i -D testcontainers): ${(error as Error).message}`,
    };
  }
}

export interface ContainerOptions {
  /** Image tag: a line ("3.9") or an exact release ("3.9.5"), both published as tags. */
  readonly tag: string;
  readonly tickTime: number;
  readonly config: ConfigMap;
  readonly jvmProperties: ConfigMap;
  readonly jvmArgs: readonly string[];
  readonly startTimeoutMs: number;
}

export async function startContainer(
  module: TestcontainersModule,
  options: ContainerOptions,
): Promise<ContainerServer> {
  const present = (map: ConfigMap) =>
    Object.entries(map).filter((entry): entry is [string, string | number | boolean] => entry[1] != null);
  const env: Record<string, string> = {
    ZOO_TICK_TIME: String(options.tickTime),
    ZOO_4LW_COMMANDS_WHITELIST: "*",
    ZOO_ADMINSERVER_ENABLED: "false",
    ZOO_MAX_CLIENT_CNXNS: "0",
    // The image appends these space-separated key=value pairs to its generated zoo.cfg.
    ZOO_CFG_EXTRA: present(options.config)
      .map(([key, value]) => `${key}=${value}`)
      .join(" "),
    JVMFLAGS: [
      ...options.jvmArgs,
      ...present(options.jvmProperties).map(([key, value]) => `-D${key}=${value}`),
    ].join(" "),
  };
  const container = await new module.GenericContainer(`zookeeper:${options.tag}`)
    .withEnvironment(env)
    .withExposedPorts(2181)
    .withStartupTimeout(options.startTimeoutMs)
    .start();
  return new ContainerServer(container);
}

export class ContainerServer implements ZooKeeperServer {
  readonly id = 1;
  readonly host: string;
  readonly clientPort: number;
  readonly connectString: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly dir = undefined;
  readonly dataDir = undefined;
  readonly configFile = undefined;
  readonly logFile = undefined;
  readonly pid = undefined;
  readonly controllable = false;
  #container: StartedContainer;
  #running = true;

  constructor(container: StartedContainer) {
    this.#container = container;
    this.host = container.getHost();
    this.clientPort = container.getMappedPort(2181);
    this.connectString = `${this.host}:${this.clientPort}`;
    this.ports = { client: this.clientPort };
  }

  get running(): boolean {
    return this.#running;
  }

  fourLetterWord(command: FourLetterWord | (string & {}), timeoutMs?: number): Promise<string> {
    return fourLetterWord(this.host, this.clientPort, command, timeoutMs);
  }

  mode(timeoutMs?: number): Promise<ServerMode | undefined> {
    return serverMode(this.host, this.clientPort, timeoutMs);
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#container.stop();
  }

  async kill(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#container.stop({ timeout: 0 });
  }

  start(): Promise<void> {
    return Promise.reject(
      new NotOwnedServerError(
        "start",
        this.connectString,
        "a testcontainers server cannot come back on the same port",
      ),
    );
  }

  restart(): Promise<void> {
    return this.start();
  }
}
