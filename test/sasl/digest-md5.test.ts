/**
 * DIGEST-MD5 client: RFC 2831's worked examples (§4), independent vectors, ZooKeeper's defaults, the
 * challenge rules (qop, charset, algorithm, nonce, duplicates), rspauth checking, and the exchange's
 * states. Malformed challenges, fuzzed with fast-check, end in SaslError and nothing else.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DigestMd5Mechanism, digestMd5, digestMd5Values } from "../../src/session/sasl/digest-md5.js";
import { parseDirectives } from "../../src/session/sasl/directives.js";
import { SaslError, type SaslMechanismFactory } from "../../src/session/sasl/mechanism.js";

const numRuns = Number(process.env.FC_RUNS ?? 1000);
const bytes = (s: string) => Buffer.from(s, "utf8");
const text = (b: Uint8Array | null) => Buffer.from(b!).toString("utf8");

/** The response as key -> value (quotes removed). */
function fields(response: Uint8Array | null): Record<string, string> {
  return Object.fromEntries(
    parseDirectives(response!, "DIGEST-MD5").map((d) => [d.key, Buffer.from(d.value).toString("latin1")]),
  );
}

function saslError(f: () => unknown): SaslError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(SaslError);
    expect((err as SaslError).code).toBe("ZK_SASL");
    return err as SaslError;
  }
  throw new Error("did not throw");
}

/**
 * An independent, plain reading of RFC 2831 §2.1.2.1 for ASCII inputs: strings concatenated, hashed.
 * `a2` is "AUTHENTICATE" for the client's response, "" for the server's rspauth.
 */
function rfc2831(
  v: {
    user: string;
    realm: string;
    pass: string;
    nonce: string;
    cnonce: string;
    uri: string;
    authzid?: string;
  },
  a2: string,
): string {
  const md5 = (data: string | Buffer) => createHash("md5").update(data).digest();
  const a1 = Buffer.concat([
    md5(`${v.user}:${v.realm}:${v.pass}`),
    Buffer.from(`:${v.nonce}:${v.cnonce}${v.authzid === undefined ? "" : `:${v.authzid}`}`),
  ]);
  const ha2 = md5(`${a2}:${v.uri}`).toString("hex");
  return md5(`${md5(a1).toString("hex")}:${v.nonce}:00000001:${v.cnonce}:auth:${ha2}`).toString("hex");
}

/** Like the JDK server: realm = server name, no qop, charset=utf-8, algorithm=md5-sess. */
const zkChallenge = (nonce = "fixed+nonce/0123456789==") =>
  bytes(`realm="zk-sasl-md5",nonce="${nonce}",charset=utf-8,algorithm=md5-sess`);

describe("RFC 2831 §4 examples", () => {
  // §4: "This example shows the use of the Digest SASL mechanism with the IMAP4 AUTHENTICATE command".
  it("IMAP: response d388dad9..., rspauth ea40f603...", () => {
    const m = new DigestMd5Mechanism({
      username: "chris",
      password: "secret",
      protocol: "imap",
      serverName: "elwood.innosoft.com",
      cnonce: "OA6MHXh6VqTrRk",
    });
    expect(m.start()).toEqual(new Uint8Array(0));
    const response = m.evaluate(
      bytes('realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8'),
    );
    expect(fields(response)).toEqual({
      charset: "utf-8",
      username: "chris",
      realm: "elwood.innosoft.com",
      nonce: "OA6MG9tEQGm2hh",
      nc: "00000001",
      cnonce: "OA6MHXh6VqTrRk",
      "digest-uri": "imap/elwood.innosoft.com",
      response: "d388dad90d4bbd760a152321f2143af7",
      qop: "auth",
    });
    expect(m.complete).toBe(false);
    expect(m.evaluate(bytes("rspauth=ea40f60335c427b5527b84dbabcdfffd"))).toBeNull();
    expect(m.complete).toBe(true);
  });

  it("ACAP: response 6084c6db..., rspauth 2f0b3d7c...", () => {
    const m = new DigestMd5Mechanism({
      username: "chris",
      password: "secret",
      protocol: "acap",
      serverName: "elwood.innosoft.com",
      cnonce: "OA9BSuZWMSpW8m",
    });
    const response = m.evaluate(
      bytes('realm="elwood.innosoft.com",nonce="OA9BSXrbuRhWay",qop="auth",algorithm=md5-sess,charset=utf-8'),
    );
    expect(fields(response).response).toBe("6084c6db3fede7352c551284490fd0fc");
    expect(m.evaluate(bytes("rspauth=2f0b3d7c3c2e486600ef710726aa2eae"))).toBeNull();
    expect(m.complete).toBe(true);
  });
});

describe("digestMd5Values", () => {
  const acap = {
    username: "chris",
    realm: "elwood.innosoft.com",
    password: "secret",
    nonce: bytes("OA9BSXrbuRhWay"),
    cnonce: bytes("OA9BSuZWMSpW8m"),
    digestUri: "acap/elwood.innosoft.com",
    utf8: true,
  };

  // Independent vectors: WildFly Elytron's DigestUtilTest (an RFC 2831 implementation of its own).
  it("with an authzid, which enters A1", () => {
    expect(digestMd5Values({ ...acap, authzid: "chris" })).toEqual({
      hA1: "7f94ea5b1eb1b0573cca321e2b517b63",
      response: "aa4e81f1c6656350f7bce05d436665de",
      rspauth: "af3ca83a805d4cfa00675a17315475c4",
    });
  });

  it("hashes strings with characters beyond ISO-8859-1 as UTF-8", () => {
    const s = "\u0438\u4F60\uD83C\uDCA1";
    const v = digestMd5Values({
      username: s,
      realm: `realm.${s}.com`,
      password: s,
      nonce: bytes(`sn${s}`),
      cnonce: bytes(`cn${s}`),
      digestUri: "acap/elwood.innosoft.com",
      utf8: true,
    });
    expect(v.hA1).toBe("4e863a809aa7f7cc191be93705967394");
  });

  it("hashes each of username, realm, password as ISO-8859-1 when it fits, even with charset=utf-8", () => {
    const input = { ...acap, username: "jürgen", realm: "zk-sasl-md5", password: "pässwörd€" };
    const secret = createHash("md5")
      .update(Buffer.concat([Buffer.from("jürgen:zk-sasl-md5:", "latin1"), Buffer.from("pässwörd€", "utf8")]))
      .digest();
    const hA1 = createHash("md5")
      .update(Buffer.concat([secret, Buffer.from(":OA9BSXrbuRhWay:OA9BSuZWMSpW8m")]))
      .digest("hex");
    expect(digestMd5Values(input).hA1).toBe(hA1);
  });

  it("refuses characters beyond ISO-8859-1 when the server did not offer UTF-8", () => {
    expect(saslError(() => digestMd5Values({ ...acap, password: "€", utf8: false })).message).toContain(
      "the password has characters outside ISO-8859-1",
    );
    expect(digestMd5Values({ ...acap, username: "jürgen", utf8: false }).hA1).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("against a ZooKeeper-like server", () => {
  it("answers the JDK server's challenge with digest-uri zookeeper/zk-sasl-md5 and the offered realm", () => {
    const m = digestMd5("bob", "s3cret", { cnonce: "client+nonce" })();
    expect(m.name).toBe("DIGEST-MD5");
    expect(m.start()).toHaveLength(0);
    const response = m.evaluate(zkChallenge());
    const v = {
      user: "bob",
      realm: "zk-sasl-md5",
      pass: "s3cret",
      nonce: "fixed+nonce/0123456789==",
      cnonce: "client+nonce",
      uri: "zookeeper/zk-sasl-md5",
    };
    expect(text(response)).toBe(
      'charset=utf-8,username="bob",realm="zk-sasl-md5",nonce="fixed+nonce/0123456789==",nc=00000001,' +
        `cnonce="client+nonce",digest-uri="zookeeper/zk-sasl-md5",response=${rfc2831(v, "AUTHENTICATE")},qop=auth`,
    );
    expect(m.evaluate(bytes(`rspauth=${rfc2831(v, "")}`))).toBeNull();
    expect(m.complete).toBe(true);
  });

  it("sends authzid when asked, and hashes it into A1", () => {
    const m = digestMd5("bob", "pw", { cnonce: "c", authzid: "alice" })();
    const f = fields(m.evaluate(zkChallenge("n")));
    expect(f.authzid).toBe("alice");
    const v = {
      user: "bob",
      realm: "zk-sasl-md5",
      pass: "pw",
      nonce: "n",
      cnonce: "c",
      uri: "zookeeper/zk-sasl-md5",
    };
    expect(f.response).toBe(rfc2831({ ...v, authzid: "alice" }, "AUTHENTICATE"));
    expect(f.response).not.toBe(rfc2831(v, "AUTHENTICATE"));
  });

  it("escapes quotes and backslashes in the username", () => {
    const m = digestMd5('we"ird\\name', "pw", { cnonce: "c" })();
    const response = text(m.evaluate(zkChallenge("n")));
    expect(response).toContain(String.raw`username="we\"ird\\name"`);
    expect(fields(bytes(response)).username).toBe('we"ird\\name');
  });

  it("makes a fresh mechanism per call, each with its own random cnonce", async () => {
    const factory: SaslMechanismFactory = digestMd5("bob", "pw");
    const a = factory();
    const b = factory();
    expect(a).not.toBe(b);
    const ca = fields(await a.evaluate(zkChallenge())).cnonce!;
    const cb = fields(await b.evaluate(zkChallenge())).cnonce!;
    expect(ca).not.toBe(cb);
    expect(Buffer.from(ca, "base64")).toHaveLength(24);
  });
});

describe("realm", () => {
  it("takes the first of several offered realms", () => {
    const m = digestMd5("u", "p", { cnonce: "c" })();
    const f = fields(m.evaluate(bytes('realm="one",realm="two",nonce="n",algorithm=md5-sess')));
    expect(f.realm).toBe("one");
  });

  it("takes the caller's realm over the server's", () => {
    const m = digestMd5("u", "p", { cnonce: "c", realm: "mine" })();
    expect(fields(m.evaluate(zkChallenge())).realm).toBe("mine");
  });

  it("sends no realm when none is offered, and hashes the empty realm", () => {
    const m = digestMd5("u", "p", { cnonce: "c" })();
    const f = fields(m.evaluate(bytes('nonce="n",algorithm=md5-sess')));
    expect(f.realm).toBeUndefined();
    expect(f.charset).toBeUndefined();
    const v = { user: "u", realm: "", pass: "p", nonce: "n", cnonce: "c", uri: "zookeeper/zk-sasl-md5" };
    expect(f.response).toBe(rfc2831(v, "AUTHENTICATE"));
  });

  it("decodes a UTF-8 realm when charset=utf-8 and refuses invalid UTF-8", () => {
    const m = digestMd5("u", "p", { cnonce: "c" })();
    const f = fields(m.evaluate(bytes('realm="réalm",nonce="n",charset=utf-8,algorithm=md5-sess')));
    expect(Buffer.from(f.realm!, "latin1").toString("utf8")).toBe("réalm");
    const bad = Buffer.concat([
      bytes('realm="'),
      Buffer.from([0xc3, 0x28]),
      bytes('",nonce="n",charset=utf-8,algorithm=md5-sess'),
    ]);
    expect(saslError(() => digestMd5("u", "p")().evaluate(bad)).message).toContain(
      "realm is not valid UTF-8",
    );
  });
});

describe("charset", () => {
  it("without charset=utf-8, sends ISO-8859-1 and no charset directive", () => {
    const m = digestMd5("jürgen", "p", { cnonce: "c" })();
    const response = Buffer.from(m.evaluate(bytes('realm="r",nonce="n",algorithm=md5-sess'))!);
    expect(response.includes(Buffer.from('username="jürgen"', "latin1"))).toBe(true);
    expect(response.toString("latin1")).not.toContain("charset");
  });

  it("without charset=utf-8, refuses a username it cannot encode", () => {
    const err = saslError(() => digestMd5("юзер", "p")().evaluate(bytes('nonce="n",algorithm=md5-sess')));
    expect(err.message).toContain("outside ISO-8859-1");
  });

  it("with charset=utf-8, sends the username as UTF-8", () => {
    const m = digestMd5("юзер", "p", { cnonce: "c" })();
    expect(text(m.evaluate(zkChallenge()))).toContain('username="юзер"');
  });

  it("refuses a username that is not well-formed Unicode", () => {
    expect(saslError(() => digestMd5("a\uD800b", "p")().evaluate(zkChallenge())).message).toContain(
      "not well-formed Unicode",
    );
  });

  it("accepts charset in any case, refuses other charsets", () => {
    expect(
      digestMd5("u", "p")().evaluate(bytes('nonce="n",charset=UTF-8,algorithm=md5-sess')),
    ).not.toBeNull();
    expect(
      saslError(() =>
        digestMd5("u", "p")().evaluate(bytes('nonce="n",charset=iso-8859-1,algorithm=md5-sess')),
      ).message,
    ).toContain('unsupported charset "iso-8859-1"');
  });
});

describe("qop", () => {
  it("picks auth from a list that has it", () => {
    const m = digestMd5("u", "p")();
    const f = fields(
      m.evaluate(bytes('nonce="n",qop="auth-int, AUTH ,auth-conf",cipher="rc4",algorithm=md5-sess')),
    );
    expect(f.qop).toBe("auth");
  });

  it.each(['"auth-int"', '"auth-conf"', '"auth-int,auth-conf"', '""'])("refuses qop=%s clearly", (qop) => {
    const err = saslError(() =>
      digestMd5("u", "p")().evaluate(bytes(`nonce="n",qop=${qop},algorithm=md5-sess`)),
    );
    expect(err.message).toContain('but not "auth"');
    expect(err.message).toContain("no integrity (auth-int) or confidentiality (auth-conf) layer");
  });

  it("ignores unknown qop tokens, maxbuf, cipher, stale and unknown directives", () => {
    const m = digestMd5("u", "p")();
    const challenge =
      'nonce="n",qop="auth,x-future",maxbuf=1024,stale=true,cipher="3des",x-new="?",algorithm=md5-sess';
    expect(fields(m.evaluate(bytes(challenge))).qop).toBe("auth");
  });
});

describe("malformed first challenges", () => {
  it.each([
    ["", "empty challenge; is SASL configured on the server"],
    ['realm="r",charset=utf-8,algorithm=md5-sess', "no nonce"],
    ['nonce="",algorithm=md5-sess', "no nonce"],
    ['nonce="n"', "no algorithm"],
    ['nonce="n",algorithm=md5', 'unsupported algorithm "md5"'],
    ['nonce="a",nonce="b",algorithm=md5-sess', 'repeats "nonce"'],
    ['nonce="n",qop="auth",qop="auth",algorithm=md5-sess', 'repeats "qop"'],
    ['nonce="n",charset=utf-8,charset=utf-8,algorithm=md5-sess', 'repeats "charset"'],
    ['nonce="n",algorithm=md5-sess,algorithm=md5-sess', 'repeats "algorithm"'],
    ['nonce="n",algorithm=md5-sess,maxbuf=1,maxbuf=2', 'repeats "maxbuf"'],
    ['nonce="n" algorithm=md5-sess', "malformed challenge at byte 10"],
    ["rspauth=0123,algorithm=md5-sess", "no nonce"],
  ])("%j -> SaslError", (challenge, message) => {
    const m = digestMd5("u", "p")();
    expect(saslError(() => m.evaluate(bytes(challenge))).message).toContain(message);
    expect(m.complete).toBe(false);
  });

  it("allows duplicate unknown directives (auth-params)", () => {
    expect(digestMd5("u", "p")().evaluate(bytes('x=1,x=2,nonce="n",algorithm=md5-sess'))).not.toBeNull();
  });

  it("refuses a challenge over 2048 bytes", () => {
    const big = bytes(`nonce="${"n".repeat(2048)}",algorithm=md5-sess`);
    expect(saslError(() => digestMd5("u", "p")().evaluate(big)).message).toContain("over the 2048 allowed");
  });

  it("refuses to build a response over 4096 bytes", () => {
    expect(saslError(() => digestMd5("u".repeat(5000), "p")().evaluate(zkChallenge())).message).toContain(
      "over 4096",
    );
  });
});

describe("the server's rspauth", () => {
  const v = {
    user: "bob",
    realm: "zk-sasl-md5",
    pass: "pw",
    nonce: "n",
    cnonce: "c",
    uri: "zookeeper/zk-sasl-md5",
  };
  const started = () => {
    const m = digestMd5("bob", "pw", { cnonce: "c" })();
    m.evaluate(zkChallenge("n"));
    return m;
  };

  it("accepts it quoted, in upper case, with other directives around it", () => {
    for (const token of [
      `rspauth="${rfc2831(v, "")}"`,
      `rspauth=${rfc2831(v, "").toUpperCase()}`,
      ` x=1 , rspauth=${rfc2831(v, "")} ,`,
    ]) {
      const m = started();
      expect(m.evaluate(bytes(token))).toBeNull();
      expect(m.complete).toBe(true);
    }
  });

  it.each([
    ["a mismatch", `rspauth=${"0".repeat(32)}`, "rspauth does not match"],
    ["a truncated value", "rspauth=ea40f603", "rspauth does not match"],
    [
      "a value for another password",
      `rspauth=${rfc2831({ ...v, pass: "other" }, "")}`,
      "rspauth does not match",
    ],
    ["the client's own response", `rspauth=${rfc2831(v, "AUTHENTICATE")}`, "rspauth does not match"],
    ["an empty token", "", "expected the server's rspauth, got an empty token"],
    ["a new challenge", 'realm="zk-sasl-md5",nonce="m",algorithm=md5-sess', "expected rspauth"],
    ["two rspauth", `rspauth=${rfc2831(v, "")},rspauth=${rfc2831(v, "")}`, 'repeats "rspauth"'],
    ["garbage", "\u0000\u0001", "malformed challenge"],
  ])("refuses %s", (_, token, message) => {
    const m = started();
    expect(saslError(() => m.evaluate(bytes(token))).message).toContain(message);
    expect(m.complete).toBe(false);
    // A failed exchange stays failed, even when handed the right answer afterwards.
    expect(saslError(() => m.evaluate(bytes(`rspauth=${rfc2831(v, "")}`))).message).toContain(
      "already failed",
    );
    expect(m.complete).toBe(false);
  });
});

describe("exchange states", () => {
  it("refuses to go on after completing, and stays complete", () => {
    const m = digestMd5("bob", "pw", { cnonce: "c" })();
    m.evaluate(zkChallenge("n"));
    const v = {
      user: "bob",
      realm: "zk-sasl-md5",
      pass: "pw",
      nonce: "n",
      cnonce: "c",
      uri: "zookeeper/zk-sasl-md5",
    };
    m.evaluate(bytes(`rspauth=${rfc2831(v, "")}`));
    expect(saslError(() => m.evaluate(zkChallenge())).message).toContain("already complete");
    expect(m.complete).toBe(true);
  });

  it("start() is only for a fresh exchange", () => {
    const m = digestMd5("u", "p")();
    m.start();
    m.start();
    m.evaluate(zkChallenge());
    expect(saslError(() => m.start()).message).toContain("use a new mechanism for each connection");
  });

  it("wants string credentials", () => {
    expect(() => new DigestMd5Mechanism({ username: "u" } as never)).toThrow(TypeError);
  });
});

describe("fuzzing", () => {
  const started = () => {
    const m = digestMd5("bob", "pw")();
    m.evaluate(zkChallenge());
    return m;
  };

  it("arbitrary bytes as the first or final challenge end in a token or a SaslError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), fc.boolean(), (challenge, final) => {
        const m = final ? started() : digestMd5("bob", "pw")();
        try {
          const out = m.evaluate(challenge);
          if (final) expect(out).toBeNull();
          else expect(out).toBeInstanceOf(Uint8Array);
        } catch (err) {
          expect(err).toBeInstanceOf(SaslError);
          expect(m.complete).toBe(false);
        }
      }),
      { numRuns },
    );
  });

  it("challenges made of plausible directives end in a token or a SaslError", () => {
    const directive = fc.oneof(
      fc.constantFrom(
        'realm="zk-sasl-md5"',
        'nonce="abc"',
        "nonce=",
        'qop="auth"',
        'qop="auth-int"',
        "charset=utf-8",
        "charset=latin1",
        "algorithm=md5-sess",
        "algorithm=md5",
        "maxbuf=65536",
        'cipher="rc4"',
        "stale=true",
        'rspauth="00"',
        'x="\\"',
        '"',
        "=",
        ",",
      ),
      fc
        .tuple(fc.constantFrom("realm", "nonce", "qop", "charset", "x"), fc.string({ maxLength: 20 }))
        .map(([k, s]) => `${k}="${s.replace(/["\\]/g, "\\$&")}"`),
    );
    fc.assert(
      fc.property(
        fc.array(directive, { maxLength: 8 }),
        fc.constantFrom(",", " , ", ",,", " "),
        (parts, sep) => {
          const m = digestMd5("bob", "pw")();
          try {
            expect(m.evaluate(bytes(parts.join(sep)))).toBeInstanceOf(Uint8Array);
          } catch (err) {
            expect(err).toBeInstanceOf(SaslError);
          }
        },
      ),
      { numRuns },
    );
  });
});
