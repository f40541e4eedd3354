/**
 * ACLs: the well-known lists, digest identities, and the format checks made before sending.
 */
import { createHash } from "node:crypto";
import { ZkArgumentError } from "../errors.js";
import { Perms } from "../protocol/constants.js";
import type { ACL } from "../protocol/records/acl.js";

export { Perms };

/** An ACL entry as callers write it. */
export interface AclEntry {
  perms: number;
  id: { scheme: string; id: string };
}

export const Ids = {
  /** Anyone may do anything. */
  ANYONE_ID_UNSAFE: { scheme: "world", id: "anyone" },
  /** The identities the creating connection authenticated with (addAuth). */
  AUTH_IDS: { scheme: "auth", id: "" },
} as const;

/** Anyone may do anything (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
export const OPEN_ACL_UNSAFE: readonly AclEntry[] = Object.freeze([
  { perms: Perms.ALL, id: Ids.ANYONE_ID_UNSAFE },
]);
/** Everything for the creator's authenticated identities (needs addAuth first). */
export const CREATOR_ALL_ACL: readonly AclEntry[] = Object.freeze([{ perms: Perms.ALL, id: Ids.AUTH_IDS }]);
/** Anyone may read. */
export const READ_ACL_UNSAFE: readonly AclEntry[] = Object.freeze([
  { perms: Perms.READ, id: Ids.ANYONE_ID_UNSAFE },
]);

/**
 * The id the digest scheme stores for `user:password`: `user:base64(sha1("user:password"))`, as the
 * server's DigestAuthenticationProvider computes it.
 */
export function digestId(user: string, password: string): string {
  const hash = createHash("sha1").update(`${user}:${password}`, "utf8").digest("base64");
  return `${user}:${hash}`;
}

/** An ACL entry granting `perms` to the digest identity `user:password`. */
export function digestAcl(user: string, password: string, perms: number = Perms.ALL): AclEntry {
  return { perms, id: { scheme: "digest", id: digestId(user, password) } };
}

/** Checks the shape of an ACL list; the server still judges schemes and ids (InvalidACL). */
export function validateAcl(acl: unknown): ACL[] {
  if (!Array.isArray(acl) || acl.length === 0) {
    throw new ZkArgumentError("acl must be a non-empty array of { perms, id: { scheme, id } }");
  }
  return acl.map((entry, i) => {
    const e = entry as AclEntry;
    if (typeof e !== "object" || e === null) throw new ZkArgumentError(`acl[${i}] must be an object`);
    if (!Number.isInteger(e.perms) || e.perms < 0 || e.perms > Perms.ALL) {
      throw new ZkArgumentError(
        `acl[${i}].perms must be an integer from 0 to ${Perms.ALL} (a Perms combination)`,
      );
    }
    if (
      typeof e.id !== "object" ||
      e.id === null ||
      typeof e.id.scheme !== "string" ||
      typeof e.id.id !== "string"
    ) {
      throw new ZkArgumentError(`acl[${i}].id must be { scheme: string, id: string }`);
    }
    if (e.id.scheme === "") throw new ZkArgumentError(`acl[${i}].id.scheme must not be empty`);
    return { perms: e.perms, id: { scheme: e.id.scheme, id: e.id.id } };
  });
}
