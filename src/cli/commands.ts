/**
 * The commands of `zkwire`: zkCli's, with zkCli's flags and text layouts, plus `tree`, `watch` and
 * `lock`. Each command writes text as zkCli does, or one JSON value per result with `--json` (one per
 * line for the streaming ones), so the same table serves the one-shot form and the shell.
 */
import { readFileSync } from "node:fs";
import type { AclEntry } from "../client/acl.js";
import type { ZooKeeper, ZooKeeperOptions } from "../client/client.js";
import type { CreateOptions } from "../client/requests.js";
import { ZkArgumentError, ZooKeeperError } from "../errors.js";
import type { CreateModeName } from "../protocol/constants.js";
import type { Stat } from "../protocol/records/stat.js";
import { contenders, sequenceOf } from "../recipes/lock.js";
import type { WatchedEvent } from "../session/watches.js";
import { type FlagSpec, intArg, type Parsed, parseFlags, UsageError } from "./args.js";
import {
  aclLines,
  eventJson,
  eventLine,
  hex,
  javaDate,
  parseAcl,
  permString,
  statJson,
  statLines,
  toJson,
} from "./format.js";

/** Where a command writes: stdout lines, stderr lines. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The state a command runs in: the client (null after `close`), options, history, output form. */
export interface Context {
  readonly io: Io;
  readonly json: boolean;
  /** True in the interactive shell: watches print their events as they come. */
  readonly interactive: boolean;
  readonly history: readonly string[];
  /** The connected client, or a UsageError saying to `connect` first. */
  client(): ZooKeeper;
  connect(server: string): Promise<void>;
  close(): Promise<void>;
  quit(): void;
}

interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly flags: FlagSpec;
  /** Positional arguments: at least `min`, at most `max`. */
  readonly min: number;
  readonly max: number;
  /** Whether the command needs a session (help, history and quit do not). */
  readonly connected?: false;
  run(ctx: Context, p: Parsed, signal: AbortSignal): Promise<void>;
}

/** Prints text lines, or the JSON value in --json mode. */
function emit(ctx: Context, text: string | readonly string[], json: unknown): void {
  if (ctx.json) ctx.io.out(toJson(json));
  else for (const line of typeof text === "string" ? [text] : text) ctx.io.out(line);
}

/** Java's List#toString, as zkCli prints child lists: `[a, b]`. */
function javaList(items: readonly string[]): string {
  return `[${items.join(", ")}]`;
}

/** In the shell a one-shot watch prints its event when it fires, as zkCli's does. */
function watcherFor(ctx: Context, set: boolean): ((e: WatchedEvent) => void) | undefined {
  if (!set) return undefined;
  return (e) => {
    if (ctx.json) ctx.io.out(toJson({ watch: eventJson(e) }));
    else {
      ctx.io.out("");
      ctx.io.out("WATCHER::");
      ctx.io.out("");
      ctx.io.out(eventLine(e));
    }
  };
}

function version(p: Parsed): number | undefined {
  const v = p.flags.get("-v");
  return typeof v === "string" ? intArg(v, "version") : undefined;
}

function dataJson(data: Uint8Array): { data: string; encoding: "utf8" | "base64" } {
  const text = Buffer.from(data).toString("utf8");
  // Bytes that are not UTF-8 would come back changed from a string: give them as base64 instead.
  return Buffer.from(text, "utf8").equals(data)
    ? { data: text, encoding: "utf8" }
    : { data: Buffer.from(data).toString("base64"), encoding: "base64" };
}

/**
 * Every path of the subtree, the root first, level by level, children in name order: the order of
 * zkCli's `ls -R` (ZKUtil.listSubTreeBFS). Each level's listings are sent together.
 */
async function subtree(zk: ZooKeeper, root: string): Promise<string[]> {
  const all: string[] = [];
  let level = [root];
  while (level.length > 0) {
    all.push(...level);
    const listings = await Promise.all(level.map((p) => zk.getChildren(p)));
    level = level.flatMap((p, i) =>
      [...listings[i]!.children].sort().map((c) => (p === "/" ? `/${c}` : `${p}/${c}`)),
    );
  }
  return all;
}

interface TreeNode {
  name: string;
  path: string;
  ephemeral: boolean;
  dataLength: number;
  /** Nodes below this one (all of them, also beyond the depth shown). */
  descendants: number;
  children: TreeNode[];
}

async function treeOf(zk: ZooKeeper, path: string, depth: number): Promise<TreeNode> {
  const { children, stat } = await zk.getChildren(path);
  const name = path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
  const node: TreeNode = {
    name,
    path,
    ephemeral: stat.ephemeralOwner !== 0n,
    dataLength: stat.dataLength,
    descendants: 0,
    children: [],
  };
  if (children.length === 0) return node;
  if (depth <= 0) {
    // Below the depth shown, the server counts (3.6+), which costs one request instead of a walk.
    node.descendants = await zk.getAllChildrenNumber(path).catch(() => children.length);
    return node;
  }
  node.children = await Promise.all(
    [...children].sort().map((c) => treeOf(zk, path === "/" ? `/${c}` : `${path}/${c}`, depth - 1)),
  );
  node.descendants = node.children.reduce((n, c) => n + 1 + c.descendants, 0);
  return node;
}

function treeLines(node: TreeNode, prefix: string, last: boolean, top: boolean): string[] {
  const marks = [
    node.descendants > 0 ? `(${node.descendants})` : "",
    node.ephemeral ? "[ephemeral]" : "",
    node.dataLength > 0 ? `${node.dataLength} B` : "",
  ].filter((m) => m !== "");
  const label = `${top ? node.path : node.name}${marks.length ? `  ${marks.join(" ")}` : ""}`;
  const lines = [top ? label : `${prefix}${last ? "└── " : "├── "}${label}`];
  const inner = top ? "" : `${prefix}${last ? "    " : "│   "}`;
  node.children.forEach((c, i) => {
    lines.push(...treeLines(c, inner, i === node.children.length - 1, false));
  });
  return lines;
}

/** Which client's naming a lock child follows (the recipe orders them all by their trailing digits). */
export function lockNaming(name: string): string {
  if (/^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lock-\d{10}$/.test(name)) {
    return "curator"; // Curator's protected InterProcessMutex, and zkwire's default naming
  }
  if (/^[0-9a-f]{32}__(lock|rlock)__\d{10}$/.test(name)) return "kazoo";
  return `prefix "${name.slice(0, -10)}"`;
}

const createModes: Record<string, CreateModeName> = {
  "": "persistent",
  s: "persistentSequential",
  e: "ephemeral",
  es: "ephemeralSequential",
  c: "container",
  t: "persistentWithTTL",
  st: "persistentSequentialWithTTL",
};

function watchMode(text: string | undefined, fallback: "persistent" | "persistentRecursive") {
  if (text === undefined) return fallback;
  const t = text.toLowerCase().replaceAll("_", "");
  if (t === "persistent") return "persistent";
  if (t === "persistentrecursive") return "persistentRecursive";
  throw new UsageError(`mode must be PERSISTENT or PERSISTENT_RECURSIVE, got "${text}"`);
}

/** zkCli's `config -c`: the configuration version and the client connect string it implies. */
function clientConfig(config: string): string {
  const hosts: string[] = [];
  let version = "";
  for (const line of config.split("\n")) {
    const m = /^server\.\d+=([^:;]+)[^;]*;(.+)$/.exec(line.trim());
    if (m) {
      const client = m[2]!;
      hosts.push(client.includes(":") ? client.replace(/^0\.0\.0\.0:/, `${m[1]}:`) : `${m[1]}:${client}`);
    }
    const v = /^version=(.+)$/.exec(line.trim());
    if (v) version = v[1]!;
  }
  return `${version} ${hosts.join(",")}`;
}

export const COMMANDS: Record<string, Command> = {
  ls: {
    usage: "ls [-s] [-w] [-R] path",
    summary: "the children of a node (-R the whole subtree, -s with the node's stat, -w watch)",
    flags: { "-s": "bool", "-w": "bool", "-R": "bool" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const zk = ctx.client();
      const path = p.args[0]!;
      if (p.flags.has("-R")) {
        const paths = await subtree(zk, path);
        emit(ctx, paths, paths);
        return;
      }
      const { children, stat } = await zk.getChildren(path, { watch: watcherFor(ctx, p.flags.has("-w")) });
      const sorted = [...children].sort();
      if (p.flags.has("-s"))
        emit(ctx, [javaList(sorted), ...statLines(stat)], { children: sorted, stat: statJson(stat) });
      else emit(ctx, javaList(sorted), sorted);
    },
  },
  get: {
    usage: "get [-s] [-w] [-b] [-x] path",
    summary: "a node's data as UTF-8 (-b base64, -x hex; -s with its stat, -w watch)",
    flags: { "-s": "bool", "-w": "bool", "-b": "bool", "-x": "bool" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const { data, stat } = await ctx
        .client()
        .getData(p.args[0]!, { watch: watcherFor(ctx, p.flags.has("-w")) });
      const buf = Buffer.from(data);
      const text = p.flags.has("-b")
        ? buf.toString("base64")
        : p.flags.has("-x")
          ? buf.toString("hex")
          : buf.toString("utf8");
      const lines = p.flags.has("-s") ? [text, ...statLines(stat)] : [text];
      const json = p.flags.has("-b")
        ? { data: text, encoding: "base64" }
        : p.flags.has("-x")
          ? { data: text, encoding: "hex" }
          : dataJson(data);
      emit(ctx, lines, p.flags.has("-s") ? { ...json, stat: statJson(stat) } : json);
    },
  },
  stat: {
    usage: "stat [-w] path",
    summary: "a node's stat",
    flags: { "-w": "bool" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const path = p.args[0]!;
      const stat = (await ctx
        .client()
        .exists(path, { watch: watcherFor(ctx, p.flags.has("-w")) })) as Stat | null;
      if (stat === null) throw new ZooKeeperError(-101, { op: "exists", path });
      emit(ctx, statLines(stat), statJson(stat));
    },
  },
  set: {
    usage: "set [-s] [-v version] path data",
    summary: "writes a node's data (-v only at this version; -s print the new stat)",
    flags: { "-s": "bool", "-v": "value" },
    min: 2,
    max: 2,
    async run(ctx, p) {
      const stat = await ctx.client().setData(p.args[0]!, p.args[1]!, { version: version(p) });
      if (p.flags.has("-s")) emit(ctx, statLines(stat), statJson(stat));
      else if (ctx.json) emit(ctx, [], statJson(stat));
    },
  },
  create: {
    usage: "create [-s] [-e] [-c] [-t ttl] path [data] [acl]",
    summary: "creates a node (-s sequential, -e ephemeral, -c container, -t ttl in ms)",
    flags: { "-s": "bool", "-e": "bool", "-c": "bool", "-t": "value" },
    min: 1,
    max: 3,
    async run(ctx, p) {
      const key = `${p.flags.has("-e") ? "e" : ""}${p.flags.has("-s") ? "s" : ""}${p.flags.has("-c") ? "c" : ""}${p.flags.has("-t") ? "t" : ""}`;
      const mode = createModes[key];
      if (mode === undefined)
        throw new UsageError("-e, -c and -t do not combine (-s combines with -e or -t)");
      const options: CreateOptions = { mode };
      const ttl = p.flags.get("-t");
      if (typeof ttl === "string") options.ttl = intArg(ttl, "ttl");
      if (p.args[2] !== undefined) options.acl = parseAcl(p.args[2]);
      const { path, stat } = await ctx.client().create(p.args[0]!, p.args[1] ?? null, options);
      emit(ctx, `Created ${path}`, { path, stat: statJson(stat) });
    },
  },
  delete: {
    usage: "delete [-v version] path",
    summary: "deletes a node (-v only at this version)",
    flags: { "-v": "value" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      await ctx.client().delete(p.args[0]!, { version: version(p) });
      if (ctx.json) emit(ctx, [], { deleted: p.args[0] });
    },
  },
  deleteall: {
    usage: "deleteall path [-b batch size]",
    summary: "deletes a node and everything below it",
    flags: { "-b": "value" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const n = await ctx.client().deleteRecursive(p.args[0]!);
      if (ctx.json) emit(ctx, [], { deleted: n });
    },
  },
  getAcl: {
    usage: "getAcl [-s] path",
    summary: "a node's ACL (-s with its stat)",
    flags: { "-s": "bool" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const { acl, stat } = await ctx.client().getACL(p.args[0]!);
      const lines = p.flags.has("-s") ? [...aclLines(acl), ...statLines(stat)] : aclLines(acl);
      const json = acl.map((e: AclEntry) => ({
        scheme: e.id.scheme,
        id: e.id.id,
        perms: permString(e.perms),
      }));
      emit(ctx, lines, p.flags.has("-s") ? { acl: json, stat: statJson(stat) } : json);
    },
  },
  setAcl: {
    usage: "setAcl [-s] [-v version] [-R] path acl",
    summary: "sets a node's ACL, e.g. world:anyone:r,digest:bob:<hash>:cdrwa (-R the whole subtree)",
    flags: { "-s": "bool", "-v": "value", "-R": "bool" },
    min: 2,
    max: 2,
    async run(ctx, p) {
      const zk = ctx.client();
      const acl = parseAcl(p.args[1]!);
      const paths = p.flags.has("-R") ? await subtree(zk, p.args[0]!) : [p.args[0]!];
      let stat: Stat | undefined;
      for (const path of paths) {
        const s = await zk.setACL(path, acl, path === p.args[0] ? { version: version(p) } : {});
        if (path === p.args[0]) stat = s;
      }
      if (p.flags.has("-s") && stat) emit(ctx, statLines(stat), statJson(stat));
      else if (ctx.json && stat) emit(ctx, [], statJson(stat));
    },
  },
  addauth: {
    usage: "addauth scheme auth",
    summary: "adds credentials to the session, e.g. addauth digest bob:secret",
    flags: {},
    min: 2,
    max: 2,
    async run(ctx, p) {
      await ctx.client().addAuth(p.args[0]!, p.args[1]!);
    },
  },
  sync: {
    usage: "sync path",
    summary: "lets the connected server catch up with the leader",
    flags: {},
    min: 1,
    max: 1,
    async run(ctx, p) {
      const path = await ctx.client().sync(p.args[0]!);
      emit(ctx, "Sync is OK", { synced: path });
    },
  },
  whoami: {
    usage: "whoami",
    summary: "the identities of this session (server 3.7+)",
    flags: {},
    min: 0,
    max: 0,
    async run(ctx) {
      const ids = await ctx.client().whoAmI();
      emit(
        ctx,
        ["Auth scheme: User", ...ids.map((i) => `${i.authScheme}: ${i.user}`)],
        ids.map((i) => ({ scheme: i.authScheme, user: i.user })),
      );
    },
  },
  getEphemerals: {
    usage: "getEphemerals [path]",
    summary: "this session's ephemeral nodes, under a path prefix (server 3.6+)",
    flags: {},
    min: 0,
    max: 1,
    async run(ctx, p) {
      const list = await ctx.client().getEphemerals(p.args[0] ?? "/");
      emit(ctx, javaList(list), list);
    },
  },
  getAllChildrenNumber: {
    usage: "getAllChildrenNumber path",
    summary: "the number of nodes below a node (server 3.6+)",
    flags: {},
    min: 1,
    max: 1,
    async run(ctx, p) {
      const n = await ctx.client().getAllChildrenNumber(p.args[0]!);
      emit(ctx, String(n), n);
    },
  },
  addWatch: {
    usage: "addWatch [-m mode] path",
    summary:
      "a persistent watch, PERSISTENT or PERSISTENT_RECURSIVE (the default); its events print in the shell (server 3.6+)",
    flags: { "-m": "value" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const mode = watchMode(p.flags.get("-m") as string | undefined, "persistentRecursive");
      const watch = await ctx.client().addWatch(p.args[0]!, { mode });
      const print = watcherFor(ctx, true)!;
      // Printed in the background, as zkCli does; the loop ends when the session or the watch ends.
      void (async () => {
        for await (const e of watch) {
          if (e.type === "None" && e.state === "Closed") break; // our own close or quit: nothing to say
          print(e);
        }
      })().catch(() => {});
    },
  },
  removewatches: {
    usage: "removewatches path [-c|-d|-a] [-l]",
    summary: "removes the watches on a path (-c child, -d data, -a any, the default; -l also locally)",
    flags: { "-c": "bool", "-d": "bool", "-a": "bool", "-l": "bool" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const type = p.flags.has("-c") ? "children" : p.flags.has("-d") ? "data" : "any";
      await ctx.client().removeWatches(p.args[0]!, type, { local: p.flags.has("-l") });
    },
  },
  config: {
    usage: "config [-c] [-w] [-s]",
    summary: "the ensemble's configuration (-c as a connect string, -s with its stat, -w watch)",
    flags: { "-c": "bool", "-w": "bool", "-s": "bool" },
    min: 0,
    max: 0,
    async run(ctx, p) {
      const { config, stat } = await ctx.client().getConfig({ watch: watcherFor(ctx, p.flags.has("-w")) });
      const text = p.flags.has("-c") ? clientConfig(config) : config.trimEnd();
      const lines = p.flags.has("-s") ? [text, ...statLines(stat)] : [text];
      emit(ctx, lines, p.flags.has("-s") ? { config: text, stat: statJson(stat) } : { config: text });
    },
  },
  reconfig: {
    usage:
      "reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
    summary: "changes the ensemble's membership (needs reconfigEnabled=true and the rights to)",
    flags: {
      "-s": "bool",
      "-v": "value",
      "-file": "value",
      "-members": "value",
      "-add": "value",
      "-remove": "value",
    },
    min: 0,
    max: 0,
    async run(ctx, p) {
      const get = (f: string) => p.flags.get(f) as string | undefined;
      const file = get("-file");
      const members = file
        ? readFileSync(file, "utf8")
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l.startsWith("server."))
        : get("-members")?.split(",");
      const v = get("-v");
      const { config, stat } = await ctx.client().reconfig({
        ...(members ? { newMembers: members } : {}),
        ...(get("-add") ? { joining: get("-add")!.split(",") } : {}),
        ...(get("-remove") ? { leaving: get("-remove")!.split(",") } : {}),
        ...(v !== undefined ? { fromConfig: BigInt(/^0x/i.test(v) ? v : `0x${v}`) } : {}),
      });
      const lines = ["Committed new configuration:", config.trimEnd()];
      if (p.flags.has("-s")) lines.push(...statLines(stat));
      emit(ctx, lines, { config: config.trimEnd(), stat: statJson(stat) });
    },
  },
  connect: {
    usage: "connect host:port[,host:port...][/chroot]",
    summary: "closes this session and connects to other servers",
    flags: {},
    min: 1,
    max: 1,
    connected: false,
    async run(ctx, p) {
      await ctx.connect(p.args[0]!);
    },
  },
  close: {
    usage: "close",
    summary: "closes the session (its ephemeral nodes go with it)",
    flags: {},
    min: 0,
    max: 0,
    connected: false,
    async run(ctx) {
      await ctx.close();
    },
  },
  history: {
    usage: "history",
    summary: "the commands of this shell",
    flags: {},
    min: 0,
    max: 0,
    connected: false,
    async run(ctx) {
      emit(
        ctx,
        ctx.history.map((line, i) => `${i} - ${line}`),
        ctx.history,
      );
    },
  },
  quit: {
    usage: "quit",
    summary: "closes the session and leaves",
    flags: {},
    min: 0,
    max: 0,
    connected: false,
    async run(ctx) {
      ctx.quit();
    },
  },
  tree: {
    usage: "tree [-d depth] path",
    summary: "the subtree as a tree; (N) is the number of nodes below, B the data size",
    flags: { "-d": "value" },
    min: 1,
    max: 1,
    async run(ctx, p) {
      const d = p.flags.get("-d");
      const depth = typeof d === "string" ? intArg(d, "depth") : Number.POSITIVE_INFINITY;
      const root = await treeOf(ctx.client(), p.args[0]!, depth);
      emit(ctx, [...treeLines(root, "", true, true), `${root.descendants + 1} nodes`], root);
    },
  },
  watch: {
    usage: "watch [-m mode] [-n count] path",
    summary:
      "streams the events under a path until Ctrl-C (or -n events); mode PERSISTENT_RECURSIVE (default) or PERSISTENT (server 3.6+)",
    flags: { "-m": "value", "-n": "value" },
    min: 1,
    max: 1,
    async run(ctx, p, signal) {
      const mode = watchMode(p.flags.get("-m") as string | undefined, "persistentRecursive");
      const n = p.flags.get("-n");
      const limit = typeof n === "string" ? intArg(n, "count") : Number.POSITIVE_INFINITY;
      const path = p.args[0]!;
      const watch = await ctx.client().addWatch(path, { mode, signal });
      ctx.io.err(`watching ${path} (${mode}); Ctrl-C to stop`);
      let seen = 0;
      for await (const e of watch) {
        if (ctx.json) ctx.io.out(toJson(eventJson(e)));
        else
          ctx.io.out(
            `${e.type} ${e.path === "" ? `(${e.state})` : e.path}${e.zxid >= 0n ? ` zxid=${hex(e.zxid)}` : ""}`,
          );
        if (++seen >= limit) break;
      }
    },
  },
  lock: {
    usage: "lock path",
    summary: "a lock's holder and queue (Curator, kazoo and zkwire namings)",
    flags: {},
    min: 1,
    max: 1,
    async run(ctx, p) {
      const zk = ctx.client();
      const path = p.args[0]!;
      const { children } = await zk.getChildren(path);
      const queue = contenders(children);
      const ignored = children.filter((c) => sequenceOf(c) < 0).sort();
      const stats = await Promise.all(
        queue.map((name) => zk.exists(`${path === "/" ? "" : path}/${name}`) as Promise<Stat | null>),
      );
      const entries = queue
        .map((name, i) => ({ name, stat: stats[i] ?? null }))
        .filter((e) => e.stat !== null) // released between the listing and the stat
        .map(({ name, stat }) => ({
          name,
          sequence: sequenceOf(name),
          naming: lockNaming(name),
          session: hex(stat!.ephemeralOwner),
          since: Number(stat!.ctime),
        }));
      const [holder, ...waiting] = entries;
      const lines = [
        holder === undefined
          ? `lock ${path}: free`
          : `lock ${path}: held by ${holder.name}, ${waiting.length} waiting`,
        ...entries.map(
          (e, i) =>
            `  ${i === 0 ? "holder " : `waiting`} ${String(e.sequence).padStart(10, "0")}  ${e.naming}  session ${e.session}  since ${javaDate(e.since)}  ${e.name}`,
        ),
      ];
      if (ignored.length) lines.push(`  not contenders (no sequence number): ${ignored.join(", ")}`);
      emit(ctx, lines, { path, holder: holder ?? null, waiting, ignored });
    },
  },
};

export const COMMAND_NAMES = Object.keys(COMMANDS).sort();

export function helpLines(): string[] {
  return [
    "commands (zkCli's, with their flags, and tree, watch, lock):",
    ...COMMAND_NAMES.map((name) => `\t${COMMANDS[name]!.usage}`),
    "\thelp",
  ];
}

/**
 * Runs one command line (already split into words). Returns the exit code: 0, 1 when the operation
 * failed, 2 when the command line is wrong.
 */
export async function runCommand(
  ctx: Context,
  words: readonly string[],
  signal: AbortSignal,
): Promise<number> {
  const [name, ...rest] = words;
  if (name === undefined) return 0;
  if (name === "help" || name === "-h" || name === "--help") {
    for (const line of helpLines()) ctx.io.out(line);
    return 0;
  }
  const command = name === "exit" ? COMMANDS.quit : COMMANDS[name];
  try {
    if (command === undefined) throw new UsageError(`Command not found: ${name} (help lists them)`);
    const parsed = parseFlags(rest, command.flags, command.usage);
    if (parsed.args.length < command.min || parsed.args.length > command.max) {
      throw new UsageError(`usage: ${command.usage}`);
    }
    await command.run(ctx, parsed, signal);
    return 0;
  } catch (err) {
    reportError(ctx, err);
    return err instanceof UsageError || err instanceof ZkArgumentError ? 2 : 1;
  }
}

/** zkCli's words for the common failures; every other error as its own message. */
export function errorText(err: unknown): string {
  if (err instanceof ZooKeeperError && err.path !== undefined && !/: .*chroot/.test(err.message)) {
    switch (err.codeName) {
      case "NoNode":
        return `Node does not exist: ${err.path}`;
      case "NodeExists":
        return `Node already exists: ${err.path}`;
      case "NotEmpty":
        return `Node not empty: ${err.path}`;
      case "BadVersion":
        return `version No is not valid : ${err.path}`;
      case "NoAuth":
        return `Insufficient permission : ${err.path}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

export function reportError(ctx: Context, err: unknown): void {
  if (ctx.json) {
    const e = err as Partial<ZooKeeperError> & { name?: string };
    ctx.io.err(
      toJson({
        error: {
          name: e.name ?? "Error",
          ...(err instanceof ZooKeeperError
            ? { code: err.code, codeName: err.codeName, path: err.path ?? null }
            : {}),
          message: errorText(err),
        },
      }),
    );
  } else ctx.io.err(errorText(err));
}

/** The client options of the command line, shared by the first connection and `connect`. */
export type ClientOptions = ZooKeeperOptions;
