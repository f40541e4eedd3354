/**
 * The README cannot drift from the API: every ```ts block of README.md is type-checked against the
 * BUILT package, as a consumer sees it (`import ... from "zkwire"` resolved through package.json's
 * exports to dist/*.d.ts), and the blocks fenced ```ts runnable are run with node against the shared
 * real server.
 *
 * How a block becomes a module (kept simple on purpose):
 * - Each block is its own ES module (`.mts`, top-level await allowed), compiled with the repository's
 *   strict options.
 * - Most blocks are fragments that use a client they never create. A prelude is put in front: every
 *   value export of "zkwire" the block does not import itself, and `declare const` for the few free
 *   names the fragments share (zk, data, signal, next, cert, key) unless the block declares that name.
 *   A block that uses anything else must import or declare it.
 * - A runnable block must be whole: it is run as written, with only its connect string
 *   "127.0.0.1:2181" replaced by the shared server plus a fresh chroot (so it runs on an empty tree of its
 *   own), and it must end by itself within the time limit (an open client would keep it running).
 *
 * `npm test` builds dist/ first (pretest); run alone, build first (the test says so otherwise).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as zkwire from "../../src/index.js";
import { ZooKeeper } from "../../src/index.js";
import { assertBuilt, REPO } from "../cli/support.js";

const SERVER: string = inject("zkConnect");
const README = join(REPO, "README.md");

interface Block {
  /** 1-based line of the block's first code line in README.md. */
  line: number;
  code: string;
  runnable: boolean;
}

function blocks(markdown: string): Block[] {
  const found: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)( runnable)?\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    found.push({ line: i + 2, code: lines.slice(i + 1, end).join("\n"), runnable: open[2] !== undefined });
    i = end;
  }
  return found;
}

/** Free names the fragments share, and what they stand for. */
const FREE: Record<string, string> = {
  zk: "declare const zk: ZooKeeper;",
  data: "declare const data: Uint8Array;",
  signal: "declare const signal: AbortSignal;",
  next: "declare const next: string;",
  cert: "declare const cert: Buffer;",
  key: "declare const key: Buffer;",
  readFileSync: 'import { readFileSync } from "node:fs";',
};

function declares(code: string, name: string): boolean {
  const n = `\\b${name}\\b`;
  return new RegExp(
    `(?:const|let|var|using|function|class)\\s+(?:${name}\\b|[{[][^=]*${n}[^=]*[}\\]]\\s*=)|import\\s*(?:type\\s*)?\\{[^}]*${n}`,
  ).test(code);
}

/** The prelude for a block: what it uses without importing or declaring. One line, so line numbers shift by one. */
function prelude(code: string): string {
  const values = Object.keys(zkwire).filter((name) => !declares(code, name));
  const parts = [`import { ${values.join(", ")} } from "zkwire";`];
  if (!declares(code, "ZooKeeper") && !values.includes("ZooKeeper"))
    parts.push('import { ZooKeeper } from "zkwire";');
  for (const [name, decl] of Object.entries(FREE)) {
    if (new RegExp(`\\b${name}\\b`).test(code) && !declares(code, name)) parts.push(decl);
  }
  return parts.join(" ");
}

let project: string;
const all = blocks(await import("node:fs").then((fs) => fs.readFileSync(README, "utf8")));

beforeAll(async () => {
  assertBuilt();
  // A consumer project: "zkwire" resolves through node_modules to this repository's package.json.
  project = await mkdtemp(join(tmpdir(), "zkwire-readme-"));
  await writeFile(
    join(project, "package.json"),
    '{ "name": "readme-check", "private": true, "type": "module" }\n',
  );
  await import("node:fs/promises").then((fs) => fs.mkdir(join(project, "node_modules"), { recursive: true }));
  await symlink(REPO, join(project, "node_modules", "zkwire"), "dir");
  // The README's zkwire/testing example is a vitest file: a consumer has vitest installed beside zkwire.
  await symlink(join(REPO, "node_modules", "vitest"), join(project, "node_modules", "vitest"), "dir");
});

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe("README.md", () => {
  it("has ts blocks, and at least one runnable", () => {
    expect(all.length).toBeGreaterThan(5);
    expect(all.some((b) => b.runnable)).toBe(true);
  });

  it("every ts block type-checks against the built package", { timeout: 120_000 }, async () => {
    const files = new Map<string, Block>();
    for (const [i, block] of all.entries()) {
      const file = join(project, `block-${i}.mts`);
      await writeFile(file, block.runnable ? block.code : `${prelude(block.code)}\n${block.code}`);
      files.set(file, block);
    }
    const program = ts.createProgram([...files.keys()], {
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
      typeRoots: [join(REPO, "node_modules", "@types")],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      const block = d.file ? files.get(d.file.fileName) : undefined;
      if (!d.file || !block || d.start === undefined) return text;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      // The prelude is one line in front of a fragment.
      return `README.md:${block.line + line - (block.runnable ? 0 : 1)}: ${text}`;
    });
    expect(problems).toEqual([]);
  });

  for (const block of all.filter((b) => b.runnable)) {
    it(`the runnable block at README.md:${block.line} runs against a real server and ends by itself`, {
      timeout: 120_000,
    }, async () => {
      expect(block.code, "a runnable block connects to 127.0.0.1:2181").toContain('"127.0.0.1:2181"');
      const chroot = `/readme-${randomBytes(6).toString("hex")}`;
      const zk = await ZooKeeper.connect(SERVER);
      try {
        await zk.create(chroot);
        const js = ts.transpileModule(
          block.code.replaceAll('"127.0.0.1:2181"', JSON.stringify(SERVER + chroot)),
          {
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
          },
        ).outputText;
        const file = join(project, `run-${block.line}.mjs`);
        await writeFile(file, js);
        const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [file], { cwd: project });
          let out = "";
          child.stdout.on("data", (d: Buffer) => (out += d));
          child.stderr.on("data", (d: Buffer) => (out += d));
          const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(
              new Error(`README.md:${block.line} did not end within 60 s (a client left open?): ${out}`),
            );
          }, 60_000);
          child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, out });
          });
        });
        expect(result.code, result.out).toBe(0);
      } finally {
        await zk.deleteRecursive(chroot).catch(() => {});
        await zk.close();
      }
    });
  }
});
