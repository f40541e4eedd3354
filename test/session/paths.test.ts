/**
 * Path validation against a plain restatement of the server's rules (PathUtils.validatePath), for
 * arbitrary strings built from the characters that matter, and the chroot mapping.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pathProblem, toClientPath, toServerPath } from "../../src/session/paths.js";

const numRuns = Number(process.env.FC_RUNS ?? 1000);

/** The rules, written the obvious way: split into segments and look at each. */
function oracle(path: string, sequential: boolean): boolean {
  if (!path.startsWith("/")) return false;
  const p = sequential ? `${path}1` : path;
  if (p === "/") return true;
  if (p.endsWith("/")) return false;
  for (const segment of p.slice(1).split("/")) {
    if (segment === "" || segment === "." || segment === "..") return false;
    for (const ch of segment) {
      for (let i = 0; i < ch.length; i++) {
        const c = ch.charCodeAt(i);
        if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0)
          return false;
      }
    }
  }
  return true;
}

const pieces = fc.constantFrom(
  "/",
  ".",
  "..",
  "a",
  "é",
  "中",
  "\u0000",
  "\u0001",
  "\u007f",
  "\u{1F600}",
  "\uFFF0",
  "-",
  " ",
);

describe("pathProblem", () => {
  it("agrees with the server's rules for arbitrary paths", () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.boolean(), (parts, sequential) => {
        const path = parts.join("");
        expect(pathProblem(path, sequential) === null).toBe(oracle(path, sequential));
      }),
      { numRuns },
    );
  });

  it("names the problem", () => {
    expect(pathProblem("a")).toMatch(/must start with "\/"/);
    expect(pathProblem("/a//b")).toMatch(/empty segment/);
    expect(pathProblem("/a/../b")).toMatch(/relative segment "\.\."/);
    expect(pathProblem("/a/.")).toMatch(/relative segment "\."/);
    expect(pathProblem("/a/...")).toBeNull();
    expect(pathProblem("/q/", true)).toBeNull();
    expect(pathProblem("/q/")).toMatch(/must not end/);
    expect(pathProblem("/x\u{1F600}")).toMatch(/U\+D83D/);
  });
});

describe("chroot", () => {
  it("maps paths in and out, / inside being the chroot itself", () => {
    expect(toServerPath("/app", "/")).toBe("/app");
    expect(toServerPath("/app", "/a")).toBe("/app/a");
    expect(toClientPath("/app", "/app")).toBe("/");
    expect(toClientPath("/app", "/app/a")).toBe("/a");
    expect(toClientPath("/app", "/apple")).toBe("/apple");
    expect(toClientPath("", "/a")).toBe("/a");
  });
});
