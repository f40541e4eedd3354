/**
 * The errors a zkwire caller sees.
 *
 * - `ZooKeeperError`: an operation failed. `code` is ZooKeeper's numeric error code and `codeName` its
 *   name (`NoNode`, `BadVersion`, ...), with the operation and path. Conditions the client detects
 *   itself use the server's codes where ZooKeeper has one (ConnectionLoss, SessionExpired,
 *   RequestTimeout) and zkwire's own codes, all at -1000 or below, where it has none (ClientClosed).
 *   The error is created in the public method after its await, so its stack shows the caller.
 * - `ZkArgumentError`: the call was refused before anything was sent (a bad path, oversized data...).
 * - `ZkProtocolError` (from the protocol layer): the peer sent bytes that are not ZooKeeper.
 */
import { ErrorCode, errorCodeName } from "./protocol/constants.js";

/** zkwire's own codes, for conditions ZooKeeper has no code for. Kept clear of the server's range. */
export const ClientErrorCode = {
  /** The client was closed (by `close()`), before or while the request was pending. */
  ClientClosed: -1000,
  /** The session is not usable because authentication failed (auth-failed state). */
  AuthFailedState: -1001,
} as const;

const clientCodeNames = new Map<number, string>(Object.entries(ClientErrorCode).map(([k, v]) => [v, k]));

export function codeName(code: number): string {
  return clientCodeNames.get(code) ?? errorCodeName(code);
}

export interface ZooKeeperErrorDetails {
  /** The operation, e.g. `getData`. */
  op?: string | undefined;
  /** The path as the caller gave it (without chroot). */
  path?: string | undefined;
  /** Extra words after the code name. */
  detail?: string | undefined;
  cause?: unknown;
}

export class ZooKeeperError extends Error {
  override readonly name = "ZooKeeperError";
  /** ZooKeeper's numeric error code (or one of zkwire's, at -1000 and below). */
  readonly code: number;
  /** The code's name: `NoNode`, `NodeExists`, `ConnectionLoss`, `ClientClosed`, ... */
  readonly codeName: string;
  readonly op: string | undefined;
  readonly path: string | undefined;

  constructor(code: number, details: ZooKeeperErrorDetails = {}) {
    const name = codeName(code);
    const where = [details.op, details.path].filter((x) => x !== undefined).join(" ");
    // No `cause` key at all when there is none: util.inspect prints `[cause]: undefined` otherwise.
    super(
      `${name}${where ? ` (${where})` : ""}${details.detail ? `: ${details.detail}` : ""}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.code = code;
    this.codeName = name;
    this.op = details.op;
    this.path = details.path;
  }

  /** The connection dropped while the request was in flight: it may or may not have been applied. */
  get isConnectionLoss(): boolean {
    return this.code === ErrorCode.ConnectionLoss;
  }

  /** The session is gone: its ephemeral nodes and watches with it. */
  get isSessionExpired(): boolean {
    return this.code === ErrorCode.SessionExpired;
  }

  /** Whether this error has the given code name, e.g. `err.is("NoNode")`. */
  is(name: keyof typeof ErrorCode | keyof typeof ClientErrorCode): boolean {
    return this.codeName === name;
  }
}

/** A call refused before anything was sent. */
export class ZkArgumentError extends TypeError {
  override readonly name = "ZkArgumentError";
  readonly code = "ZK_INVALID_ARGUMENT";
}

/**
 * A value as an argument error shows it: strings quoted and named, so `version: "3"` reads
 * `got the string "3"` rather than a bare 3 that looks like a valid number.
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "bigint") return `the bigint ${value}n`;
  if (typeof value === "object" && value !== null)
    return `an object (${Object.prototype.toString.call(value)})`;
  return String(value);
}

/** True when `err` is a ZooKeeperError with the given code name. */
export function isZooKeeperError(
  err: unknown,
  name?: keyof typeof ErrorCode | keyof typeof ClientErrorCode,
): err is ZooKeeperError {
  return err instanceof ZooKeeperError && (name === undefined || err.codeName === name);
}
