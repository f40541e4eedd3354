/**
 * The interactive shell: node:readline with its history (up/down), Tab completion of command names
 * and of paths (read from the server as you type), a prompt showing the server and the session's state,
 * and Ctrl-C that stops a running command (`watch`) or, at the prompt, leaves.
 */
import { createInterface } from "node:readline";
import type { ZooKeeper } from "../client/client.js";
import { tokenize, UsageError } from "./args.js";
import { COMMAND_NAMES, type Context, reportError, runCommand } from "./commands.js";

/**
 * Completions for the word being typed: command names first, then paths. For a path, the children of
 * the part up to the last "/" that start with the rest; each completion is the whole path, so Tab
 * again goes one level deeper.
 */
export async function complete(zk: ZooKeeper | null, line: string): Promise<[string[], string]> {
  const words = line.split(/\s+/);
  const word = words[words.length - 1] ?? "";
  if (words.length <= 1) {
    return [COMMAND_NAMES.concat("help").filter((c) => c.startsWith(word)), word];
  }
  if (zk === null || !word.startsWith("/")) return [[], word];
  const slash = word.lastIndexOf("/");
  const dir = slash === 0 ? "/" : word.slice(0, slash);
  const prefix = word.slice(slash + 1);
  try {
    const { children } = await zk.getChildren(dir, { timeout: 2_000 });
    const base = dir === "/" ? "/" : `${dir}/`;
    return [
      children
        .filter((c) => c.startsWith(prefix))
        .sort()
        .map((c) => base + c),
      word,
    ];
  } catch {
    return [[], word]; // no such node, no permission, no connection: nothing to offer
  }
}

export interface ShellHost extends Context {
  /** The client for completion, or null when there is none. */
  current(): ZooKeeper | null;
  /** `[zkwire: host:port(CONNECTED) 3] ` */
  prompt(n: number): string;
  /** Set when `quit` ran. */
  readonly quitting: boolean;
  record(line: string): void;
}

export async function shell(
  host: ShellHost,
  input: NodeJS.ReadableStream & { isTTY?: boolean },
  output: NodeJS.WritableStream,
): Promise<number> {
  const terminal = input.isTTY === true;
  const rl = createInterface({
    input,
    output,
    terminal,
    historySize: 1000,
    completer: (line: string, callback: (err: null, result: [string[], string]) => void) => {
      void complete(host.current(), line).then((r) => callback(null, r));
    },
  });
  let running: AbortController | null = null;
  const interrupt = () => {
    if (running !== null) running.abort();
    else rl.close();
  };
  rl.on("SIGINT", interrupt);
  // Without a terminal readline sees no Ctrl-C; the process gets the signal instead.
  if (!terminal) process.on("SIGINT", interrupt);
  const prompt = () => {
    // A prompt only for a person at a terminal: piped input gives clean output, as from one-shot runs.
    if (!terminal) return;
    rl.setPrompt(host.prompt(host.history.length));
    rl.prompt();
  };
  let last = 0;
  prompt();
  try {
    for await (const line of rl) {
      const trimmed = line.trim();
      if (trimmed !== "") {
        host.record(trimmed);
        let words: string[] = [];
        try {
          words = tokenize(trimmed);
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          reportError(host, err);
          last = 2;
        }
        if (words.length > 0) {
          running = new AbortController();
          try {
            last = await runCommand(host, words, running.signal);
          } finally {
            running = null;
          }
        }
        if (host.quitting) break;
      }
      prompt();
    }
  } finally {
    if (!terminal) process.off("SIGINT", interrupt);
    rl.close();
  }
  // The shell's status is its last command's, so `zkwire < script` fails when the script's end did.
  return last;
}
