/**
 * Turning a caller's arguments into a request, with every check made before anything is sent. Shared
 * by the single operations and the transaction builder, so a create inside a multi is validated exactly
 * like a create on its own.
 */
import { describeValue, ZkArgumentError } from "../errors.js";
import { CreateMode, type CreateModeName, OpCode } from "../protocol/constants.js";
import type { ACL } from "../protocol/records/acl.js";
import type { CreateRequest, CreateTTLRequest } from "../protocol/records/create.js";
import type { MultiOp } from "../protocol/records/multi.js";
import { toServerPath, validatePath } from "../session/paths.js";
import { type AclEntry, OPEN_ACL_UNSAFE, validateAcl } from "./acl.js";

/** Node data: bytes (a Buffer is a Uint8Array), or a string, written as UTF-8. */
export type Data = Uint8Array | string;

export interface CreateOptions {
  /** Default "persistent". */
  mode?: CreateModeName;
  /** Default OPEN_ACL_UNSAFE (anyone may do anything). */
  acl?: readonly AclEntry[];
  /** Time to live in ms, for the two TTL modes only (server 3.5.3+ with extended types enabled). */
  ttl?: number;
}

/** The largest TTL the server accepts: it keeps TTLs in 40 bits of the ephemeral owner field. */
export const MAX_TTL = 2 ** 40 - 1;

const EMPTY = Buffer.alloc(0);
/** The default ACL, checked once rather than on every create (the codec only reads it). */
const DEFAULT_ACL: ACL[] = validateAcl(OPEN_ACL_UNSAFE);
const modeNames = Object.keys(CreateMode) as CreateModeName[];

export function toBytes(data: Data | null | undefined, what = "data"): Uint8Array {
  if (data === undefined || data === null) return EMPTY;
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return data;
  throw new ZkArgumentError(`${what} must be a Uint8Array (or Buffer) or a string`);
}

export function checkVersion(version: unknown): number {
  if (version === undefined) return -1;
  if (!Number.isInteger(version) || (version as number) < -1 || (version as number) > 0x7fffffff) {
    throw new ZkArgumentError(
      `version must be an integer from -1 (any) to 2147483647, got ${describeValue(version)}`,
    );
  }
  return version as number;
}

/** Validates a path and maps it into the chroot. */
export function serverPath(chroot: string, path: unknown, sequential = false): string {
  return toServerPath(chroot, validatePath(path, sequential));
}

export function isSequential(mode: CreateModeName): boolean {
  return (
    mode === "persistentSequential" ||
    mode === "ephemeralSequential" ||
    mode === "persistentSequentialWithTTL"
  );
}

export function isTtlMode(mode: CreateModeName): boolean {
  return mode === "persistentWithTTL" || mode === "persistentSequentialWithTTL";
}

/** A create as the wire wants it: opcode create2 (reply with Stat), createContainer or createTTL. */
export function buildCreate(
  chroot: string,
  path: string,
  data: Data | null | undefined,
  options: CreateOptions = {},
): MultiOp & { type: typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL } {
  const mode = options.mode ?? "persistent";
  if (!modeNames.includes(mode)) {
    throw new ZkArgumentError(`unknown create mode "${String(mode)}"; one of ${modeNames.join(", ")}`);
  }
  const p = serverPath(chroot, path, isSequential(mode));
  const acl: ACL[] = options.acl === undefined ? DEFAULT_ACL : validateAcl(options.acl);
  const request: CreateRequest = { path: p, data: toBytes(data), acl, flags: CreateMode[mode] };
  if (isTtlMode(mode)) {
    const ttl = options.ttl;
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL) {
      throw new ZkArgumentError(`mode ${mode} needs ttl, an integer number of ms from 1 to ${MAX_TTL}`);
    }
    return { type: OpCode.createTTL, request: { ...request, ttl: BigInt(ttl) } satisfies CreateTTLRequest };
  }
  if (options.ttl !== undefined) {
    throw new ZkArgumentError(
      `ttl is only for the TTL modes (persistentWithTTL, persistentSequentialWithTTL), not ${mode}`,
    );
  }
  return { type: mode === "container" ? OpCode.createContainer : OpCode.create2, request };
}

export function buildDelete(
  chroot: string,
  path: string,
  version?: number,
): Extract<MultiOp, { type: typeof OpCode.delete }> {
  return { type: OpCode.delete, request: { path: serverPath(chroot, path), version: checkVersion(version) } };
}

export function buildSetData(
  chroot: string,
  path: string,
  data: Data,
  version?: number,
): Extract<MultiOp, { type: typeof OpCode.setData }> {
  return {
    type: OpCode.setData,
    request: { path: serverPath(chroot, path), data: toBytes(data), version: checkVersion(version) },
  };
}

export function buildCheck(chroot: string, path: string, version: number): MultiOp {
  if (version === undefined) throw new ZkArgumentError("check needs a version");
  return { type: OpCode.check, request: { path: serverPath(chroot, path), version: checkVersion(version) } };
}
