/**
 * Tests of the harness itself, against real ZooKeeper processes.
 *
 * Environment knobs:
 *   ZK_CONNECT=host:port   the tests that must start, stop and kill servers are skipped
 *   ZK_ALL_VERSIONS=0      skip starting each supported version (default: one standalone per version)
 *   ZK_ALL_VERSIONS=1      also run a 3-member ensemble with a leader fail-over per version
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TestProject } from "vitest/node";
import {
  defaultSources,
  FourLetterWordError,
  fourLetterWord,
  jvmSources,
  NotOwnedServerError,
  parseSrvr,
  resolveFromMaven,
  ServerStartError,
  SUPPORTED_VERSION_LINES,
  startZooKeeper,
  ZooKeeperNotFoundError,
} from "../src/testing/index.js";
import setup from "./support/global-setup.js";

const external = Boolean(process.env.ZK_CONNECT);
/** The harness's own tests need processes they control, never ZK_CONNECT. */
const SOURCES = "local,maven";

/** Alive and not a zombie (a JVM orphaned to a non-reaping pid 1 stays a zombie after death). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return !existsSync("/proc/self/stat"); // no procfs: trust kill(pid, 0)
  }
}

async function waitDead(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

describe("fourLetterWord and srvr parsing", () => {
  it("parses a srvr answer and ignores a not-serving one", () => {
    const answer = parseSrvr(
      "Zookeeper version: 3.9.5-293c895a, built on 2026-02-11 20:18 UTC\nLatency min/avg/max: 0/0.0/0\n" +
        "Received: 7\nSent: 6\nConnections: 1\nOutstanding: 0\nZxid: 0x100000002\nMode: follower\nNode count: 5\n",
    );
    expect(answer).toEqual({
      version: "3.9.5",
      mode: "follower",
      zxid: 0x100000002n,
      nodeCount: 5,
      received: 7,
    });
    expect(parseSrvr("This ZooKeeper instance is not currently serving requests\n")).toBeUndefined();
  });

  it("fails with a typed error on a closed port", async () => {
    const error = await fourLetterWord("127.0.0.1", 1, "ruok", 1_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FourLetterWordError);
    expect((error as FourLetterWordError).code).toBe("ZK_FOUR_LETTER_WORD");
  });
});

describe("finding ZooKeeper", () => {
  it("says why each source was not used", async () => {
    vi.stubEnv("ZK_CONNECT", "");
    // A ZOOKEEPER_HOME without a server in it, so that the answer does not depend on what is installed.
    vi.stubEnv("ZOOKEEPER_HOME", tmpdir());
    try {
      const error = await startZooKeeper({ sources: "external,local", version: "3.9" }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ZooKeeperNotFoundError);
      const attempts = (error as ZooKeeperNotFoundError).attempts;
      expect(attempts.map((a) => a.source)).toEqual(["external", "local"]);
      expect(attempts[0]?.reason).toMatch(/ZK_CONNECT is not set/);
      expect(attempts[1]?.reason).toMatch(/has no zookeeper-<version>\.jar/);
      expect((error as Error).message).toMatch(/install Java/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("rejects an unknown source name and a malformed version", async () => {
    await expect(startZooKeeper({ sources: "maven,floppy" })).rejects.toMatchObject({
      code: "ZK_BAD_OPTION",
    });
    await expect(startZooKeeper({ sources: SOURCES, version: "3.9-latest" })).rejects.toMatchObject({
      code: "ZK_BAD_OPTION",
    });
  });
});

describe.skipIf(external)("a standalone server", () => {
  let zk: Awaited<ReturnType<typeof startZooKeeper>>;
  beforeAll(async () => {
    zk = await startZooKeeper({ sources: SOURCES });
  });
  afterAll(() => zk?.close());

  it("answers four-letter words and reports Mode: standalone", async () => {
    const server = zk.servers[0]!;
    expect(await fourLetterWord(server.host, server.clientPort, "ruok")).toBe("imok");
    expect(await server.mode()).toBe("standalone");
    expect(await zk.leader()).toBe(server);
    expect(await server.fourLetterWord("mntr")).toMatch(/zk_server_state\tstandalone/);
  });

  it("says where it runs", async () => {
    const server = zk.servers[0]!;
    expect(["local", "maven"]).toContain(zk.source);
    expect(zk.version).toMatch(/^3\.\d+\.\d+$/);
    expect(server.id).toBe(1);
    expect(server.host).toBe("127.0.0.1");
    expect(server.connectString).toBe(`127.0.0.1:${server.clientPort}`);
    expect(zk.connectString).toBe(server.connectString);
    expect(server.running).toBe(true);
    expect(server.pid).toBeGreaterThan(0);
    expect(server.dataDir?.startsWith(zk.dir!)).toBe(true);
    expect(await readdir(server.dataDir!)).toContain("version-2");
    expect(await readFile(server.configFile!, "utf8")).toMatch(/^clientPortAddress=127\.0\.0\.1$/m);
    expect(await readFile(server.logFile!, "utf8")).toMatch(/zkwire harness: starting server 1/);
  });

  it("stop closes the port; start brings it back on the same port and data dir", async () => {
    const server = zk.servers[0]!;
    const { clientPort } = server;
    const pid = server.pid!;
    await zk.stop(1);
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    expect(alive(pid)).toBe(false);
    await expect(server.fourLetterWord("ruok")).rejects.toBeInstanceOf(FourLetterWordError);
    await zk.start(1);
    expect(server.clientPort).toBe(clientPort);
    expect(server.pid).not.toBe(pid);
    expect(await server.mode()).toBe("standalone");
  });
});

describe.skipIf(external)("an ensemble of three", () => {
  it("elects one leader, elects another after kill -9, and the old one rejoins as follower", async () => {
    await using zk = await startZooKeeper({ servers: 3, sources: SOURCES });
    expect(zk.servers.map((server) => server.id)).toEqual([1, 2, 3]);
    expect(zk.connectString.split(",")).toHaveLength(3);
    const modes = await Promise.all(zk.servers.map((server) => zk.mode(server)));
    expect(modes.filter((mode) => mode === "leader")).toHaveLength(1);
    expect(modes.filter((mode) => mode === "follower")).toHaveLength(2);
    for (const server of zk.servers) {
      expect(await readFile(join(server.dataDir!, "myid"), "utf8")).toBe(`${server.id}\n`);
    }

    const leader = await zk.leader();
    await zk.kill(leader.id);
    expect(leader.running).toBe(false);
    const next = await zk.leader();
    expect(next.id).not.toBe(leader.id);
    expect(next.running).toBe(true);

    await zk.restart(leader.id);
    expect(await zk.mode(leader.id)).toBe("follower");
    expect((await zk.leader()).id).toBe(next.id);
  });

  it("close() kills every JVM it started and removes the temp dir", async () => {
    const zk = await startZooKeeper({ servers: 3, sources: SOURCES });
    const pids = zk.servers.map((server) => server.pid!);
    await zk.stop(2);
    await expect(zk.server(2).fourLetterWord("ruok")).rejects.toBeInstanceOf(FourLetterWordError);
    expect(await zk.mode(1)).toMatch(/^(leader|follower)$/); // two of three still form a quorum
    await zk.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(zk.dir!)).toBe(false);
    await zk.close(); // idempotent
  });

  it("passes config and JVM properties through (reconfigEnabled, skipACL, per-member values)", async () => {
    await using zk = await startZooKeeper({
      servers: 3,
      sources: SOURCES,
      extraPorts: ["secureClient"],
      config: (member) => ({ reconfigEnabled: true, maxSessionTimeout: 30_000 + member.id }),
      jvmProperties: { "zookeeper.skipACL": "yes" },
    });
    const server = zk.server(2);
    // With reconfig on, the server moves the member list into a dynamic config file it writes itself.
    expect(await readFile(server.configFile!, "utf8")).toMatch(/^dynamicConfigFile=/m);
    const conf = await server.fourLetterWord("conf");
    expect(conf).toMatch(/^maxSessionTimeout=30002$/m);
    expect(conf).toMatch(/^server\.1=127\.0\.0\.1:\d+:\d+:participant/m);
    if (existsSync(`/proc/${server.pid}/cmdline`)) {
      expect(readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0")).toContain(
        "-Dzookeeper.skipACL=yes",
      );
    }
    const secure = zk.servers.map((member) => member.ports.secureClient);
    expect(new Set([...secure, ...zk.servers.map((member) => member.clientPort)]).size).toBe(6);
    // A restart reuses the zoo.cfg the server rewrote.
    await zk.restart(2);
    expect(await zk.mode(2)).toMatch(/^(leader|follower)$/);
  });
});

describe.skipIf(external)("failures and clean-up", () => {
  it("a server that cannot start fails with its log's tail, leaving nothing behind", async () => {
    const parent = await mkdtemp(join(tmpdir(), "zkwire-harness-test-"));
    try {
      // Two garbage collectors: the JVM refuses to start.
      const error = await startZooKeeper({
        sources: SOURCES,
        jvmArgs: ["-XX:+UseG1GC"],
        tmpDir: parent,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as ServerStartError).code).toBe("ZK_START_FAILED");
      expect((error as ServerStartError).logTail).toMatch(/Multiple garbage collectors/);
      expect(await readdir(parent)).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it("kills the JVM even when the test process is SIGKILLed", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/fixtures/start-and-hang.ts"], {
      env: { ...process.env, ZK_TEST_SOURCES: SOURCES },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`fixture exited with ${code} before starting a server`)));
    });
    const { pids, dir } = JSON.parse(line) as { pids: number[]; dir: string };
    expect(pids.every((pid) => alive(pid))).toBe(true);
    child.kill("SIGKILL");
    try {
      for (const pid of pids) expect(await waitDead(pid)).toBe(true);
    } finally {
      // No exit handler ran in the killed process, so its temp dir is left for us.
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(external)("a local installation (ZOOKEEPER_HOME)", () => {
  it("runs the jars of an unpacked release, and only when its version is the one asked for", async () => {
    const resolved = await resolveFromMaven("3.9");
    const home = await mkdtemp(join(tmpdir(), "zkwire-home-"));
    try {
      // The layout of apache-zookeeper-X-bin: jars in lib/.
      await mkdir(join(home, "lib"));
      for (const jar of resolved.classpath) await symlink(jar, join(home, "lib", basename(jar)));
      vi.stubEnv("ZOOKEEPER_HOME", home);
      vi.stubEnv("ZK_VERSION", "");
      vi.stubEnv("ZK_SOURCES", "");
      // Setting ZOOKEEPER_HOME asks for it: the default sources then try it first.
      await using zk = await startZooKeeper();
      expect(zk.source).toBe("local");
      expect(zk.version).toBe(resolved.version);
      const error = await startZooKeeper({ sources: "local", version: "3.8" }).catch((e: unknown) => e);
      expect((error as ZooKeeperNotFoundError).attempts[0]?.reason).toMatch(/3\.8 was asked for/);
    } finally {
      vi.unstubAllEnvs();
      await rm(home, { recursive: true, force: true });
    }
  });

  it("is passed over for a server that must do TLS when it has no Netty codec, saying so", async () => {
    const resolved = await resolveFromMaven("3.9");
    const home = await mkdtemp(join(tmpdir(), "zkwire-home-"));
    try {
      // Like Debian's package: the server jar without Netty.
      for (const jar of resolved.classpath.filter((jar) => !basename(jar).startsWith("netty-")))
        await symlink(jar, join(home, basename(jar)));
      vi.stubEnv("ZOOKEEPER_HOME", home);
      vi.stubEnv("ZK_VERSION", "");
      const error = await startZooKeeper({ sources: "local", needs: ["tls"] }).catch((e: unknown) => e);
      expect((error as ZooKeeperNotFoundError).attempts[0]?.reason).toMatch(/no Netty codec/);
    } finally {
      vi.unstubAllEnvs();
      await rm(home, { recursive: true, force: true });
    }
  });

  it("says what is missing in a ZOOKEEPER_HOME without a server jar", async () => {
    vi.stubEnv("ZOOKEEPER_HOME", tmpdir());
    vi.stubEnv("ZK_VERSION", "");
    try {
      const error = await startZooKeeper({ sources: "local" }).catch((e: unknown) => e);
      expect((error as ZooKeeperNotFoundError).attempts[0]?.reason).toMatch(
        /has no zookeeper-<version>\.jar/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("which sources a run tries", () => {
  it("never an installed server unless asked for: ZOOKEEPER_HOME or ZK_SOURCES=local", () => {
    expect(defaultSources({})).toEqual(["external", "maven", "testcontainers"]);
    expect(defaultSources({ ZOOKEEPER_HOME: "/opt/zookeeper" })).toEqual([
      "external",
      "local",
      "maven",
      "testcontainers",
    ]);
    expect(jvmSources({})).toEqual(["maven"]);
    expect(jvmSources({ ZK_SOURCES: "local,maven,testcontainers" })).toEqual(["local", "maven"]);
  });
});

describe.skipIf(external)("an existing server (ZK_CONNECT)", () => {
  it("is used as is: nothing is started and it cannot be stopped, killed or restarted", async () => {
    await using real = await startZooKeeper({ sources: SOURCES });
    for (const viaEnv of [false, true]) {
      // ZK_CONNECT alone, whatever sources this run was given.
      if (viaEnv) {
        vi.stubEnv("ZK_CONNECT", real.connectString);
        vi.stubEnv("ZK_SOURCES", "");
      }
      try {
        const zk = await startZooKeeper(viaEnv ? {} : { connect: real.connectString });
        expect(zk.source).toBe("external");
        expect(zk.connectString).toBe(real.connectString);
        expect(zk.version).toBe(real.version);
        expect(zk.dir).toBeUndefined();
        expect(zk.servers[0]!.pid).toBeUndefined();
        expect(await zk.servers[0]!.mode()).toBe("standalone");
        for (const operation of [() => zk.stop(1), () => zk.kill(1), () => zk.restart(1)]) {
          await expect(operation()).rejects.toBeInstanceOf(NotOwnedServerError);
          await expect(operation()).rejects.toMatchObject({ code: "ZK_NOT_OWNED" });
        }
        await zk.close();
        expect(await real.servers[0]!.mode()).toBe("standalone"); // close() left it alone
      } finally {
        vi.unstubAllEnvs();
      }
    }
  });

  it("is skipped when it has fewer servers than the test needs", async () => {
    const error = await startZooKeeper({ servers: 3, connect: "127.0.0.1:1", sources: "external" }).catch(
      (e: unknown) => e,
    );
    expect((error as ZooKeeperNotFoundError).attempts[0]?.reason).toMatch(
      /has 1 server\(s\), the test needs 3/,
    );
  });
});

describe.skipIf(external)("vitest global setup", () => {
  it("provides the shared server's address and closes it in teardown", async () => {
    const provided = new Map<string, unknown>();
    const project = {
      provide: (key: string, value: unknown) => provided.set(key, value),
    } as unknown as TestProject;
    const teardown = await setup(project);
    const connect = provided.get("zkConnect") as string;
    const [host, port] = connect.split(":");
    expect(await fourLetterWord(host!, Number(port), "ruok")).toBe("imok");
    expect(provided.get("zkVersion")).toMatch(/^3\.\d+\.\d+$/);
    await teardown();
    await expect(fourLetterWord(host!, Number(port), "ruok")).rejects.toBeInstanceOf(FourLetterWordError);
  });
});

/** The exact releases CI pre-fetches (.ci/install-zookeeper), and the newest 3.9. */
const VERSIONS = ["3.5.10", "3.6.4", "3.7.2", "3.8.4", "3.9"];

describe.skipIf(external || process.env.ZK_ALL_VERSIONS === "0")("each supported version", () => {
  it("covers every supported line", () => {
    expect(VERSIONS.map((v) => v.split(".").slice(0, 2).join("."))).toEqual([...SUPPORTED_VERSION_LINES]);
  });

  it.each(VERSIONS)("%s starts standalone", async (version) => {
    await using zk = await startZooKeeper({ version, sources: "maven" });
    expect(zk.version.startsWith(version)).toBe(true);
    expect(await zk.servers[0]!.mode()).toBe("standalone");
  });

  it.runIf(process.env.ZK_ALL_VERSIONS === "1").each(VERSIONS)(
    "%s runs an ensemble that fails over",
    async (version) => {
      await using zk = await startZooKeeper({ version, servers: 3, sources: "maven" });
      const leader = await zk.leader();
      await zk.kill(leader.id);
      expect((await zk.leader()).id).not.toBe(leader.id);
      await zk.start(leader.id);
      expect(await zk.mode(leader.id)).toBe("follower");
    },
  );
});
