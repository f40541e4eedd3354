/**
 * The package as a user installs it: `npm pack` in a copy of the sources without dist/ (as a clean
 * clone or `npm install git+<url>` has them; `prepare` must build it), the tarball installed into a
 * fresh ESM project (offline: zkwire has no dependencies), then imported and run against the shared
 * server, and its `zkwire` bin run from the project. And `npm install git+<url>` of a repository holding
 * the same sources: npm clones it, installs its dev tools, builds dist through `prepare`, and the
 * package works in a fresh project.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO } from "../cli/support.js";

const SERVER: string = inject("zkConnect");
const exec = promisify(execFile);

/** The environment without the npm_* variables of an enclosing `npm test`, which would steer the inner npm. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

/**
 * The sources as git has them (tracked and new files, without ignored ones like dist/), copied once, and
 * the repository's node_modules for the build tools, so nothing is downloaded.
 */
let copied: Promise<string> | undefined;
function sources(): Promise<string> {
  copied ??= (async () => {
    const source = join(temp, "source");
    const { stdout: listing } = await exec(
      "git",
      ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
      { cwd: REPO, maxBuffer: 16 << 20 },
    );
    for (const file of listing.split("\0").filter((f) => f !== "")) {
      await mkdir(dirname(join(source, file)), { recursive: true });
      await copyFile(join(REPO, file), join(source, file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err; // deleted in the working tree, not yet in git
      });
    }
    return source;
  })();
  return copied;
}

let temp: string;
beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), "zkwire-pack-"));
});
afterAll(async () => {
  if (temp) await rm(temp, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("npm pack builds dist in a clean copy; the tarball installs offline and works in a fresh ESM project", {
    timeout: 300_000,
  }, async () => {
    const source = await sources();
    await symlink(join(REPO, "node_modules"), join(source, "node_modules"), "dir");
    const env = cleanEnv();
    const { stdout: packed } = await exec("npm", ["pack", "--json", "--pack-destination", temp], {
      cwd: source,
      env,
      maxBuffer: 16 << 20,
    });
    // `npm pack --json` prints the prepare script's output before the JSON.
    const [info] = JSON.parse(packed.slice(packed.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = info!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/cli/main.js",
        "dist/protocol/index.js",
      ]),
    );
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);

    const consumer = join(temp, "consumer");
    await mkdir(consumer);
    await writeFile(
      join(consumer, "package.json"),
      '{ "name": "consumer", "private": true, "type": "module" }\n',
    );
    await exec("npm", ["install", "--offline", "--no-audit", "--no-fund", join(temp, info!.filename)], {
      cwd: consumer,
      env,
    });
    const path = `/pack-${randomBytes(6).toString("hex")}`;
    await writeFile(
      join(consumer, "main.js"),
      `import { ZooKeeper } from "zkwire";
const zk = await ZooKeeper.connect(${JSON.stringify(SERVER)});
try {
  await zk.create(${JSON.stringify(path)}, "from the tarball");
  const { data } = await zk.getData(${JSON.stringify(path)});
  console.log(Buffer.from(data).toString());
  await zk.delete(${JSON.stringify(path)});
} finally {
  await zk.close();
}
`,
    );
    const run = await exec(process.execPath, ["main.js"], { cwd: consumer, timeout: 60_000 });
    expect(run.stdout).toBe("from the tarball\n");
    // The bin, as npx finds it.
    const bin = await exec(
      join(consumer, "node_modules", ".bin", "zkwire"),
      ["-server", SERVER, "ls", "/zookeeper"],
      {
        cwd: consumer,
        timeout: 60_000,
      },
    );
    expect(bin.stdout).toBe("[config, quota]\n"); // /zookeeper on every 3.5+ server
  });

  it("installs from a git URL: npm clones it, installs its dev tools, builds dist through prepare", {
    timeout: 300_000,
  }, async () => {
    // A repository holding the sources as one commit (a clone of this one would miss uncommitted work).
    const repo = join(temp, "git-repo");
    const source = await sources();
    await exec("cp", ["-R", source, repo]);
    await rm(join(repo, "node_modules"), { recursive: true, force: true }); // the link, if the copy has it
    const git = (...args: string[]) =>
      exec("git", ["-c", "user.name=zkwire", "-c", "user.email=zkwire@localhost", ...args], { cwd: repo });
    await git("init", "--quiet");
    await git("add", "--all");
    await git("commit", "--quiet", "-m", "sources");

    const consumer = join(temp, "git-consumer");
    await mkdir(consumer);
    await writeFile(
      join(consumer, "package.json"),
      '{ "name": "git-consumer", "private": true, "type": "module" }\n',
    );
    // --prefer-offline: the dev tools come from npm's cache where the repository's own install left them.
    await exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `git+file://${repo}`], {
      cwd: consumer,
      env: cleanEnv(),
      maxBuffer: 16 << 20,
    });
    const path = `/git-${randomBytes(6).toString("hex")}`;
    await writeFile(
      join(consumer, "main.js"),
      `import { ZooKeeper } from "zkwire";
const zk = await ZooKeeper.connect(${JSON.stringify(SERVER)});
try {
  await zk.create(${JSON.stringify(path)}, "from git");
  console.log(Buffer.from((await zk.getData(${JSON.stringify(path)})).data).toString());
  await zk.delete(${JSON.stringify(path)});
} finally {
  await zk.close();
}
`,
    );
    const run = await exec(process.execPath, ["main.js"], { cwd: consumer, timeout: 60_000 });
    expect(run.stdout).toBe("from git\n");
  });
});
