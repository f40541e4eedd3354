/**
 * module org.apache.zookeeper.data
 * class ACL {
 *     int perms;
 *     Id id;
 * }
 */
import type { JuteRecord } from "../jute.js";
import { Id } from "./id.js";

export interface ACL {
  perms: number;
  id: Id;
}

/** The smallest encoded ACL (perms and two null strings), to bound a vector's count by the bytes left. */
export const ACL_MIN_SIZE = 12;

export const ACL: JuteRecord<ACL> = {
  name: "ACL",
  fields: [
    ["perms", "int"],
    ["id", Id as JuteRecord<unknown>],
  ],
  size: (v) => 4 + Id.size(v.id),
  write(w, v) {
    w.int(v.perms);
    Id.write(w, v.id);
  },
  read: (r) => ({ perms: r.int(), id: Id.read(r) }),
};
