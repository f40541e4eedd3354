/**
 * What the harness and the peers share for filling zkwire's cache (~/.cache/zkwire) safely when several
 * processes (vitest workers, CI steps) install the same thing at once: a lock dir, atomic writes, and
 * the Maven invocation that copies an artifact's runtime jars.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A lock dir older than this is from a crashed installer (an install takes seconds). */
const STALE_LOCK_MS = 15 * 60_000;

/**
 * Runs `work` while holding the lock dir `lock` (mkdir is atomic), unless `ready()` turns true while
 * waiting: then another process did the work, and the lock is theirs to remove.
 */
export async function exclusive(
  lock: string,
  ready: () => boolean,
  work: () => Promise<void>,
): Promise<void> {
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (ready()) return;
    if (await isStale(lock)) await rm(lock, { recursive: true, force: true });
    else await sleep(250);
  }
  try {
    await writeFile(join(lock, "owner"), `${process.pid}\n`);
    await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function isStale(lock: string): Promise<boolean> {
  let owner: number;
  try {
    if (Date.now() - (await stat(lock)).mtimeMs > STALE_LOCK_MS) return true;
    owner = Number((await readFile(join(lock, "owner"), "utf8")).trim());
  } catch {
    // The lock vanished (loop and mkdir again) or its owner file is not written yet (wait).
    return false;
  }
  if (!Number.isInteger(owner) || owner <= 0) return false;
  try {
    process.kill(owner, 0);
    return false;
  } catch (error) {
    // ESRCH: the owner died mid-install. EPERM: alive but someone else's, so not stale.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Writes a file so that readers see the old content or the new, never half of it. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(temp, text);
  await rename(temp, file);
}

/** mvn arguments that copy the runtime jars of the pom in `dir` into `dir/lib`. */
export function copyDependenciesArgs(dir: string): string[] {
  return [
    "-B",
    "-q",
    "-Dstyle.color=never",
    "-f",
    join(dir, "pom.xml"),
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${join(dir, "lib")}`,
  ];
}
