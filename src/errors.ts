/**
 * Every error zkwire throws, in one place: the client's, the session's, the protocol's and the recipes'.
 * Two kinds keep their own module, each with its own entry point: the test harness's (zkwire/testing,
 * src/testing/errors.ts) and the command line's UsageError (the `zkwire` bin, src/cli/args.ts; it has
 * no code and means exit status 2). Each class here has a `name`, and a `code` that does not change
 * between releases, so callers can switch on it across copies of the package where `instanceof` fails:
 *
 *   class              code                           when
 *   ZooKeeperError     ZooKeeper's number (-101...)   an operation failed; `codeName` is its stable
 *                      or zkwire's (-1000 and below)  string (`NoNode`, `ConnectionLoss`, `ClientClosed`)
 *   TransactionError   as ZooKeeperError              a multi failed; `index` and `outcomes` say where
 *   ZkArgumentError    "ZK_INVALID_ARGUMENT"          refused before anything was sent
 *   ConnectError       "ZK_CONNECT"                   no session established before the deadline
 *   ZkProtocolError    "ZK_PROTOCOL"                  the peer sent bytes that are not ZooKeeper
 *   SaslError          "ZK_SASL"                      the SASL exchange failed on the client's side
 *
 * The recipes' (their modules re-export them, so every import path stays):
 *
 *   class                       code                          when
 *   LockTimeoutError            "ZK_LOCK_TIMEOUT"             a lock's acquire() (Lock, ReadWriteLock)
 *                                                             gave up after its timeout
 *   LockLostError               "ZK_LOCK_LOST"                a held lease (lock, semaphore, leadership)
 *                                                             was lost, or a write through it was refused
 *   SemaphoreTimeoutError       "ZK_SEMAPHORE_TIMEOUT"        Semaphore.acquire() gave up after its timeout
 *   LeadershipTimeoutError      "ZK_LEADERSHIP_TIMEOUT"       a wait for leadership ended at its timeout
 *   ElectionClosedError         "ZK_ELECTION_CLOSED"          the latch or election was closed (or its
 *                                                             client ended) while a caller waited
 *   PersistentNodeTimeoutError  "ZK_PERSISTENT_NODE_TIMEOUT"  PersistentNode.ready() gave up (its timeout
 *                                                             passed, or the node was closed)
 *   CacheClosedError            "ZK_CACHE_CLOSED"             the cache was closed (or its client ended)
 *                                                             before it was initialized
 *   RecipeTimeoutError          "ZK_RECIPE_TIMEOUT"           a shared-state recipe's wait (barrier,
 *                                                             queue take) ended at its timeout
 *   RecipeClosedError           "ZK_RECIPE_CLOSED"            a shared-state recipe was closed while a
 *                                                             call waited, or used after close
 *   CorruptValueError           "ZK_CORRUPT_VALUE"            a node's data is not the recipe's type
 *   ConflictError               "ZK_CONFLICT"                 other writers won every retry
 *
 * ZooKeeperError's `code` stays the server's number, as it has always been (callers compare it with
 * `ErrorCode`); its string is `codeName`. `ZkErrorCode` lists the string codes.
 *
 * Conditions the client detects itself use the server's codes where ZooKeeper has one (ConnectionLoss,
 * SessionExpired, RequestTimeout) and zkwire's own codes, all at -1000 or below, where it has none
 * (ClientClosed). A ZooKeeperError is created in the public method after its await, so its stack shows
 * the caller.
 *
 * This module imports nothing from the client, the session or the recipes (only the protocol's
 * constants), so that any of them can import it without a cycle.
 */
import { ErrorCode, errorCodeName } from "./protocol/constants.js";

/** The string codes of zkwire's errors other than ZooKeeperError (whose `codeName` is its string). */
export const ZkErrorCode = {
  InvalidArgument: "ZK_INVALID_ARGUMENT",
  Connect: "ZK_CONNECT",
  Protocol: "ZK_PROTOCOL",
  Sasl: "ZK_SASL",
  // The recipes'.
  LockTimeout: "ZK_LOCK_TIMEOUT",
  LockLost: "ZK_LOCK_LOST",
  SemaphoreTimeout: "ZK_SEMAPHORE_TIMEOUT",
  LeadershipTimeout: "ZK_LEADERSHIP_TIMEOUT",
  ElectionClosed: "ZK_ELECTION_CLOSED",
  PersistentNodeTimeout: "ZK_PERSISTENT_NODE_TIMEOUT",
  CacheClosed: "ZK_CACHE_CLOSED",
  RecipeTimeout: "ZK_RECIPE_TIMEOUT",
  RecipeClosed: "ZK_RECIPE_CLOSED",
  CorruptValue: "ZK_CORRUPT_VALUE",
  Conflict: "ZK_CONFLICT",
} as const;
export type ZkErrorCode = (typeof ZkErrorCode)[keyof typeof ZkErrorCode];

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
  readonly code = ZkErrorCode.InvalidArgument;
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

/**
 * ZkProtocolError: the one error the protocol layer throws: bytes that are not a valid Jute record or frame.
 *
 * Whatever arrives from the network, decoding ends either in a value or in this error, never in a
 * RangeError from a Buffer method or a giant allocation. The session layer catches it and ends the
 * connection (a peer that sent one malformed frame cannot be trusted with the next one).
 */
export class ZkProtocolError extends Error {
  override readonly name = "ZkProtocolError";
  readonly code = ZkErrorCode.Protocol;
  /** The record being decoded (e.g. `GetDataResponse`), or `frame` for framing errors. */
  readonly record: string;
  /** Byte offset inside the record (or stream position for framing) where the problem was found. */
  readonly offset: number;

  constructor(record: string, offset: number, message: string, options?: ErrorOptions) {
    super(`${record} at offset ${offset}: ${message}`, options);
    this.record = record;
    this.offset = offset;
  }
}

/** Thrown by start() when no server could be reached before the deadline. */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
  readonly code = ZkErrorCode.Connect;
  constructor(
    message: string,
    readonly attempts: readonly { host: string; error: string }[],
  ) {
    super(message);
  }
}

/** A SASL exchange failed on the client's side: a malformed or unauthenticated challenge, or a misuse. */
export class SaslError extends Error {
  override readonly name = "SaslError";
  readonly code = ZkErrorCode.Sasl;
  /** The mechanism that failed, e.g. "DIGEST-MD5". */
  readonly mechanism: string;

  constructor(mechanism: string, message: string, options?: ErrorOptions) {
    super(`${mechanism}: ${message}`, options);
    this.mechanism = mechanism;
  }
}

export interface OpOutcome {
  readonly op: string;
  readonly path: string;
  /** 0 for an op that would have succeeded. */
  readonly code: number;
}

/** A transaction failed: nothing was applied. `index` is the op that failed. */
export class TransactionError extends ZooKeeperError {
  /** Index of the op that failed. */
  readonly index: number;
  /** Every op's outcome, in order. */
  readonly outcomes: readonly OpOutcome[];

  constructor(code: number, index: number, outcomes: readonly OpOutcome[]) {
    const failed = outcomes[index];
    super(code, {
      op: "multi",
      path: failed?.path,
      detail: `op ${index} (${failed?.op ?? "?"}) failed; nothing was applied`,
    });
    this.index = index;
    this.outcomes = outcomes;
  }
}

// The recipes' errors. Each recipe module re-exports its own, so importing them from there still works.
// None takes more than a message (and the standard ErrorOptions): no recipe type is needed here.

/** A lock's acquire() (Lock, ReadWriteLock) gave up after its timeout. */
export class LockTimeoutError extends Error {
  override readonly name = "LockTimeoutError";
  readonly code = ZkErrorCode.LockTimeout;
}

/** The hold was lost (a lease's signal reason), or a write through a lost lease was refused. */
export class LockLostError extends Error {
  override readonly name = "LockLostError";
  readonly code = ZkErrorCode.LockLost;
}

/** Semaphore.acquire() gave up after its timeout. */
export class SemaphoreTimeoutError extends Error {
  override readonly name = "SemaphoreTimeoutError";
  readonly code = ZkErrorCode.SemaphoreTimeout;
}

/** awaitLeadership() (or an election's run()) gave up after its timeout. */
export class LeadershipTimeoutError extends Error {
  override readonly name = "LeadershipTimeoutError";
  readonly code = ZkErrorCode.LeadershipTimeout;
}

/** The latch or election was closed (or its client ended) while a caller waited for leadership. */
export class ElectionClosedError extends Error {
  override readonly name = "ElectionClosedError";
  readonly code = ZkErrorCode.ElectionClosed;
}

/** PersistentNode.ready() gave up after its timeout. */
export class PersistentNodeTimeoutError extends Error {
  override readonly name = "PersistentNodeTimeoutError";
  readonly code = ZkErrorCode.PersistentNodeTimeout;
}

/** The cache was closed (or its client ended) before it was initialized. */
export class CacheClosedError extends Error {
  override readonly name = "CacheClosedError";
  readonly code = ZkErrorCode.CacheClosed;
}

/** A wait (barrier, queue take) ended at its timeout. */
export class RecipeTimeoutError extends Error {
  override readonly name = "RecipeTimeoutError";
  readonly code = ZkErrorCode.RecipeTimeout;
}

/** The recipe object was closed while a call was waiting, or used after close. */
export class RecipeClosedError extends Error {
  override readonly name = "RecipeClosedError";
  readonly code = ZkErrorCode.RecipeClosed;
}

/** The node's data could not be decoded as the recipe's type. */
export class CorruptValueError extends Error {
  override readonly name = "CorruptValueError";
  readonly code = ZkErrorCode.CorruptValue;
}

/** A change kept meeting other writers' changes for the whole retry budget. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  readonly code = ZkErrorCode.Conflict;
}
