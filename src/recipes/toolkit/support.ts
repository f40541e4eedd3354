/**
 * Small pieces the coordination recipes (PersistentNode, GroupMember, Partitioner, Semaphore,
 * ReadWriteLock) share beside the toolkit (abort.ts, retry.ts, broadcast.ts, contender.ts, lease.ts):
 * a sleep that aborts, the wait for a usable session, and the checks of node names and data before
 * anything is sent. Public client API only.
 */
import type { ZooKeeper } from "../../client/client.js";
import { ZkArgumentError, ZooKeeperError } from "../../errors.js";
import { JUTE_MAX_BUFFER } from "../../protocol/constants.js";
import { pathProblem } from "../../session/paths.js";
import type { SessionState } from "../../session/state.js";
import { abortable } from "./abort.js";

/** Resolves after `ms`, or rejects with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortable(
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }),
    signal,
  );
}

export function isConnectionLoss(err: unknown): boolean {
  return err instanceof ZooKeeperError && err.isConnectionLoss;
}

export function isCode(err: unknown, name: string): boolean {
  return err instanceof ZooKeeperError && err.codeName === name;
}

/** Whether the client can never serve a request again (closed, or refused our credentials). */
export function isFinished(state: SessionState): boolean {
  return state.kind === "closed" || state.kind === "auth-failed";
}

/**
 * Resolves true once the client is connected (at once if it is), false if it ends (closed or
 * auth-failed) first. After an expiry it waits for a renewed session (renewSessionOnExpiry); on a
 * client without renewal that is never, so the caller's signal is what ends the wait.
 */
export function untilConnected(zk: ZooKeeper, signal?: AbortSignal): Promise<boolean> {
  const usable = (s: SessionState) => s.kind === "connected" || s.kind === "read-only";
  if (usable(zk.state)) return Promise.resolve(true);
  if (isFinished(zk.state)) return Promise.resolve(false);
  let onState: ((s: SessionState) => void) | undefined;
  const wait = new Promise<boolean>((resolve) => {
    onState = (s) => {
      if (usable(s)) resolve(true);
      else if (isFinished(s)) resolve(false);
    };
    zk.on("state", onState);
  });
  return abortable(wait, signal).finally(() => zk.off("state", onState!));
}

/**
 * Checks a node name (one path segment) as the server would, and its size against the server's
 * packet limit, before anything is sent.
 */
export function validateNodeName(name: unknown, what: string): string {
  if (typeof name !== "string" || name.length === 0)
    throw new ZkArgumentError(`${what} must be a non-empty string`);
  if (name.includes("/")) throw new ZkArgumentError(`${what} "${name}" must not contain "/"`);
  const problem = pathProblem(`/${name}`);
  if (problem !== null) throw new ZkArgumentError(`${what} "${name}" is not a valid node name: ${problem}`);
  if (Buffer.byteLength(name) > JUTE_MAX_BUFFER)
    throw new ZkArgumentError(`${what} is longer than the server's packet limit (${JUTE_MAX_BUFFER} bytes)`);
  return name;
}

/** Data as bytes (a string is UTF-8), checked against the server's packet limit. */
export function dataBytes(data: Uint8Array | string | null | undefined, what: string): Uint8Array {
  if (data === null || data === undefined) return new Uint8Array(0);
  let bytes: Uint8Array;
  if (typeof data === "string") bytes = Buffer.from(data, "utf8");
  else if (data instanceof Uint8Array) bytes = data;
  else throw new ZkArgumentError(`${what} must be a string or a Uint8Array`);
  if (bytes.length > JUTE_MAX_BUFFER)
    throw new ZkArgumentError(`${what} is larger than the server's packet limit (${JUTE_MAX_BUFFER} bytes)`);
  return bytes;
}
