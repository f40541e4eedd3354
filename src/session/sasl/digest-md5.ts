/**
 * DIGEST-MD5 (RFC 2831), client side, on node:crypto: how a ZooKeeper server whose JAAS `Server` section
 * uses `DigestLoginModule` (`user_<name>="<password>"`) authenticates clients. Only qop "auth": the
 * exchange proves the password and the server's knowledge of it; no integrity or confidentiality layer
 * follows (ZooKeeper never asks for one: the JDK server it uses offers "auth" only unless configured).
 *
 * What ZooKeeper fixes (`ZooKeeperSaslClient.createSaslClient` -> `SecurityUtils.createSaslClient`, and
 * `ZooKeeperSaslServer` -> `SecurityUtils.createSaslServer`):
 * - digest-uri is `zookeeper/zk-sasl-md5` on both sides. Protocol "zookeeper" and server name
 *   "zk-sasl-md5" are hard-wired literals, not the host's name (only GSSAPI uses the host, through
 *   `SaslServerPrincipal`). The JDK server refuses any other digest-uri.
 * - The JDK server's challenge (its realm defaults to the server name; no qop directive means "auth"):
 *     realm="zk-sasl-md5",nonce="<random>",charset=utf-8,algorithm=md5-sess
 *   and, after a correct response, its final token `rspauth=<32 lower-case hex>`.
 * - Authorization: `SaslServerCallbackHandler` grants any authzid, and the connection gets the ACL id
 *   `sasl:<username>` whatever authzid says. The Java client sends authzid = username; zkwire sends
 *   authzid only when asked, which the server treats the same.
 *
 * Frames with this mechanism (see mechanism.ts for the exchange itself):
 *   start()                     -> empty token            (GetSASLRequest, the server answers the challenge)
 *   evaluate(digest-challenge)  -> digest-response
 *   evaluate("rspauth=...")     -> null, complete = true  (nothing more is sent)
 */
import { createHash, type Hash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Directive, escapeQuoted, parseDirectives } from "./directives.js";
import { SaslError, type SaslMechanism } from "./mechanism.js";

const NAME = "DIGEST-MD5";
/** RFC 2831 §2.1.1: a digest-challenge is under 2048 bytes; more is not a DIGEST-MD5 server. */
const MAX_CHALLENGE = 2048;
/** RFC 2831 §2.1.2: a digest-response is under 4096 bytes; the JDK server refuses longer ones. */
const MAX_RESPONSE = 4096;
/** First and only use of the server's nonce: no subsequent authentication (the JDK server has none). */
const NONCE_COUNT = "00000001";
const QOP = "auth";

export interface DigestMd5Options {
  /** The user, as in the server's `user_<name>` JAAS entry. */
  readonly username: string;
  readonly password: string;
  /** Authorization id to ask for. ZooKeeper grants any and still uses `sasl:<username>`. */
  readonly authzid?: string | undefined;
  /** Service part of digest-uri. ZooKeeper's is "zookeeper". */
  readonly protocol?: string | undefined;
  /** Host part of digest-uri. ZooKeeper uses the literal "zk-sasl-md5", whatever the server's host. */
  readonly serverName?: string | undefined;
  /** Realm to answer with. Default: the first realm the server offers, or none when it offers none. */
  readonly realm?: string | undefined;
  /** Client nonce. For tests only: a fixed cnonce makes responses replayable. Default: 24 random bytes. */
  readonly cnonce?: string | undefined;
}

type Step = "challenge" | "rspauth" | "complete" | "failed";

/** One DIGEST-MD5 exchange (create one per connection; see {@link digestMd5}). */
export class DigestMd5Mechanism implements SaslMechanism {
  readonly name = NAME;
  #step: Step = "challenge";
  readonly #username: string;
  /** Dropped once the response is computed: after that only the expected rspauth is needed. */
  #password: string | undefined;
  readonly #authzid: string | undefined;
  readonly #digestUri: string;
  readonly #realm: string | undefined;
  readonly #cnonce: string | undefined;
  #expectedRspauth: Buffer | undefined;

  constructor(options: DigestMd5Options) {
    if (typeof options.username !== "string" || typeof options.password !== "string") {
      throw new TypeError("DIGEST-MD5 needs a username and a password (strings)");
    }
    this.#username = options.username;
    this.#password = options.password;
    this.#authzid = options.authzid;
    this.#digestUri = `${options.protocol ?? "zookeeper"}/${options.serverName ?? "zk-sasl-md5"}`;
    this.#realm = options.realm;
    this.#cnonce = options.cnonce;
  }

  get complete(): boolean {
    return this.#step === "complete";
  }

  /** DIGEST-MD5 has no initial response: an empty token, which makes the server send its challenge. */
  start(): Uint8Array {
    if (this.#step !== "challenge") {
      throw new SaslError(NAME, "start() after the exchange began; use a new mechanism for each connection");
    }
    return new Uint8Array(0);
  }

  evaluate(challenge: Uint8Array): Uint8Array | null {
    if (this.#step === "complete") throw new SaslError(NAME, "the exchange is already complete");
    if (this.#step === "failed") throw new SaslError(NAME, "the exchange already failed");
    try {
      if (this.#step === "challenge") {
        const response = this.#respond(challenge);
        this.#step = "rspauth";
        return response;
      }
      this.#verify(challenge);
      this.#step = "complete";
      return null;
    } catch (err) {
      // A failed exchange cannot be resumed: a later call must not answer a replayed or forged challenge.
      this.#step = "failed";
      this.#password = undefined;
      throw err;
    }
  }

  /** Step two of RFC 2831: digest-challenge in, digest-response out. */
  #respond(bytes: Uint8Array): Uint8Array {
    if (bytes.length === 0) {
      throw new SaslError(
        NAME,
        "the server sent an empty challenge; is SASL configured on the server (a JAAS Server section)?",
      );
    }
    const challenge = readChallenge(checkedDirectives(bytes));
    const { utf8 } = challenge;
    const realm = this.#realm ?? challenge.realms[0] ?? "";
    const cnonce = this.#cnonce ?? randomBytes(24).toString("base64");
    const cnonceBytes = encodeText(cnonce, utf8, "the cnonce");
    const values = digestMd5Values({
      username: this.#username,
      realm,
      password: this.#password ?? "",
      nonce: challenge.nonce,
      cnonce: cnonceBytes,
      digestUri: this.#digestUri,
      authzid: this.#authzid,
      utf8,
    });
    this.#expectedRspauth = Buffer.from(values.rspauth, "latin1");
    this.#password = undefined;

    const out = new ListWriter();
    // The server must learn we hashed with the UTF-8 rule; only allowed when it offered it (§2.1.2).
    if (utf8) out.bare("charset", "utf-8");
    out.quoted("username", encodeText(this.#username, utf8, "the username"));
    // §2.1.2: realm is sent when there is one; with none, A1 uses the empty string and the directive is left out.
    if (realm !== "") out.quoted("realm", encodeText(realm, utf8, "the realm"));
    out.quoted("nonce", challenge.nonce);
    out.bare("nc", NONCE_COUNT);
    out.quoted("cnonce", cnonceBytes);
    out.quoted("digest-uri", encodeText(this.#digestUri, utf8, "the digest-uri"));
    out.bare("response", values.response);
    out.bare("qop", QOP);
    // §2.1.2: authzid is always UTF-8, whatever the charset.
    if (this.#authzid !== undefined) out.quoted("authzid", Buffer.from(this.#authzid, "utf8"));
    const response = out.bytes();
    if (response.length > MAX_RESPONSE) {
      throw new SaslError(
        NAME,
        `the digest-response would be ${response.length} bytes, over ${MAX_RESPONSE}`,
      );
    }
    return response;
  }

  /** Step three: the server proves it knows the password too (`rspauth`). Anything else fails. */
  #verify(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      throw new SaslError(NAME, "expected the server's rspauth, got an empty token");
    }
    let rspauth: Uint8Array | undefined;
    const keys: string[] = [];
    for (const { key, value } of checkedDirectives(bytes)) {
      keys.push(key);
      if (key !== "rspauth") continue;
      if (rspauth !== undefined) throw new SaslError(NAME, 'the final challenge repeats "rspauth"');
      rspauth = value;
    }
    if (rspauth === undefined) {
      throw new SaslError(NAME, `expected rspauth in the server's final token, got: ${keys.join(", ")}`);
    }
    const expected = this.#expectedRspauth!;
    // §2.1.3: response-value is 32 lower-case hex digits; accept upper case, compare in constant time.
    const got = Buffer.from(latin1(rspauth).toLowerCase(), "latin1");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new SaslError(
        NAME,
        "the server's rspauth does not match: it does not know the password (or the exchange was altered)",
      );
    }
  }
}

/**
 * A factory of DIGEST-MD5 mechanisms (a `SaslMechanismFactory`) for a session, which needs a fresh one on
 * every connection. With ZooKeeper's defaults: digest-uri "zookeeper/zk-sasl-md5", the server's realm,
 * no authzid.
 */
export function digestMd5(
  username: string,
  password: string,
  options: Omit<DigestMd5Options, "username" | "password"> = {},
): () => DigestMd5Mechanism {
  return () => new DigestMd5Mechanism({ ...options, username, password });
}

/** What step two needs from a digest-challenge. */
interface Challenge {
  readonly realms: string[];
  readonly nonce: Uint8Array;
  /** charset=utf-8 was offered: strings go as UTF-8 (and A1 follows §2.1.2.1's rule). */
  readonly utf8: boolean;
}

/** Directives that RFC 2831 §2.1.1 allows at most once ("realm" may repeat; unknown ones are ignored). */
const SINGLE = new Set(["nonce", "qop", "charset", "algorithm", "maxbuf", "stale", "cipher"]);

function checkedDirectives(bytes: Uint8Array): Directive[] {
  if (bytes.length > MAX_CHALLENGE) {
    throw new SaslError(NAME, `challenge of ${bytes.length} bytes, over the ${MAX_CHALLENGE} allowed`);
  }
  return parseDirectives(bytes, NAME);
}

function readChallenge(directives: readonly Directive[]): Challenge {
  const realms: Uint8Array[] = [];
  const once = new Map<string, Uint8Array>();
  for (const { key, value } of directives) {
    if (key === "realm") {
      realms.push(value);
    } else if (SINGLE.has(key)) {
      // §2.1.1: "if multiple instances are present, the client should abort the authentication exchange".
      if (once.has(key)) throw new SaslError(NAME, `the challenge repeats "${key}"`);
      once.set(key, value);
    }
    // Anything else is an auth-param or a future directive: §2.1.1 says to ignore it.
  }

  const charset = once.get("charset");
  if (charset !== undefined && latin1(charset).toLowerCase() !== "utf-8") {
    throw new SaslError(NAME, `unsupported charset "${latin1(charset)}" (only utf-8 is defined)`);
  }
  const utf8 = charset !== undefined;

  const algorithm = once.get("algorithm");
  if (algorithm === undefined) throw new SaslError(NAME, "the challenge has no algorithm directive");
  if (latin1(algorithm).toLowerCase() !== "md5-sess") {
    throw new SaslError(NAME, `unsupported algorithm "${latin1(algorithm)}" (expected md5-sess)`);
  }

  const nonce = once.get("nonce");
  if (nonce === undefined || nonce.length === 0) {
    throw new SaslError(NAME, "the challenge has no nonce");
  }

  // §2.1.1: qop-options is a quoted comma-separated list; absent means "auth". Unknown tokens are ignored.
  const qop = once.get("qop");
  const qops =
    qop === undefined
      ? [QOP]
      : latin1(qop)
          .split(",")
          .map((q) => q.trim().toLowerCase())
          .filter((q) => q !== "");
  if (!qops.includes(QOP)) {
    throw new SaslError(
      NAME,
      `the server offers qop "${qops.join(",")}" but not "auth"; ` +
        "zkwire implements no integrity (auth-int) or confidentiality (auth-conf) layer",
    );
  }

  return { realms: realms.map((r) => decodeText(r, utf8, "realm")), nonce, utf8 };
}

/** The values an exchange hashes: response (§2.1.2.1), rspauth (§2.1.3), and H(A1) for tests. */
export interface DigestMd5Values {
  /** HEX(H(A1)). */
  readonly hA1: string;
  /** The client's response-value. */
  readonly response: string;
  /** The rspauth the server must answer with. */
  readonly rspauth: string;
}

/**
 * RFC 2831 §2.1.2.1 and §2.1.3 for qop "auth":
 *
 *   A1       = { H( { username-value, ":", realm-value, ":", passwd } ), ":", nonce, ":", cnonce
 *                [ ":", authzid ] }
 *   A2       = { "AUTHENTICATE:", digest-uri }           (rspauth: A2 = { ":", digest-uri })
 *   response = HEX( H( { HEX(H(A1)), ":", nonce, ":", nc, ":", cnonce, ":", qop, ":", HEX(H(A2)) } ) )
 *
 * H(A1) is the MD5 of bytes, not of its hex (md5-sess). With charset=utf-8, username, realm and password
 * are each hashed as ISO-8859-1 when all their characters fit it, as UTF-8 otherwise (§2.1.2.1; the JDK
 * applies the rule to each of the three separately, and so does this).
 */
export function digestMd5Values(input: {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly nonce: Uint8Array;
  readonly cnonce: Uint8Array;
  readonly digestUri: string;
  readonly authzid?: string | undefined;
  readonly utf8: boolean;
}): DigestMd5Values {
  const { nonce, cnonce, utf8 } = input;
  const secret = md5(
    encodeForA1(input.username, utf8, "the username"),
    ":",
    encodeForA1(input.realm, utf8, "the realm"),
    ":",
    encodeForA1(input.password, utf8, "the password"),
  );
  const a1 = [secret, ":", nonce, ":", cnonce];
  if (input.authzid !== undefined) a1.push(":", Buffer.from(input.authzid, "utf8"));
  const hA1 = md5(...a1).toString("hex");
  const uri = encodeText(input.digestUri, utf8, "the digest-uri");
  const kd = (a2: Buffer): string =>
    md5(hA1, ":", nonce, ":", NONCE_COUNT, ":", cnonce, ":", QOP, ":", md5(a2).toString("hex")).toString(
      "hex",
    );
  return {
    hA1,
    response: kd(Buffer.concat([Buffer.from("AUTHENTICATE:"), uri])),
    rspauth: kd(Buffer.concat([Buffer.from(":"), uri])),
  };
}

/** MD5 over the parts; strings passed here are ASCII. */
function md5(...parts: (string | Uint8Array)[]): Buffer {
  let hash: Hash;
  try {
    hash = createHash("md5");
  } catch (cause) {
    // FIPS builds of OpenSSL refuse MD5 (ZooKeeper disables DIGEST-MD5 in FIPS mode for the same reason).
    throw new SaslError(NAME, "MD5 is not available in this Node.js (FIPS mode?)", { cause });
  }
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** A lone surrogate has no UTF-8 form; Buffer would silently hash U+FFFD instead and fail obscurely. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return true;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** A string as sent in a directive: UTF-8 if the server offered it, else ISO-8859-1 (the default). */
function encodeText(s: string, utf8: boolean, what: string): Buffer {
  if (!utf8) {
    if (!isLatin1(s)) {
      throw new SaslError(
        NAME,
        `${what} has characters outside ISO-8859-1 and the server did not offer UTF-8`,
      );
    }
    return Buffer.from(s, "latin1");
  }
  if (hasLoneSurrogate(s)) throw new SaslError(NAME, `${what} is not well-formed Unicode`);
  return Buffer.from(s, "utf8");
}

/** §2.1.2.1: with charset=utf-8, a string that fits ISO-8859-1 is still hashed as ISO-8859-1. */
function encodeForA1(s: string, utf8: boolean, what: string): Buffer {
  return isLatin1(s) ? Buffer.from(s, "latin1") : encodeText(s, utf8, what);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeText(bytes: Uint8Array, utf8: boolean, what: string): string {
  if (!utf8) return latin1(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new SaslError(NAME, `the ${what} is not valid UTF-8`, { cause });
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** Builds a digest-response: `key=value` or `key="value"`, comma-separated. */
class ListWriter {
  readonly #parts: Uint8Array[] = [];

  bare(key: string, value: string): void {
    this.#key(key);
    this.#parts.push(Buffer.from(value, "latin1"));
  }

  quoted(key: string, value: Uint8Array): void {
    this.#key(key);
    this.#parts.push(Buffer.from('"'), escapeQuoted(value), Buffer.from('"'));
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.#parts);
  }

  #key(key: string): void {
    this.#parts.push(Buffer.from(this.#parts.length === 0 ? `${key}=` : `,${key}=`, "latin1"));
  }
}
