/**
 * The `zkwire` command's TLS and SASL options against a real server of its own: mutual TLS on the secure
 * client port (certificates made by test/resilience/support/certs.ts) and SASL DIGEST-MD5 through a
 * JAAS DigestLoginModule, as test/resilience/tls.test.ts and sasl.test.ts configure them.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jvmSources, type MemberLayout, type ZooKeeperCluster } from "../../src/testing/index.js";
import { makeCertificates, type TestCertificates } from "../resilience/support/certs.js";
import { NeededServers, requires } from "../support/features.js";
import { assertBuilt, BIN, run } from "./support.js";

const JAAS = `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_bob="bobsecret";
};
`;

let dir: string;
let certs: TestCertificates;
let server: ZooKeeperCluster;
let secure: string;
/** A server with a TLS port needs Netty on its classpath: without one, every test here is skipped. */
const needed = new NeededServers();
let files: { ca: string; cert: string; key: string };

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "zkwire-cli-secure-"));
  certs = await makeCertificates();
  files = { ca: join(dir, "ca.pem"), cert: join(dir, "client.pem"), key: join(dir, "client.key") };
  await Promise.all([
    writeFile(files.ca, certs.ca),
    writeFile(files.cert, certs.clientCert),
    writeFile(files.key, certs.clientKey),
    writeFile(join(dir, "jaas.conf"), JAAS),
  ]);
  const started = await needed.start({
    // The JVM reads files this process wrote: a server started here, not a container or ZK_CONNECT.
    sources: jvmSources(),
    needs: ["tls"],
    extraPorts: ["secureClient"],
    jvmProperties: {
      "java.security.auth.login.config": join(dir, "jaas.conf"),
      "zookeeper.authProvider.sasl": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
    },
    config: (m: MemberLayout) => ({
      serverCnxnFactory: "org.apache.zookeeper.server.NettyServerCnxnFactory",
      secureClientPort: m.ports.secureClient,
      secureClientPortAddress: m.host,
      "ssl.keyStore.location": certs.serverKeyStore,
      "ssl.keyStore.type": "PEM",
      "ssl.trustStore.location": certs.serverTrustStore,
      "ssl.trustStore.type": "PEM",
      "ssl.clientAuth": "need",
    }),
  });
  if (started === undefined) return;
  server = started;
  const s = server.servers[0]!;
  secure = `${s.host}:${s.ports.secureClient}`;
}, 180_000);

beforeEach((ctx) => needed.skipIfMissing(ctx));

afterAll(async () => {
  await server?.close();
  await certs?.[Symbol.asyncDispose]();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const zkwire = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [BIN, "-server", secure, "--connect-timeout", "15000", ...args], { env });

describe("TLS and SASL options", { timeout: 120_000 }, () => {
  it("mutual TLS from PEM files and SASL from --sasl: the session is x509 and sasl:bob", async (ctx) => {
    const tls = ["--tls-ca", files.ca, "--tls-cert", files.cert, "--tls-key", files.key];
    const created = await zkwire([
      ...tls,
      "--sasl",
      "bob:bobsecret",
      "create",
      "/bobs",
      "only bob",
      "sasl:bob:cdrwa",
    ]);
    expect(created.stderr).toBe("");
    expect(created.stdout).toBe("Created /bobs\n");
    // The ACL names sasl:bob: only a session the server authenticated as bob reads it.
    expect((await zkwire([...tls, "--sasl", "bob:bobsecret", "get", "/bobs"])).stdout).toBe("only bob\n");
    expect((await zkwire([...tls, "get", "/bobs"])).stderr).toBe("Insufficient permission : /bobs\n");
    // The password from the environment, out of sight of ps.
    expect((await zkwire([...tls, "get", "/bobs"], { ZKWIRE_SASL: "bob:bobsecret" })).stdout).toBe(
      "only bob\n",
    );
    requires(ctx, ["whoAmI", server.version]);
    const who = await zkwire([...tls, "--sasl", "bob:bobsecret", "whoami"]);
    expect(who.stdout).toContain(`x509: ${certs.clientSubject}\n`);
    expect(who.stdout).toContain("sasl: bob\n");
  });

  it("without the client certificate the server refuses the handshake: exit 1 with the reason", async () => {
    const r = await run(process.execPath, [
      BIN,
      "-server",
      secure,
      "--connect-timeout",
      "2000",
      "--tls-ca",
      files.ca,
      "ls",
      "/",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`could not connect to ZooKeeper within 2000 ms; tried ${secure} \\(`),
    );
  });
});
