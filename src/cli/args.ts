/**
 * Words and flags of the `zkwire` command, read as zkCli reads them: a line is split into words
 * (quotes group, as in a shell), and a command's flags may stand anywhere among its arguments
 * (`set /a data -v 3` and `set -v 3 /a data` are the same), as commons-cli lets zkCli do.
 */

/** A command line the command cannot run: wrong flags or arguments. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Splits a line into words: whitespace separates, '...' and "..." group (a backslash escapes the next
 * character inside double quotes and outside quotes). `ls "/a b"` is one path with a space.
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`unclosed ${quote} in: ${line}`);
  if (inWord) words.push(word);
  return words;
}

/** A flag either stands alone (`-s`) or takes the next word as its value (`-v 3`). */
export type FlagSpec = Record<string, "bool" | "value">;

export interface Parsed {
  readonly flags: ReadonlyMap<string, string | true>;
  readonly args: readonly string[];
}

/**
 * Separates flags from arguments. A word that starts with "-" and is not a known flag is refused,
 * except a negative number (data like `-1`) and a lone "-"; after "--" every word is an argument.
 */
export function parseFlags(words: readonly string[], spec: FlagSpec, usage: string): Parsed {
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      args.push(...words.slice(i + 1));
      break;
    }
    const kind = spec[w];
    if (kind === "bool") flags.set(w, true);
    else if (kind === "value") {
      const value = words[++i];
      if (value === undefined) throw new UsageError(`${w} needs a value\nusage: ${usage}`);
      flags.set(w, value);
    } else if (w.startsWith("-") && w.length > 1 && !/^-\d/.test(w)) {
      throw new UsageError(`unknown option ${w}\nusage: ${usage}`);
    } else args.push(w);
  }
  return { flags, args };
}

/** An integer argument, or a UsageError naming it. */
export function intArg(text: string, what: string): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${what} must be an integer, got "${text}"`);
  return Number(text);
}
