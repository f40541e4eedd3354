/**
 * `zkwire`: zkCli's commands on zkwire. One command and out, for scripts:
 *
 *   zkwire -server 127.0.0.1:2181 ls /        exit 0, 1 when the operation failed, 2 for a bad command line
 *
 * or, without a command, an interactive shell (or commands read from a pipe, one per line).
 * Zero dependencies beyond Node: argument parsing, readline and output are done here.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { ZooKeeper, type ZooKeeperOptions } from "../client/client.js";
import { ZkArgumentError } from "../errors.js";
import type { Logger } from "../session/logger.js";
import { digestMd5 } from "../session/sasl/index.js";
import { intArg, parseFlags, UsageError } from "./args.js";
import { type Io, reportError, runCommand } from "./commands.js";
import { type ShellHost, shell } from "./shell.js";

const USAGE = `usage: zkwire [options] [command [args...]]

Without a command, an interactive shell (Tab completes commands and paths; "help" lists the commands).

options:
  -server host:port[,host:port...][/chroot]   the servers (default localhost:2181)
  -timeout ms               session timeout (default 30000)
  --connect-timeout ms      how long to try to reach a server (default 10000)
  -r                        accept a read-only server
  --json                    JSON output, one value per line (errors on stderr as {"error": ...})
  --tls                     TLS to the servers' secure client port (system CAs)
  --tls-ca file             TLS, trusting this CA (PEM); --tls-cert file --tls-key file for mutual TLS
  --auth scheme:auth        credentials sent at connect, e.g. --auth digest:bob:secret (repeatable)
  --sasl user:password      SASL DIGEST-MD5 (or set ZKWIRE_SASL=user:password, kept out of ps)
  -v, --verbose             the client's log on stderr (every connection attempt)
  -h, --help                this text; "zkwire help" lists the commands`;

const GLOBAL_FLAGS = {
  "-server": "value",
  "--server": "value",
  "-timeout": "value",
  "--connect-timeout": "value",
  "-r": "bool",
  "--json": "bool",
  "--tls": "bool",
  "--tls-ca": "value",
  "--tls-cert": "value",
  "--tls-key": "value",
  "--auth": "value",
  "--sasl": "value",
  "-v": "bool",
  "--verbose": "bool",
  "-h": "bool",
  "--help": "bool",
  "--version": "bool",
} as const;

interface Global {
  server: string;
  json: boolean;
  options: ZooKeeperOptions;
  help: boolean;
  version: boolean;
  command: string[];
}

/** The options before the command; `--auth` may repeat. */
export function parseGlobal(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Global {
  let i = 0;
  const auth: { scheme: string; auth: string }[] = [];
  const before: string[] = [];
  while (i < argv.length) {
    const w = argv[i]!;
    const kind = (GLOBAL_FLAGS as Record<string, string>)[w];
    if (kind === undefined) break;
    if (w === "--auth") {
      const v = argv[i + 1];
      const colon = v?.indexOf(":") ?? -1;
      if (v === undefined || colon <= 0)
        throw new UsageError("--auth takes scheme:auth, e.g. digest:bob:secret");
      auth.push({ scheme: v.slice(0, colon), auth: v.slice(colon + 1) });
      i += 2;
      continue;
    }
    before.push(w);
    if (kind === "value") before.push(argv[++i] ?? "");
    i++;
  }
  const { flags } = parseFlags(before, GLOBAL_FLAGS, USAGE);
  const str = (f: string) => flags.get(f) as string | undefined;
  const options: ZooKeeperOptions = {
    sessionTimeout: str("-timeout") === undefined ? 30_000 : intArg(str("-timeout")!, "-timeout"),
    connectTimeout:
      str("--connect-timeout") === undefined
        ? 10_000
        : intArg(str("--connect-timeout")!, "--connect-timeout"),
    readOnly: flags.has("-r"),
  };
  if (auth.length) options.auth = auth;
  const ca = str("--tls-ca");
  const cert = str("--tls-cert");
  const key = str("--tls-key");
  if (flags.has("--tls") || ca || cert || key) {
    const tls: ConnectionOptions = {};
    if (ca) tls.ca = readFileSync(ca);
    if (cert) tls.cert = readFileSync(cert);
    if (key) tls.key = readFileSync(key);
    options.tls = Object.keys(tls).length ? tls : true;
  }
  const sasl = str("--sasl") ?? env.ZKWIRE_SASL;
  if (sasl !== undefined) {
    const colon = sasl.indexOf(":");
    if (colon <= 0) throw new UsageError("--sasl takes user:password");
    options.sasl = digestMd5(sasl.slice(0, colon), sasl.slice(colon + 1));
  }
  if (flags.has("-v") || flags.has("--verbose")) options.logger = stderrLogger;
  return {
    server: str("-server") ?? str("--server") ?? "localhost:2181",
    json: flags.has("--json"),
    options,
    help: flags.has("-h") || flags.has("--help"),
    version: flags.has("--version"),
    command: argv.slice(i),
  };
}

const stderrLogger: Logger = {
  debug: (m, f) => console.error(`debug: ${m}`, f ?? ""),
  info: (m, f) => console.error(`info: ${m}`, f ?? ""),
  warn: (m, f) => console.error(`warn: ${m}`, f ?? ""),
  error: (m, f) => console.error(`error: ${m}`, f ?? ""),
};

/** Holds the session the commands use: `connect` replaces it, `close` ends it. */
export class Host implements ShellHost {
  #zk: ZooKeeper | null = null;
  #server: string;
  readonly history: string[] = [];
  quitting = false;

  constructor(
    server: string,
    readonly options: ZooKeeperOptions,
    readonly json: boolean,
    readonly interactive: boolean,
    readonly io: Io,
  ) {
    this.#server = server;
  }

  client(): ZooKeeper {
    if (this.#zk === null) throw new UsageError("not connected: connect host:port first");
    return this.#zk;
  }

  current(): ZooKeeper | null {
    return this.#zk;
  }

  async connect(server: string): Promise<void> {
    await this.close();
    this.#server = server;
    this.#zk = await ZooKeeper.connect(server, this.options);
  }

  async close(): Promise<void> {
    const zk = this.#zk;
    this.#zk = null;
    await zk?.close();
  }

  quit(): void {
    this.quitting = true;
  }

  record(line: string): void {
    this.history.push(line);
  }

  prompt(n: number): string {
    const state = this.#zk === null ? "CLOSED" : this.#zk.state.kind.toUpperCase();
    return `[zkwire: ${this.#server}(${state}) ${n}] `;
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  let global: Global;
  try {
    global = parseGlobal(argv);
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (global.help) {
    io.out(USAGE);
    return 0;
  }
  if (global.version) {
    io.out(packageVersion());
    return 0;
  }
  const interactive = global.command.length === 0;
  const host = new Host(global.server, global.options, global.json, interactive, io);
  const needsSession = !["help", "history", "quit", "exit", "connect", "close"].includes(
    global.command[0] ?? "",
  );
  try {
    if (!interactive && needsSession) {
      try {
        await host.connect(global.server);
      } catch (err) {
        reportError(host, err);
        return err instanceof ZkArgumentError ? 2 : 1; // a malformed -server is a bad command line
      }
    }
    if (!interactive) {
      // One command: Ctrl-C stops it (watch streams until then) and the session closes cleanly.
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once("SIGINT", onSigint);
      try {
        return await runCommand(host, global.command, stop.signal);
      } finally {
        process.off("SIGINT", onSigint);
      }
    }
    try {
      await host.connect(global.server);
    } catch (err) {
      // The shell still starts: `connect` can try other servers.
      reportError(host, err);
    }
    return await shell(host, process.stdin, process.stdout);
  } finally {
    await host.close();
  }
}
