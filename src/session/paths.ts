/**
 * Node paths: validated by the server's own rules before anything is sent, and mapped to and from the
 * chroot.
 *
 * The server (PathUtils.validatePath) refuses: a path not starting with "/", a trailing "/" (except the
 * root, and except the prefix of a sequential create, to which the server appends the counter), an
 * empty segment, a "." or ".." segment, U+0000, and the characters U+0001-U+001F, U+007F-U+009F,
 * U+D800-U+F8FF and U+FFF0-U+FFFF. Because U+D800-U+DFFF is refused and a JavaScript string (like a
 * Java one) stores a character beyond the BMP as two such halves, no node name can hold one.
 */
import { ZkArgumentError } from "../errors.js";

function invalidChar(code: number): boolean {
  return (
    (code > 0x0000 && code <= 0x001f) ||
    (code >= 0x007f && code <= 0x009f) ||
    (code >= 0xd800 && code <= 0xf8ff) ||
    (code >= 0xfff0 && code <= 0xffff)
  );
}

/**
 * Paths every rule below accepts, matched at once (the regular expression runs as native code, several
 * times faster than the loop): one or more segments of printable ASCII, none beginning with "." (so none
 * is "." or ".."), none empty, no trailing "/". Anything else, valid or not, goes through the loop.
 */
const PLAIN_PATH = /^(?:\/[\x20-\x2d\x30-\x7e][\x20-\x2e\x30-\x7e]*)+$/;

/** Why `path` is not a valid node path, or null when it is. */
export function pathProblem(path: unknown, sequential = false): string | null {
  if (typeof path !== "string") return "path must be a string";
  // A plain path is also a valid sequential prefix (one ending in "/" is not plain and goes the long way).
  if (PLAIN_PATH.test(path)) return null;
  if (path.length === 0) return "path must not be empty";
  if (path.charCodeAt(0) !== 0x2f) return `path "${path}" must start with "/"`;
  // A sequential create's prefix may end in "/": the server appends the 10-digit counter to it.
  const p = sequential ? `${path}1` : path;
  if (p.length === 1) return null;
  if (p.charCodeAt(p.length - 1) === 0x2f) return `path "${path}" must not end with "/"`;
  // One pass over the characters; a segment's start is remembered, not sliced out.
  let segmentStart = 1;
  for (let i = 1; i <= p.length; i++) {
    const c = i < p.length ? p.charCodeAt(i) : 0x2f;
    // Digits, letters and most punctuation: nothing to check (the common case, so tested first).
    if (c >= 0x30 && c < 0x7f) continue;
    if (c === 0x2f) {
      const length = i - segmentStart;
      if (length === 0) return `path "${path}" has an empty segment at ${i}`;
      if (
        p.charCodeAt(segmentStart) === 0x2e &&
        (length === 1 || (length === 2 && p.charCodeAt(i - 1) === 0x2e))
      ) {
        return `path "${path}" has a relative segment "${p.slice(segmentStart, i)}"`;
      }
      segmentStart = i + 1;
    } else if (c === 0) {
      return `path "${path}" has a null character at ${i}`;
    } else if (invalidChar(c)) {
      return `path "${path}" has a character the server refuses (U+${c.toString(16).toUpperCase().padStart(4, "0")}) at ${i}`;
    }
  }
  return null;
}

export function validatePath(path: unknown, sequential = false): string {
  const problem = pathProblem(path, sequential);
  if (problem !== null) throw new ZkArgumentError(problem);
  return path as string;
}

/** The server path for a client path: the chroot prepended ("/" inside the chroot is the chroot). */
export function toServerPath(chroot: string, path: string): string {
  if (chroot === "") return path;
  return path === "/" ? chroot : chroot + path;
}

/**
 * The client path for a server path. Paths outside the chroot (which the server should never send)
 * come back unchanged rather than mangled.
 */
export function toClientPath(chroot: string, path: string): string {
  if (chroot === "") return path;
  if (path === chroot) return "/";
  if (path.startsWith(chroot) && path.charCodeAt(chroot.length) === 0x2f) return path.slice(chroot.length);
  return path;
}

/** The parent of a valid path ("/" for a top-level node). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Joins a parent path and a child name. */
export function joinPath(parent: string, child: string): string {
  return parent === "/" ? `/${child}` : `${parent}/${child}`;
}
