/**
 * ZooKeeper's four-letter words: write four ASCII bytes on a fresh client connection, the server writes
 * a text answer and closes the connection. The harness uses them to learn whether a server serves and in
 * which role, without needing the client under test to work.
 *
 * Every server the harness starts whitelists all words (`4lw.commands.whitelist=*`); servers 3.5+ answer
 * non-whitelisted words with "... is not executed because it is not in the whitelist."
 */
import { connect } from "node:net";
import { FourLetterWordError } from "./errors.js";

/** The words tests use; any four letters are accepted. */
export type FourLetterWord =
  | "ruok"
  | "srvr"
  | "stat"
  | "conf"
  | "cons"
  | "crst"
  | "dump"
  | "envi"
  | "mntr"
  | "wchs"
  | "wchc"
  | "wchp"
  | "dirs"
  | "isro"
  | "srst";

export async function fourLetterWord(
  host: string,
  port: number,
  command: FourLetterWord | (string & {}),
  timeoutMs = 2_000,
): Promise<string> {
  if (!/^[a-z]{4}$/.test(command)) {
    throw new FourLetterWordError(host, port, command, "a command is four lowercase ASCII letters");
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FourLetterWordError(host, port, command, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.end(command));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error: Error) => {
      clearTimeout(timer);
      reject(new FourLetterWordError(host, port, command, error.message, { cause: error }));
    });
    // The server closes after answering; the whole answer is what arrived until then.
    socket.on("close", (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/** Roles a serving server reports in `srvr`/`stat`. */
export type ServerMode = "leader" | "follower" | "observer" | "standalone" | "read-only";

export interface SrvrAnswer {
  /** e.g. "3.9.5" (the build suffix after '-' is dropped). */
  readonly version: string;
  readonly mode: ServerMode;
  readonly zxid: bigint;
  readonly nodeCount: number;
  /** Packets received from clients since the server started (or since `srst`). */
  readonly received: number;
}

const MODES: ReadonlySet<string> = new Set(["leader", "follower", "observer", "standalone", "read-only"]);

/**
 * Parses a `srvr` answer. Returns undefined while the server is up but not serving (it then answers
 * "This ZooKeeper instance is not currently serving requests"), e.g. during leader election.
 */
export function parseSrvr(text: string): SrvrAnswer | undefined {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}: (.*)$`, "m").exec(text)?.[1]?.trim();
  const mode = field("Mode");
  if (mode === undefined || !MODES.has(mode)) return undefined;
  const version = /^(\d+\.\d+\.\d+)/.exec(field("Zookeeper version") ?? "")?.[1] ?? "unknown";
  const zxid = field("Zxid");
  return {
    version,
    mode: mode as ServerMode,
    zxid: zxid === undefined ? 0n : BigInt(zxid),
    nodeCount: Number(field("Node count") ?? 0),
    received: Number(field("Received") ?? 0),
  };
}

/** The server's role, or undefined when it does not answer or does not serve (yet). */
export async function serverMode(
  host: string,
  port: number,
  timeoutMs = 1_000,
): Promise<ServerMode | undefined> {
  return (await srvr(host, port, timeoutMs))?.mode;
}

/** `srvr` parsed, or undefined when the server does not answer or does not serve. */
export async function srvr(host: string, port: number, timeoutMs = 1_000): Promise<SrvrAnswer | undefined> {
  try {
    return parseSrvr(await fourLetterWord(host, port, "srvr", timeoutMs));
  } catch {
    return undefined;
  }
}
