/**
 * Throwaway X.509 material for TLS tests, made with the `openssl` command line in a temp dir:
 *
 *   ca.pem / ca.key            a self-signed CA (the server's trust store: it verifies client certs)
 *   server.crt / server.key    the server's certificate, SAN IP:127.0.0.1 and DNS:localhost, so that
 *                              node:tls's identity check passes for either name of the loopback
 *   server-keystore.pem        key + certificate in one file: ZooKeeper's PEM key store
 *                              (ssl.keyStore.type=PEM) reads the private key and the chain from the
 *                              same file; the key unencrypted, so no ssl.keyStore.password is needed
 *   server-truststore.pem      the CA (ssl.trustStore.type=PEM), to verify client certificates
 *   client.crt / client.key    a client certificate (CN=zkwire-client) for mutual TLS
 *   other-ca.pem               an unrelated CA: a client that trusts only it must refuse the server
 *
 * EC P-256 keys: generating them takes milliseconds, RSA-2048 takes up to a second each on a slow CI
 * machine. Both ZooKeeper's PemReader and node:tls read PKCS#8 EC keys.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificates extends AsyncDisposable {
  readonly dir: string;
  /** PEM of the CA that signed the server and client certificates. */
  readonly ca: string;
  /** PEM of a CA that signed nothing here. */
  readonly otherCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** The client certificate's subject as the server's X509AuthenticationProvider names it (RFC 2253). */
  readonly clientSubject: string;
  /** Server key store for ZooKeeper: certificate chain + private key, PEM. */
  readonly serverKeyStore: string;
  /** Server trust store for ZooKeeper: the CA, PEM. */
  readonly serverTrustStore: string;
}

const CLIENT_SUBJECT = "CN=zkwire-client,O=zkwire";

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr.trim() || (err as Error).message}`, {
      cause: err,
    });
  }
}

/** An EC P-256 key as unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), the form both ends read. */
function newKey(cwd: string, file: string): Promise<void> {
  return openssl(cwd, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file);
}

async function selfSignedCa(cwd: string, name: string): Promise<void> {
  await newKey(cwd, `${name}.key`);
  await openssl(
    cwd,
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-sha256",
    "-days",
    "2",
    "-subj",
    `/O=zkwire/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    `${name}.pem`,
  );
}

/** A leaf certificate signed by ca.pem, with the given extensions file. */
async function leaf(cwd: string, name: string, subject: string, extensions: string): Promise<void> {
  await newKey(cwd, `${name}.key`);
  await openssl(cwd, "req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
  await writeFile(join(cwd, `${name}.ext`), extensions);
  await openssl(
    cwd,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    // No serial file: openssl then picks a random serial, so the two leaves made in parallel neither
    // race on ca.srl nor share a serial.
    "-sha256",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  );
}

export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "zkwire-certs-"));
  try {
    await Promise.all([selfSignedCa(dir, "ca"), selfSignedCa(dir, "other-ca")]);
    await Promise.all([
      leaf(
        dir,
        "server",
        "/O=zkwire/CN=localhost",
        [
          "basicConstraints=CA:FALSE",
          "keyUsage=critical,digitalSignature,keyEncipherment",
          // serverAuth for node:tls verifying the server; clientAuth too, because the server presents
          // the same key store when it acts as a TLS client (quorum TLS), and it costs nothing here.
          "extendedKeyUsage=serverAuth,clientAuth",
          "subjectAltName=IP:127.0.0.1,DNS:localhost",
          "",
        ].join("\n"),
      ),
      leaf(
        dir,
        "client",
        // openssl -subj goes from the most to the least significant RDN; RFC 2253 (what Java prints)
        // lists them the other way round, hence CLIENT_SUBJECT reads CN first.
        "/O=zkwire/CN=zkwire-client",
        [
          "basicConstraints=CA:FALSE",
          "keyUsage=critical,digitalSignature",
          "extendedKeyUsage=clientAuth",
          "",
        ].join("\n"),
      ),
    ]);
    const [ca, otherCa, serverCrt, serverKey, clientCert, clientKey] = await Promise.all(
      ["ca.pem", "other-ca.pem", "server.crt", "server.key", "client.crt", "client.key"].map((f) =>
        readFile(join(dir, f), "utf8"),
      ),
    );
    const serverKeyStore = join(dir, "server-keystore.pem");
    const serverTrustStore = join(dir, "server-truststore.pem");
    await writeFile(serverKeyStore, `${serverKey}${serverCrt}`);
    await writeFile(serverTrustStore, ca!);
    return {
      dir,
      ca: ca!,
      otherCa: otherCa!,
      clientCert: clientCert!,
      clientKey: clientKey!,
      clientSubject: CLIENT_SUBJECT,
      serverKeyStore,
      serverTrustStore,
      [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
