/**
 * TLS against a real ZooKeeper's secure client port, through node:tls, with certificates this file
 * makes itself (support/certs.ts). Two servers: one that only authenticates itself (ssl.clientAuth=none)
 * and one that requires a client certificate (ssl.clientAuth=need) and maps it to an "x509" identity.
 *
 * What a server needs for a secure client port (ZooKeeper 3.5.5+; PEM stores since the same release):
 *   serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory   (NIO has no TLS)
 *   secureClientPort=<port>
 *   ssl.keyStore.location=<chain + PKCS#8 key, one PEM file>   ssl.keyStore.type=PEM
 *   ssl.trustStore.location=<CA PEM>                           ssl.trustStore.type=PEM
 *   ssl.clientAuth=none|want|need   (default need; read since 3.5.5, ZOOKEEPER-3176)
 * The "x509" auth provider that turns a client certificate into an identity needs no line: with a
 * secure client port QuorumPeerConfig.configureSSLAuth registers X509AuthenticationProvider itself
 * unless ssl.authProvider names another scheme.
 * zoo.cfg keys QuorumPeerConfig does not know become system properties with a "zookeeper." prefix, so
 * these can equally be -Dzookeeper.ssl.keyStore.location=... and so on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConnectError, Perms, ZooKeeper, ZooKeeperError, type ZooKeeperOptions } from "../../src/index.js";
import {
  compareVersions,
  jvmSources,
  type MemberLayout,
  type ZooKeeperCluster,
} from "../../src/testing/index.js";
import { NeededServers } from "../support/features.js";
import { makeCertificates, type TestCertificates } from "./support/certs.js";

let certs: TestCertificates;
/** ssl.clientAuth=none: TLS authenticates the server only. */
let serverAuth: ZooKeeperCluster;
/** ssl.clientAuth=need: the client must present a certificate signed by the CA. */
let mutual: ZooKeeperCluster;
/** whoAmI is 3.7+; on older servers the x509 ACL test alone shows the certificate's identity. */
let hasWhoAmI: boolean;

function tlsConfig(clientAuth: "none" | "need") {
  return (m: MemberLayout) => ({
    serverCnxnFactory: "org.apache.zookeeper.server.NettyServerCnxnFactory",
    secureClientPort: m.ports.secureClient,
    // Loopback only, like the plain client port the harness sets up.
    secureClientPortAddress: m.host,
    "ssl.keyStore.location": certs.serverKeyStore,
    "ssl.keyStore.type": "PEM",
    "ssl.trustStore.location": certs.serverTrustStore,
    "ssl.trustStore.type": "PEM",
    "ssl.clientAuth": clientAuth,
  });
}

function secureAddress(cluster: ZooKeeperCluster): string {
  const server = cluster.servers[0]!;
  return `${server.host}:${server.ports.secureClient}`;
}

/**
 * For connections that must work: room for a cold JVM's first TLS handshakes on a loaded machine
 * (over 1 s seen with both CPUs busy).
 */
const OK: ZooKeeperOptions = { sessionTimeout: 10_000, connectTimeout: 10_000 };
/** For connections that must fail: a refused handshake is retried until this deadline, then reported. */
const QUICK: ZooKeeperOptions = { sessionTimeout: 4_000, connectTimeout: 1_000, backoff: [20, 100] };

/**
 * Connects where the server must refuse us; returns the ConnectError, checked to have come at the
 * connect deadline (not earlier: the client keeps retrying a refused handshake until then).
 */
async function connectError(connectString: string, options: ZooKeeperOptions): Promise<ConnectError> {
  const began = performance.now();
  const zk = new ZooKeeper(connectString, { ...QUICK, ...options });
  try {
    const error = await zk.ready().then(
      () => new Error(`connected to ${zk.server} (state ${zk.state.kind}); expected a refusal`),
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConnectError);
    const elapsed = performance.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(QUICK.connectTimeout! - 50);
    expect(elapsed).toBeLessThan(QUICK.connectTimeout! + 3_000);
    // After a failed first connection the client is closed: it does not keep trying in the background.
    expect(zk.state.kind).toBe("closed");
    const refused = error as ConnectError;
    expect(refused.message).toContain(connectString);
    expect(refused.attempts.length).toBeGreaterThan(0);
    for (const attempt of refused.attempts) expect(attempt.host).toBe(connectString);
    return refused;
  } finally {
    await zk.close();
  }
}

/**
 * The reasons the attempts failed for, without a trailing attempt the connect deadline cut short
 * ("no session established within N ms"): an attempt gets what is left of the deadline, and one begun
 * near it can end mid-handshake. At least one attempt must have run to the server's refusal.
 */
function reasons(error: ConnectError): string[] {
  const all = error.attempts.map((a) => a.error);
  while (all.length > 1 && /^no session established within \d+ ms$/.test(all.at(-1)!)) all.pop();
  return all;
}

/** A server with a TLS port needs Netty on its classpath: without one, every test here is skipped. */
const needed = new NeededServers();

beforeAll(async () => {
  certs = await makeCertificates();
  const tlsServer = (clientAuth: "none" | "need") => ({
    // The servers read files this process wrote: a JVM started here, not a container or ZK_CONNECT.
    sources: jvmSources(),
    needs: ["tls"] as const,
    extraPorts: ["secureClient"],
    config: tlsConfig(clientAuth),
  });
  const started = await needed.startAll([tlsServer("none"), tlsServer("need")]);
  if (started === undefined) return;
  [serverAuth, mutual] = started as [ZooKeeperCluster, ZooKeeperCluster];
  hasWhoAmI = compareVersions(mutual.version, "3.7.0") >= 0;
  // One handshake each before any test: a cold JVM's first TLS handshake can outlast the 1 s deadline
  // of the refusal tests on a loaded machine, which would leave them no attempt that reached a verdict.
  const warm = [
    ZooKeeper.connect(secureAddress(serverAuth), { ...OK, tls: { ca: certs.ca } }),
    ZooKeeper.connect(secureAddress(mutual), {
      ...OK,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    }),
  ];
  for (const zk of await Promise.all(warm)) await zk.close();
});

beforeEach((ctx) => needed.skipIfMissing(ctx));

afterAll(async () => {
  await Promise.all([serverAuth?.close(), mutual?.close()]);
  await certs?.[Symbol.asyncDispose]();
});

describe("TLS, server authentication only (ssl.clientAuth=none)", () => {
  it("connects with the CA alone, runs requests, and reports the secure port as its server", async () => {
    const address = secureAddress(serverAuth);
    await using zk = await ZooKeeper.connect(address, { ...OK, tls: { ca: certs.ca } });
    expect(zk.state.kind).toBe("connected");
    expect(zk.server).toBe(address);
    const { path } = await zk.create("/tls-server-auth", "over tls");
    const { data } = await zk.getData(path);
    expect(Buffer.from(data).toString()).toBe("over tls");
    // No client certificate, so no x509 identity: only the connection's address.
    if (hasWhoAmI) expect((await zk.whoAmI()).map((id) => id.authScheme)).toEqual(["ip"]);
  });

  it("answers 2,000 requests made at once, in order", async () => {
    await using zk = await ZooKeeper.connect(secureAddress(serverAuth), { ...OK, tls: { ca: certs.ca } });
    const { path } = await zk.create("/tls-pipelined", Buffer.alloc(1_000, 0x61));
    const order: number[] = [];
    const replies = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) =>
        zk.getData(path).then((r) => {
          order.push(i);
          return r.data.length;
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    expect(replies.every((n) => n === 1_000)).toBe(true);
  });

  it("verifies the server by host name too (SNI and DNS:localhost in the certificate)", async () => {
    const port = serverAuth.servers[0]!.ports.secureClient!;
    // localhost may resolve to ::1 first; the server listens on 127.0.0.1 only, and node's
    // autoSelectFamily (default since Node 20) tries both.
    await using zk = await ZooKeeper.connect(`localhost:${port}`, { ...OK, tls: { ca: certs.ca } });
    expect(zk.server).toBe(`localhost:${port}`);
    expect(await zk.exists("/")).not.toBeNull();
  });

  it("refuses a server whose certificate was signed by a CA it does not trust", async () => {
    const error = await connectError(secureAddress(serverAuth), { tls: { ca: certs.otherCa } });
    // node:tls's verification error (UNABLE_TO_VERIFY_LEAF_SIGNATURE: the server sends its leaf only).
    for (const reason of reasons(error)) expect(reason).toBe("unable to verify the first certificate");
    expect(error.message).toContain("unable to verify the first certificate");
  });

  it("refuses the secure port with the platform's default CAs (tls: true)", async () => {
    const error = await connectError(secureAddress(serverAuth), { tls: true });
    for (const reason of reasons(error)) expect(reason).toBe("unable to verify the first certificate");
  });

  it("fails to connect with plain TCP to the secure port", async () => {
    // Netty's SslHandler does not take our ConnectRequest for a TLS record (NotSslRecordException) and
    // closes the connection without a word.
    const error = await connectError(secureAddress(serverAuth), {});
    for (const reason of reasons(error)) expect(reason).toBe("connection closed by the server");
  });
});

describe("mutual TLS (ssl.clientAuth=need)", () => {
  it("connects with a client certificate, and the server names the session by its subject (x509)", async () => {
    const address = secureAddress(mutual);
    await using zk = await ZooKeeper.connect(address, {
      ...OK,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    expect(zk.state.kind).toBe("connected");
    expect(zk.server).toBe(address);
    expect(await zk.exists("/")).not.toBeNull();
    if (hasWhoAmI) {
      expect(await zk.whoAmI()).toContainEqual({ authScheme: "x509", user: certs.clientSubject });
    }
  });

  it("refuses a client without a certificate: ConnectError naming the host and the TLS alert", async () => {
    const error = await connectError(secureAddress(mutual), { tls: { ca: certs.ca } });
    // The JDK's TLS server answers a missing client certificate with alert 42 (bad_certificate), which
    // OpenSSL in node reports as "sslv3 alert bad certificate" (the name is historical; TLS 1.3 here).
    for (const reason of reasons(error)) expect(reason).toMatch(/alert bad certificate/);
    expect(error.message).toMatch(/alert bad certificate/);
  });

  it("refuses a client that does not trust the server's CA, even with a valid client certificate", async () => {
    const error = await connectError(secureAddress(mutual), {
      tls: { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey },
    });
    for (const reason of reasons(error)) expect(reason).toBe("unable to verify the first certificate");
  });

  it("enforces an x509 ACL: the certificate's subject may read, a plain-port session may not", async () => {
    const address = secureAddress(mutual);
    await using owner = await ZooKeeper.connect(address, {
      ...OK,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    const { path } = await owner.create("/tls-x509-only", "for the certificate holder", {
      acl: [{ perms: Perms.ALL, id: { scheme: "x509", id: certs.clientSubject } }],
    });
    expect(Buffer.from((await owner.getData(path)).data).toString()).toBe("for the certificate holder");

    // The same server's plain client port: same data tree, no certificate, hence no x509 identity.
    await using stranger = await ZooKeeper.connect(mutual.connectString, OK);
    const refused = await stranger.getData(path).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ZooKeeperError);
    expect((refused as ZooKeeperError).codeName).toBe("NoAuth");
  });
});
