/**
 * module org.apache.zookeeper.data
 * class Id {
 *     ustring scheme;
 *     ustring id;
 * }
 */
import { type JuteRecord, sizeOfUstring } from "../jute.js";

export interface Id {
  scheme: string | null;
  id: string | null;
}

export const Id: JuteRecord<Id> = {
  name: "Id",
  fields: [
    ["scheme", "ustring"],
    ["id", "ustring"],
  ],
  size: (v) => sizeOfUstring(v.scheme) + sizeOfUstring(v.id),
  write(w, v) {
    w.ustring(v.scheme);
    w.ustring(v.id);
  },
  read: (r) => ({ scheme: r.ustring(), id: r.ustring() }),
};
