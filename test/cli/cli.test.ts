/**
 * The built `zkwire` command (dist/cli/main.js), run as a child process against the shared real
 * server: one-shot commands and their exit codes, --json, tree, watch, lock, the shell fed on stdin,
 * and ls / get -s / stat / ls -R / getAcl side by side with the reference zkCli on the same nodes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Host, parseGlobal } from "../../src/cli/run.js";
import { complete, shell } from "../../src/cli/shell.js";
import { digestAcl, Lock, Perms, type Stat, ZooKeeper } from "../../src/index.js";
import { lacks, requires } from "../support/features.js";
import {
  assertBuilt,
  BIN,
  REPO,
  type Run,
  uniqueRoot,
  withoutChatter,
  zkCli,
  zkCliClasspath,
  zkwire,
} from "./support.js";

const SERVER: string = inject("zkConnect");
const VERSION: string = inject("zkVersion");

let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  assertBuilt();
  zk = await ZooKeeper.connect(SERVER, { sessionTimeout: 10_000, connectTimeout: 10_000 });
  root = (await zk.create(uniqueRoot("cli"))).path;
});

afterAll(async () => {
  await zk?.deleteRecursive(root).catch(() => {});
  await zk?.close();
});

function ok(r: Run): string {
  expect(r.stderr, r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

describe("one command and out", { timeout: 120_000 }, () => {
  it("create, ls, get, set -v, delete: zkCli's words, exit 0", async () => {
    const dir = `${root}/basic`;
    expect(ok(await zkwire(SERVER, ["create", dir, "hello"]))).toBe(`Created ${dir}\n`);
    await zkwire(SERVER, ["create", `${dir}/b`, "2"]);
    await zkwire(SERVER, ["create", `${dir}/a`, "1"]);
    expect(ok(await zkwire(SERVER, ["ls", dir]))).toBe("[a, b]\n");
    expect(ok(await zkwire(SERVER, ["get", dir]))).toBe("hello\n");
    // Flags may follow the arguments, as in zkCli.
    ok(await zkwire(SERVER, ["set", dir, "world", "-v", "0"]));
    const { data, stat } = await zk.getData(dir);
    expect(Buffer.from(data).toString()).toBe("world");
    expect(stat.version).toBe(1);
    const seq = ok(await zkwire(SERVER, ["create", "-s", `${dir}/s-`, "x"]));
    expect(seq).toMatch(new RegExp(`^Created ${dir}/s-\\d{10}\\n$`));
    ok(await zkwire(SERVER, ["delete", `${dir}/a`]));
    expect(await zk.exists(`${dir}/a`)).toBeNull();
    ok(await zkwire(SERVER, ["deleteall", dir]));
    expect(await zk.exists(dir)).toBeNull();
  });

  it("a failed operation exits 1 with zkCli's message on stderr; a bad command line exits 2", async () => {
    const missing = `${root}/missing`;
    const r = await zkwire(SERVER, ["get", missing]);
    expect(r).toMatchObject({ code: 1, stdout: "", stderr: `Node does not exist: ${missing}\n` });
    await zk.create(`${root}/versioned`, "v");
    const bad = await zkwire(SERVER, ["set", "-v", "7", `${root}/versioned`, "x"]);
    expect(bad).toMatchObject({ code: 1, stderr: `version No is not valid : ${root}/versioned\n` });
    expect((await zkwire(SERVER, ["create", `${root}/versioned`])).stderr).toBe(
      `Node already exists: ${root}/versioned\n`,
    );
    const flag = await zkwire(SERVER, ["ls", "-q", "/"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option -q\nusage: ls \[-s\] \[-w\] \[-R\] path/);
    expect((await zkwire(SERVER, ["frobnicate"])).code).toBe(2);
    expect((await zkwire(SERVER, ["get", "relative"])).code).toBe(2); // ZkArgumentError: refused unsent
    const scheme = await zkwire(`zk://${SERVER}`, ["ls", "/"]);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/the scheme "zk:\/\/" is not supported/);
  });

  it("no server: exit 1 after --connect-timeout, with ConnectError's message naming the host", async () => {
    // A port nobody listens on: bind one, then close it.
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    server.close();
    const r = await zkwire(`127.0.0.1:${port}`, ["--connect-timeout", "1000", "ls", "/"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`could not connect to ZooKeeper within 1000 ms; tried 127\\.0\\.0\\.1:${port} \\(`),
    );
  });

  it("--json: one JSON value, 64-bit ids as hex strings, times in ms and ISO 8601", async () => {
    const { path, stat } = await zk.create(`${root}/json`, "ünïcode");
    const r = await zkwire(SERVER, ["--json", "get", "-s", path]);
    const value = JSON.parse(ok(r)) as { data: string; encoding: string; stat: Record<string, unknown> };
    expect(value).toMatchObject({ data: "ünïcode", encoding: "utf8" });
    expect(value.stat).toMatchObject({
      czxid: `0x${stat.czxid.toString(16)}`,
      ctime: Number(stat.ctime),
      ctimeIso: new Date(Number(stat.ctime)).toISOString(),
      version: 0,
      dataLength: Buffer.byteLength("ünïcode"),
    });
    const err = await zkwire(SERVER, ["--json", "stat", `${root}/nope`]);
    expect(err.code).toBe(1);
    expect(JSON.parse(err.stderr)).toEqual({
      error: {
        name: "ZooKeeperError",
        code: -101,
        codeName: "NoNode",
        path: `${root}/nope`,
        message: `Node does not exist: ${root}/nope`,
      },
    });
  });

  it("--auth sends credentials before the command: a digest-protected node reads with them only", async () => {
    const { path } = await zk.create(`${root}/secret`, "s3cret", {
      acl: [digestAcl("bob", "pw", Perms.ALL)],
    });
    expect(await zkwire(SERVER, ["get", path])).toMatchObject({
      code: 1,
      stderr: `Insufficient permission : ${path}\n`,
    });
    expect(ok(await zkwire(SERVER, ["--auth", "digest:bob:pw", "get", path]))).toBe("s3cret\n");
  });

  it("tree: the subtree with the number of nodes below each node", async () => {
    const t = `${root}/tree`;
    for (const p of [t, `${t}/a`, `${t}/a/x`, `${t}/a/y`, `${t}/b`])
      await zk.create(p, p.endsWith("b") ? "bb" : null);
    const out = ok(await zkwire(SERVER, ["tree", t]));
    expect(out).toBe(
      [`${t}  (4)`, "├── a  (2)", "│   ├── x", "│   └── y", "└── b  2 B", "5 nodes", ""].join("\n"),
    );
    const json = JSON.parse(ok(await zkwire(SERVER, ["--json", "tree", "-d", "0", t]))) as {
      descendants: number;
    };
    // Below the depth shown the server counts (getAllChildrenNumber, 3.6+); before, the children only.
    expect(json.descendants).toBe(lacks("getEphemerals") === undefined ? 4 : 2);
  });
});

describe("watch and lock", { timeout: 120_000 }, () => {
  it("watch streams the events below a path until Ctrl-C, then exits 0", async (ctx) => {
    requires(ctx, "persistentWatches");
    const w = `${root}/watched`;
    await zk.create(w);
    const child = spawn(process.execPath, [BIN, "-server", SERVER, "watch", w], { cwd: REPO });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const waitFor = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 20_000;
      while (!what()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${label}; stdout: ${stdout} stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(() => stderr.includes(`watching ${w}`), "the watch to be registered");
      await zk.create(`${w}/c`, "1");
      await zk.setData(`${w}/c`, "2");
      await zk.delete(`${w}/c`);
      await waitFor(() => stdout.split("\n").length > 3, "three events");
      expect(
        stdout
          .split("\n")
          .slice(0, 3)
          .map((l) => l.replace(/ zxid=0x[0-9a-f]+$/, "")),
      ).toEqual([`NodeCreated ${w}/c`, `NodeDataChanged ${w}/c`, `NodeDeleted ${w}/c`]);
      child.kill("SIGINT");
      const [code] = (await once(child, "close")) as [number | null];
      expect(code).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("lock shows the holder and the queue in order, with each child's naming; other children apart", async () => {
    const lockPath = `${root}/lock`;
    const owner = await ZooKeeper.connect(SERVER, { sessionTimeout: 10_000 });
    try {
      const held = await new Lock(owner, lockPath, { naming: "curator" }).acquire({ timeout: 10_000 });
      const kazoo = new Lock(owner, lockPath, { naming: "kazoo" }).acquire({ timeout: 30_000 });
      const custom = new Lock(owner, lockPath, { naming: { prefix: "job-" } }).acquire({ timeout: 30_000 });
      // Should the test fail before they are awaited, closing the session rejects them: not unhandled.
      kazoo.catch(() => {});
      custom.catch(() => {});
      await zk.create(`${lockPath}/readme`, "not a contender");
      const deadline = Date.now() + 10_000;
      while ((await zk.getChildren(lockPath)).children.length < 4 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const out = ok(await zkwire(SERVER, ["lock", lockPath])).split("\n");
      const session = `0x${owner.sessionId.toString(16)}`;
      // Sequence numbers come from the parent's cversion, so only their order is certain.
      const seq = (line: string | undefined) =>
        Number(/^ {2}(?:holder |waiting) (\d{10}) /.exec(line ?? "")?.[1]);
      expect(out[0]).toMatch(
        new RegExp(`^lock ${lockPath}: held by _c_[0-9a-f-]{36}-lock-\\d{10}, 2 waiting$`),
      );
      expect(out[1]).toMatch(new RegExp(`^  holder  \\d{10}  curator  session ${session}  since .+  _c_`));
      expect(out[2]).toMatch(
        new RegExp(`^  waiting \\d{10}  kazoo  session ${session}  since .+  [0-9a-f]{32}__lock__\\d{10}$`),
      );
      expect(out[3]).toMatch(/^ {2}waiting \d{10} {2}prefix "job-" {2}session .+ {2}job-\d{10}$/);
      expect(seq(out[1])).toBeLessThan(seq(out[2]));
      expect(seq(out[2])).toBeLessThan(seq(out[3]));
      expect(out[4]).toBe("  not contenders (no sequence number): readme");
      const json = JSON.parse(ok(await zkwire(SERVER, ["--json", "lock", lockPath]))) as {
        holder: { naming: string; sequence: number };
        waiting: unknown[];
      };
      expect(json.holder).toMatchObject({ naming: "curator", sequence: seq(out[1]) });
      expect(json.waiting).toHaveLength(2);
      await held.release();
      await (await kazoo).release();
      await (await custom).release();
      expect(ok(await zkwire(SERVER, ["lock", lockPath]))).toBe(
        `lock ${lockPath}: free\n  not contenders (no sequence number): readme\n`,
      );
    } finally {
      await owner.close();
    }
  });
});

describe("the shell", { timeout: 120_000 }, () => {
  it("reads commands from stdin: each runs in turn, history lists them, an error does not end it", async () => {
    const p = `${root}/shell`;
    const input = [
      `create ${p} one`,
      `get ${p}`,
      `get ${p}/missing`,
      `set ${p} "two words"`,
      `get ${p}`,
      "history",
      "quit",
      `ls ${p}`,
    ].join("\n");
    const r = await zkwire(SERVER, [], { input: `${input}\n` });
    expect(r.stdout).toBe(
      [
        `Created ${p}`,
        "one",
        "two words",
        `0 - create ${p} one`,
        `1 - get ${p}`,
        `2 - get ${p}/missing`,
        `3 - set ${p} "two words"`,
        `4 - get ${p}`,
        "5 - history",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe(`Node does not exist: ${p}/missing\n`);
    expect(r.code).toBe(0); // quit ran before "ls": the shell ended there
  });

  it("close and connect: commands between them say to connect first", async () => {
    const r = await zkwire(SERVER, [], { input: `close\nls ${root}\nconnect ${SERVER}${root}\nls /\n` });
    expect(r.stderr).toBe("not connected: connect host:port first\n");
    expect(r.stdout).toMatch(/^\[.*\]\n$/); // ls / under the chroot: the test root's children
  });

  it("prints watch events as they fire: one-shot (-w) and persistent (addWatch), in zkCli's words", async (ctx) => {
    requires(ctx, "persistentWatches");
    const p = `${root}/shell-watch`;
    await zk.create(p);
    // A watch event arrives before the reply of any request made after the change, so each event is
    // printed before the next command's output.
    const input = [
      `addWatch -m PERSISTENT ${p}`,
      `create ${p}/c x`,
      `get -w ${p}/c`,
      `set ${p}/c y`,
      "quit",
    ].join("\n");
    const r = await zkwire(SERVER, [], { input: `${input}\n` });
    expect(r.stderr).toBe("");
    const events = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("WatchedEvent"))
      .map((l) => l.replace(/ zxid: -?\d+$/, ""));
    expect(events).toEqual([
      `WatchedEvent state:SyncConnected type:NodeChildrenChanged path:${p}`,
      `WatchedEvent state:SyncConnected type:NodeDataChanged path:${p}/c`,
    ]);
    expect(r.stdout).toContain(
      `\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:${p}/c`,
    );
  });

  it("on a terminal: a prompt with the server and state, Tab completes a path, Enter runs it", async () => {
    await zk.create(`${root}/tty-only-child`, "typed with Tab");
    // A stream that says it is a terminal: readline then runs its line editor (prompt, Tab, history).
    const input = new PassThrough() as PassThrough & { isTTY: boolean };
    input.isTTY = true;
    const output = new PassThrough();
    let screen = "";
    output.on("data", (d: Buffer) => (screen += d));
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`stderr: ${l}`) };
    const host = new Host(SERVER, { sessionTimeout: 10_000 }, false, true, io);
    await host.connect(SERVER);
    const done = shell(host, input, output);
    try {
      input.write(`get ${root}/tty-on\t`);
      const deadline = Date.now() + 10_000;
      while (!screen.includes(`${root}/tty-only-child`) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      input.write("\r");
      while (lines.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(lines).toEqual(["typed with Tab"]);
      expect(screen).toContain(`[zkwire: ${SERVER}(CONNECTED) 0] `);
      expect(host.history).toEqual([`get ${root}/tty-only-child`]);
      input.write("quit\r");
      expect(await done).toBe(0);
    } finally {
      input.end();
      await host.close();
    }
  });

  it("completes command names and paths from the server", async () => {
    await zk.create(`${root}/complete-alpha`);
    await zk.create(`${root}/complete-beta`);
    expect(await complete(zk, "ge")).toEqual([
      ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"],
      "ge",
    ]);
    expect(await complete(zk, `ls ${root}/complete-`)).toEqual([
      [`${root}/complete-alpha`, `${root}/complete-beta`],
      `${root}/complete-`,
    ]);
    expect(await complete(zk, `ls ${root}/nowhere/x`)).toEqual([[], `${root}/nowhere/x`]);
  });
});

describe("options", () => {
  it("TLS from PEM files, SASL DIGEST-MD5 from --sasl or ZKWIRE_SASL, repeated --auth", () => {
    const g = parseGlobal(
      [
        "-server",
        "h:2281/app",
        "--tls-ca",
        `${REPO}/package.json`,
        "--auth",
        "digest:a:b",
        "--auth",
        "ip:1.2.3.4",
        "--json",
        "ls",
        "/",
      ],
      { ZKWIRE_SASL: "bob:secret" },
    );
    expect(g.server).toBe("h:2281/app");
    expect(g.command).toEqual(["ls", "/"]);
    expect(g.json).toBe(true);
    expect(g.options.auth).toEqual([
      { scheme: "digest", auth: "a:b" },
      { scheme: "ip", auth: "1.2.3.4" },
    ]);
    expect(g.options.tls).toMatchObject({ ca: expect.any(Buffer) });
    expect(g.options.sasl?.().name).toBe("DIGEST-MD5");
    expect(parseGlobal(["--tls", "ls"], {}).options.tls).toBe(true);
    expect(() => parseGlobal(["--sasl", "nocolon"], {})).toThrow(/user:password/);
  });
});

describe("side by side with zkCli", () => {
  it("zkCli's connection chatter is cut out whole, even from inside a line it split", () => {
    // As a CI run once caught it: the event thread printed between two pieces of a listing.
    const chatter = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null zxid: -1\n";
    const raw = `Connecting to 127.0.0.1:2181\n[B, ${chatter}aa, b10]\n${chatter}`;
    expect(withoutChatter(raw)).toBe("[B, aa, b10]\n");
    // A watch event the command asked for is output, not chatter.
    const asked = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/a zxid: 5\n";
    expect(withoutChatter(`[a]\n${asked}`)).toBe(
      "[a]\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/a zxid: 5\n",
    );
  });

  // Seven JVM starts: minutes on a loaded machine.
  it("ls, ls -s, ls -R, get -s, stat and getAcl print what zkCli prints for the same nodes", {
    timeout: 300_000,
  }, async (ctx) => {
    const found = await zkCliClasspath(VERSION);
    if ("reason" in found) {
      ctx.skip(true, found.reason);
      return;
    }
    console.info(`zkCli ${found.version} beside zkwire, against the shared server ${VERSION}`);
    const base = `${root}/compare`;
    await zk.create(base, "hello zkCli");
    for (const c of ["zz", "B", "aa", "b10", "b9"]) await zk.create(`${base}/${c}`, c);
    await zk.create(`${base}/aa/q2`);
    await zk.create(`${base}/aa/q0`);
    await zk.setData(base, "hello again");
    await zk.setACL(`${base}/zz`, [
      digestAcl("ann", "pw", Perms.READ),
      { perms: Perms.ALL, id: { scheme: "world", id: "anyone" } },
    ]);
    const eph = await ZooKeeper.connect(SERVER);
    try {
      await eph.create(`${base}/eph`, "e", { mode: "ephemeral" });
      const commands = [
        ["ls", base],
        ["ls", "-s", base],
        ["ls", "-R", base],
        ["get", "-s", base],
        ["stat", base],
        ["stat", `${base}/eph`],
        ["getAcl", `${base}/zz`],
      ];
      // Both with TZ=UTC (run() sets it), so ctime and mtime are written in the same zone; zkCli writes
      // them with java.util.Date#toString, zkwire with the same layout.
      for (const args of commands) {
        const [theirs, ours] = await Promise.all([
          zkCli(found.classpath, SERVER, args),
          zkwire(SERVER, args),
        ]);
        expect(theirs.code, `zkCli ${args.join(" ")}: ${theirs.stderr}`).toBe(0);
        const lines = (s: string) => s.split("\n").filter((l) => l !== "");
        expect(lines(ours.stdout), args.join(" ")).toEqual(lines(theirs.stdout));
        // And field by field, so a difference says which field.
        const fields = (s: string) =>
          Object.fromEntries(
            lines(s)
              .filter((l) => l.includes(" = "))
              .map((l) => l.split(" = ")),
          );
        expect(fields(ours.stdout)).toEqual(fields(theirs.stdout));
      }
      const stat = (await zk.exists(`${base}/eph`)) as Stat;
      expect((await zkwire(SERVER, ["stat", `${base}/eph`])).stdout).toContain(
        `ephemeralOwner = 0x${stat.ephemeralOwner.toString(16)}\n`,
      );
    } finally {
      await eph.close();
    }
  });
});
