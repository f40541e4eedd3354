/**
 * The `key=value` lists DIGEST-MD5 sends (RFC 2831 §7, using RFC 2616's `#rule`):
 *
 *   list       = [ element ] *( LWS* "," LWS* [ element ] )    empty elements allowed: "a=1,,b=2"
 *   element    = token LWS* "=" LWS* ( token | quoted-string )
 *   quoted     = <"> *( any byte but <"> and "\" | "\" any byte ) <">
 *   LWS        = SP | HT | CR | LF
 *
 * Parsed as bytes, not text: the charset (ISO-8859-1 unless `charset=utf-8`) is itself one of the
 * directives, and some values (the nonce) must be echoed byte for byte. Keys are ASCII tokens, compared
 * case-insensitively, so they come back lower-cased. Unquoted values are taken leniently (any run of
 * visible bytes but `"` and `,`), as servers send `realm=host.example` or base64 nonces unquoted; what
 * is not a list at all is refused with a SaslError naming the byte offset.
 */
import { SaslError } from "./mechanism.js";

export interface Directive {
  /** The directive's name, lower-cased. */
  readonly key: string;
  /** The value's bytes, with quotes removed and `\x` escapes resolved. */
  readonly value: Uint8Array;
}

const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isLws(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
}

/** RFC 2616 token characters: visible ASCII except separators. */
function isTokenByte(b: number): boolean {
  if (b <= 0x20 || b >= 0x7f) return false;
  switch (b) {
    case 0x28: // (
    case 0x29: // )
    case 0x3c: // <
    case 0x3e: // >
    case 0x40: // @
    case COMMA:
    case 0x3b: // ;
    case 0x3a: // :
    case BACKSLASH:
    case QUOTE:
    case 0x2f: // /
    case 0x5b: // [
    case 0x5d: // ]
    case 0x3f: // ?
    case EQUALS:
    case 0x7b: // {
    case 0x7d: // }
      return false;
    default:
      return true;
  }
}

/** Bytes of an unquoted value: anything visible (including UTF-8) but a quote or the list separator. */
function isBareValueByte(b: number): boolean {
  return b > 0x20 && b !== 0x7f && b !== QUOTE && b !== COMMA;
}

/** Token bytes are ASCII, so Latin-1 decoding is exact; no spread, so no argument-count limit. */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function skipLws(input: Uint8Array, i: number): number {
  while (i < input.length && isLws(input[i]!)) i++;
  return i;
}

/** Parses a directive list. Throws SaslError (naming `mechanism` and the offset) on anything else. */
export function parseDirectives(input: Uint8Array, mechanism: string): Directive[] {
  const fail = (at: number, what: string): never => {
    throw new SaslError(mechanism, `malformed challenge at byte ${at}: ${what}`);
  };
  const out: Directive[] = [];
  const n = input.length;
  let i = skipLws(input, 0);
  while (i < n) {
    if (input[i] === COMMA) {
      i = skipLws(input, i + 1);
      continue;
    }
    const keyStart = i;
    while (i < n && isTokenByte(input[i]!)) i++;
    if (i === keyStart) fail(i, "expected a directive name");
    const key = latin1(input.subarray(keyStart, i)).toLowerCase();
    i = skipLws(input, i);
    if (i >= n || input[i] !== EQUALS) fail(i, `expected '=' after "${key}"`);
    i = skipLws(input, i + 1);
    if (i >= n) fail(i, `missing value for "${key}"`);

    let value: Uint8Array;
    if (input[i] === QUOTE) {
      i++;
      const bytes: number[] = [];
      for (;;) {
        if (i >= n) fail(i, `unterminated quoted value for "${key}"`);
        const b = input[i++]!;
        if (b === QUOTE) break;
        if (b === BACKSLASH) {
          if (i >= n) fail(i, `unterminated quoted value for "${key}"`);
          bytes.push(input[i++]!);
        } else {
          bytes.push(b);
        }
      }
      value = Uint8Array.from(bytes);
    } else {
      const valueStart = i;
      while (i < n && isBareValueByte(input[i]!)) i++;
      if (i === valueStart) fail(i, `missing value for "${key}"`);
      value = input.slice(valueStart, i);
    }
    out.push({ key, value });

    i = skipLws(input, i);
    if (i < n) {
      if (input[i] !== COMMA) fail(i, `expected ',' after the value of "${key}"`);
      i = skipLws(input, i + 1);
    }
  }
  return out;
}

/** The inside of a quoted-string for `value`: `"` and `\` escaped; the caller adds the quotes. */
export function escapeQuoted(value: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of value) if (b === QUOTE || b === BACKSLASH) extra++;
  if (extra === 0) return value;
  const out = new Uint8Array(value.length + extra);
  let j = 0;
  for (const b of value) {
    if (b === QUOTE || b === BACKSLASH) out[j++] = BACKSLASH;
    out[j++] = b;
  }
  return out;
}
