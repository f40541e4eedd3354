/**
 * DIGEST-MD5 against the server ZooKeeper actually runs: the JDK's own SaslServer, created as
 * ZooKeeperSaslServer creates it ("zookeeper", "zk-sasl-md5"), driven over a line protocol by
 * JdkDigestServer.java. Skipped when no `java` is on the PATH. A run against a real ZooKeeper with a JAAS
 * configuration belongs to the session's integration tests; this pins the mechanism to the JDK's reading
 * of RFC 2831 (charset rule, quoting, authzid, digest-uri) without a server process per case.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestMd5 } from "../../src/session/sasl/digest-md5.js";
import { SaslError, type SaslMechanism } from "../../src/session/sasl/mechanism.js";

const hasJava = spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0;
const numRuns = Math.min(100, Number(process.env.FC_RUNS ?? 100));

const b64 = (bytes: Uint8Array) => (bytes.length === 0 ? "-" : Buffer.from(bytes).toString("base64"));
const unb64 = (s: string) => (s === "-" ? new Uint8Array(0) : Buffer.from(s, "base64"));

/** One JVM for the whole file; each exchange gets a fresh JDK SaslServer (`new`). */
class JdkServer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: ((line: string) => void)[] = [];

  constructor() {
    this.#child = spawn("java", [join(import.meta.dirname, "JdkDigestServer.java")]);
    createInterface({ input: this.#child.stdout }).on("line", (line) => this.#waiting.shift()?.(line));
  }

  #ask(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#child.stdin.write(`${line}\n`);
    });
  }

  async reset(user: string, password: string): Promise<void> {
    expect(await this.#ask(`new ${b64(Buffer.from(user))} ${b64(Buffer.from(password))}`)).toBe("ok");
  }

  /** The server's answer to a client token, or its SaslException's message. */
  async step(
    token: Uint8Array,
  ): Promise<{ token: Uint8Array; complete: boolean; id: string } | { error: string }> {
    const [status, ...rest] = (await this.#ask(`step ${b64(token)}`)).split(" ");
    if (status !== "ok") return { error: rest.join(" ") };
    return { token: unb64(rest[0]!), complete: rest[1] === "1", id: Buffer.from(unb64(rest[2]!)).toString() };
  }

  close(): void {
    this.#child.stdin.end();
    this.#child.kill();
  }
}

/**
 * Runs the exchange as the session does (see mechanism.ts): the start token, then each server token to
 * evaluate, until evaluate returns null. Returns how it ended on each side.
 */
async function exchange(server: JdkServer, m: SaslMechanism) {
  let token: Uint8Array | null = await m.start();
  let serverId: string | undefined;
  for (let round = 0; token !== null; round++) {
    expect(round).toBeLessThan(4);
    const reply = await server.step(token);
    if ("error" in reply) return { serverError: reply.error, clientComplete: m.complete };
    if (reply.complete) serverId = reply.id;
    token = await m.evaluate(reply.token);
  }
  return { serverId, clientComplete: m.complete };
}

describe.skipIf(!hasJava)("against the JDK's DIGEST-MD5 server (as ZooKeeper configures it)", () => {
  let server: JdkServer;
  beforeAll(async () => {
    server = new JdkServer();
    // The first command waits for the JVM to compile and start the program (about two seconds).
    await server.reset("warm", "up");
  });
  afterAll(() => server?.close());

  it("authenticates with ZooKeeper's defaults; the server's rspauth verifies", async () => {
    await server.reset("bob", "s3cret");
    expect(await exchange(server, digestMd5("bob", "s3cret")())).toEqual({
      serverId: "bob",
      clientComplete: true,
    });
  });

  it("is refused with a wrong password or an unknown user", async () => {
    await server.reset("bob", "s3cret");
    const wrong = await exchange(server, digestMd5("bob", "wrong")());
    expect(wrong.clientComplete).toBe(false);
    expect(wrong.serverError).toContain("Mismatched response");
    await server.reset("bob", "s3cret");
    const unknown = await exchange(server, digestMd5("eve", "s3cret")());
    expect(unknown).toMatchObject({ clientComplete: false, serverError: expect.any(String) });
  });

  it("hashes like the JDK: ISO-8859-1 per string when it fits, UTF-8 otherwise", async () => {
    for (const [user, password] of [
      ["jürgen", "pässwörd€"],
      ["юзер", "pässwörd"],
      ["😀", "🔑"],
    ] as const) {
      await server.reset(user, password);
      expect(await exchange(server, digestMd5(user, password)())).toEqual({
        serverId: user,
        clientComplete: true,
      });
    }
  });

  it("quotes the way the JDK unquotes", async () => {
    await server.reset('we"ird\\name, x=y', "p");
    expect(await exchange(server, digestMd5('we"ird\\name, x=y', "p")())).toEqual({
      serverId: 'we"ird\\name, x=y',
      clientComplete: true,
    });
  });

  it("sends an authzid the server accepts (ZooKeeper's handler still uses the username)", async () => {
    await server.reset("bob", "pw");
    expect(await exchange(server, digestMd5("bob", "pw", { authzid: "alice" })())).toEqual({
      serverId: "bob",
      clientComplete: true,
    });
  });

  it("is refused with another digest-uri (ZooKeeper's is fixed)", async () => {
    await server.reset("bob", "pw");
    const r = await exchange(server, digestMd5("bob", "pw", { serverName: "zk1.example.com" })());
    expect(r.serverError).toContain("Mismatched URI");
  });

  it("rejects a forged rspauth from a server that does not know the password", async () => {
    await server.reset("bob", "not-the-password");
    const m = digestMd5("bob", "pw")();
    const challenge = await server.step(await m.start());
    if ("error" in challenge) throw new Error(challenge.error);
    m.evaluate(challenge.token);
    // A server that does not know the password cannot compute rspauth; any value it makes up fails.
    expect(() => m.evaluate(Buffer.from("rspauth=0123456789abcdef0123456789abcdef"))).toThrow(SaslError);
    expect(m.complete).toBe(false);
  });

  it("any well-formed username and password authenticate", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
        async (user, password) => {
          await server.reset(user, password);
          expect(await exchange(server, digestMd5(user, password)())).toEqual({
            serverId: user,
            clientComplete: true,
          });
        },
      ),
      { numRuns },
    );
  });
});
