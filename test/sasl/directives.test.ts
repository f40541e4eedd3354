/**
 * The digest-challenge list parser: RFC 2831's `#rule` with quoted strings, on bytes. Edge cases by hand,
 * then properties: any list written by the rules parses back to itself, and arbitrary bytes end in a
 * list or a SaslError. Runs per property: FC_RUNS (default 1000).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Directive, escapeQuoted, parseDirectives } from "../../src/session/sasl/directives.js";
import { SaslError } from "../../src/session/sasl/mechanism.js";

const numRuns = Number(process.env.FC_RUNS ?? 1000);

function parse(text: string): [string, string][] {
  return parseDirectives(Buffer.from(text, "latin1"), "DIGEST-MD5").map((d) => [
    d.key,
    Buffer.from(d.value).toString("latin1"),
  ]);
}

function parseError(text: string): SaslError {
  try {
    parseDirectives(Buffer.from(text, "latin1"), "DIGEST-MD5");
  } catch (err) {
    expect(err).toBeInstanceOf(SaslError);
    return err as SaslError;
  }
  throw new Error(`parsed: ${text}`);
}

describe("parseDirectives", () => {
  it("reads the JDK server's challenge", () => {
    expect(parse('realm="zk-sasl-md5",nonce="86R2Hi+O/0phq=",charset=utf-8,algorithm=md5-sess')).toEqual([
      ["realm", "zk-sasl-md5"],
      ["nonce", "86R2Hi+O/0phq="],
      ["charset", "utf-8"],
      ["algorithm", "md5-sess"],
    ]);
  });

  it("keeps commas, equals signs and spaces inside quotes", () => {
    expect(parse('realm="a,b = c",qop="auth,auth-int"')).toEqual([
      ["realm", "a,b = c"],
      ["qop", "auth,auth-int"],
    ]);
  });

  it("resolves backslash escapes of any byte", () => {
    expect(parse(String.raw`nonce="a\"b\\c\d"`)).toEqual([["nonce", 'a"b\\cd']]);
  });

  it("allows linear white space around everything, CRLF included, and empty list elements", () => {
    expect(parse(' \t realm = "x" ,\r\n\tnonce=y ,, , algorithm\t=\tmd5-sess ,')).toEqual([
      ["realm", "x"],
      ["nonce", "y"],
      ["algorithm", "md5-sess"],
    ]);
    expect(parse("")).toEqual([]);
    expect(parse(" , ,")).toEqual([]);
  });

  it("lower-cases keys and leaves values alone", () => {
    expect(parse('NONCE="AbC",Algorithm=MD5-Sess')).toEqual([
      ["nonce", "AbC"],
      ["algorithm", "MD5-Sess"],
    ]);
  });

  it("keeps duplicate and unknown keys, in order (the mechanism decides what they mean)", () => {
    expect(parse('realm="a",x-unknown=1,realm="b",x-unknown="2"')).toEqual([
      ["realm", "a"],
      ["x-unknown", "1"],
      ["realm", "b"],
      ["x-unknown", "2"],
    ]);
  });

  it("takes an empty quoted value, and unquoted values with UTF-8 bytes", () => {
    expect(parse('realm="",nonce=caf\xc3\xa9')).toEqual([
      ["realm", ""],
      ["nonce", "caf\xc3\xa9"],
    ]);
  });

  it.each([
    ["=x", "expected a directive name"],
    ['"q"=x', "expected a directive name"],
    ["nonce", "expected '=' after \"nonce\""],
    ["nonce x", "expected '=' after \"nonce\""],
    ["nonce=", 'missing value for "nonce"'],
    ["nonce=,a=b", 'missing value for "nonce"'],
    ['nonce="abc', 'unterminated quoted value for "nonce"'],
    ['nonce="abc\\', 'unterminated quoted value for "nonce"'],
    ['nonce="a" b', "expected ',' after the value of \"nonce\""],
    ['nonce=a"b"', "expected ',' after the value of \"nonce\""],
    ["a=b c=d", "expected ',' after the value of \"a\""],
  ])("refuses %j", (text, message) => {
    const err = parseError(text);
    expect(err.code).toBe("ZK_SASL");
    expect(err.mechanism).toBe("DIGEST-MD5");
    expect(err.message).toContain(message);
    expect(err.message).toMatch(/at byte \d+/);
  });

  it("escapeQuoted escapes only quote and backslash", () => {
    expect(Buffer.from(escapeQuoted(Buffer.from('a"b\\c,d'))).toString()).toBe('a\\"b\\\\c,d');
    const plain = Buffer.from("plain");
    expect(escapeQuoted(plain)).toBe(plain);
  });
});

const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const token = fc
  .array(fc.constantFrom(...tokenChars), { minLength: 1, maxLength: 12 })
  .map((chars) => chars.join(""));
const lws = fc.array(fc.constantFrom(" ", "\t", "\r\n "), { maxLength: 2 }).map((parts) => parts.join(""));
/** A value and how to write it: quoted (any bytes) or bare (bytes a bare value may hold). */
const anyValue = fc.oneof(
  fc.record({ quoted: fc.constant(true), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({
    quoted: fc.constant(false),
    bytes: fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .filter((b) => b.every((x) => x > 0x20 && x !== 0x7f && x !== 0x22 && x !== 0x2c)),
  }),
);

describe("parseDirectives properties", () => {
  it("any list written by the rules parses back to its keys (lower-cased) and values", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: token, value: anyValue, before: lws, after: lws, empties: fc.nat(2) })),
        lws,
        (items, tail) => {
          const parts: Buffer[] = [];
          items.forEach((item, i) => {
            if (i > 0) parts.push(Buffer.from(`${item.before},${",".repeat(item.empties)}`));
            parts.push(Buffer.from(`${item.before}${item.key}${item.after}=${item.after}`));
            parts.push(
              item.value.quoted
                ? Buffer.concat([Buffer.from('"'), escapeQuoted(item.value.bytes), Buffer.from('"')])
                : Buffer.from(item.value.bytes),
            );
          });
          parts.push(Buffer.from(tail));
          const parsed: Directive[] = parseDirectives(Buffer.concat(parts), "DIGEST-MD5");
          expect(parsed.map((d) => d.key)).toEqual(items.map((x) => x.key.toLowerCase()));
          expect(parsed.map((d) => Buffer.from(d.value))).toEqual(
            items.map((x) => Buffer.from(x.value.bytes)),
          );
        },
      ),
      { numRuns },
    );
  });

  it("arbitrary bytes end in a list or a SaslError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseDirectives(bytes, "DIGEST-MD5");
        } catch (err) {
          expect(err).toBeInstanceOf(SaslError);
        }
      }),
      { numRuns },
    );
  });
});
