/**
 * Makes sure no JVM the harness started outlives the process that started it.
 *
 * Two layers, because a test process can end in two ways:
 * - it exits (tests done, a failed assertion, process.exit): a synchronous 'exit' handler SIGKILLs every
 *   child still alive and removes temp dirs not closed yet;
 * - it is killed (vitest killing a hung worker, SIGKILL, OOM): no handler runs. For that, a tiny `sh`
 *   watchdog holds the read end of a pipe from this process and the list of child pids; when this
 *   process dies the kernel closes the pipe, `read` sees end-of-file and the watchdog SIGKILLs the list.
 *   (PR_SET_PDEATHSIG via `setpriv --pdeathsig` would be simpler but did not fire in our CI sandbox.)
 *
 * Only pids of processes this harness spawned are ever signalled; a pid leaves both lists as soon as
 * Node reports that process's exit, so a recycled pid is never killed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";

const children = new Map<number, ChildProcess>();
const dirs = new Set<string>();
let watchdog: ChildProcess | undefined;
let exitHandlerInstalled = false;

// Lines "+ <pid>" add, "- <pid>" remove; at end-of-file kill what is left. It ignores INT/TERM/HUP so
// a Ctrl-C to the process group does not kill it before it can do its job.
const WATCHDOG = `trap '' INT TERM HUP
pids=' '
while read -r op pid; do
  case "$op" in
    +) pids="$pids$pid " ;;
    -) keep=' '; for p in $pids; do [ "$p" = "$pid" ] || keep="$keep$p "; done; pids=$keep ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done`;

function tellWatchdog(line: string): void {
  if (watchdog === undefined) {
    const started = spawn("sh", ["-c", WATCHDOG], { stdio: ["pipe", "ignore", "ignore"] });
    // A watchdog that died (killed with its process group) must not crash the tests with EPIPE.
    started.stdin?.on("error", () => {});
    started.on("error", () => {});
    started.on("exit", () => {
      if (watchdog === started) watchdog = undefined;
    });
    // Neither the watchdog nor its pipe may keep the test process alive.
    started.unref();
    (started.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    watchdog = started;
  }
  watchdog.stdin?.write(`${line}\n`);
}

function onExit(): void {
  // First the watchdog, so it cannot act on pids after this handler has reaped them.
  if (watchdog?.pid !== undefined) killQuietly(watchdog.pid);
  for (const pid of children.keys()) killQuietly(pid);
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Best effort: the process is exiting and a leftover temp dir is harmless.
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", onExit);
}

/** Registers a child so it is SIGKILLed if this process exits or dies while it still runs. */
export function trackChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  installExitHandler();
  children.set(pid, child);
  tellWatchdog(`+ ${pid}`);
  child.once("exit", () => {
    children.delete(pid);
    tellWatchdog(`- ${pid}`);
    // With nothing left to guard, end the watchdog: end-of-file with an empty list kills nothing.
    if (children.size === 0) {
      watchdog?.stdin?.end();
      watchdog = undefined;
    }
  });
}

/** Registers a temp dir to remove at exit unless untracked first (close() removes it itself). */
export function trackDir(dir: string): void {
  installExitHandler();
  dirs.add(dir);
}

export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/** Pids of tracked children still running, for tests of the harness itself. */
export function trackedPids(): number[] {
  return [...children.keys()];
}
