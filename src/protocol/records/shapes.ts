/**
 * Record shapes that many operations share. ZooKeeper's grammar declares each request and response as
 * its own class, but a dozen of them are the same few fields under another name (a path; a path and a
 * watch flag; a path and an int; a Stat; a SASL token). Each shape is written once here and named per
 * record in the operation's file, whose header keeps the record's own Jute grammar.
 */
import { type JuteRecord, sizeOfBuffer, sizeOfUstring, sizeOfUstringVector } from "../jute.js";
import { STAT_SIZE, Stat } from "./stat.js";

/** `{ ustring <key>; }` */
export function stringRecord<K extends string>(name: string, key: K): JuteRecord<Record<K, string | null>> {
  return {
    name,
    fields: [[key, "ustring"]],
    size: (v) => sizeOfUstring(v[key]),
    write(w, v) {
      w.ustring(v[key]);
    },
    read: (r) => ({ [key]: r.ustring() }) as Record<K, string | null>,
  };
}

export interface PathWatch {
  path: string | null;
  watch: boolean;
}

/** `{ ustring path; boolean watch; }` */
export function pathWatchRecord(name: string): JuteRecord<PathWatch> {
  return {
    name,
    fields: [
      ["path", "ustring"],
      ["watch", "boolean"],
    ],
    size: (v) => sizeOfUstring(v.path) + 1,
    write(w, v) {
      w.ustring(v.path);
      w.boolean(v.watch);
    },
    read: (r) => ({ path: r.ustring(), watch: r.boolean() }),
  };
}

/** `{ ustring path; int <key>; }` */
export function pathIntRecord<K extends string>(
  name: string,
  key: K,
): JuteRecord<{ path: string | null } & Record<K, number>> {
  return {
    name,
    fields: [
      ["path", "ustring"],
      [key, "int"],
    ],
    size: (v) => sizeOfUstring(v.path) + 4,
    write(w, v) {
      w.ustring(v.path);
      w.int(v[key]);
    },
    read: (r) => ({ path: r.ustring(), [key]: r.int() }) as { path: string | null } & Record<K, number>,
  };
}

/** `{ org.apache.zookeeper.data.Stat stat; }` */
export function statRecord(name: string): JuteRecord<{ stat: Stat }> {
  return {
    name,
    fields: [["stat", Stat]],
    size: () => STAT_SIZE,
    write(w, v) {
      Stat.write(w, v.stat);
    },
    read: (r) => ({ stat: Stat.read(r) }),
  };
}

/** `{ buffer token; }` */
export function tokenRecord(name: string): JuteRecord<{ token: Uint8Array | null }> {
  return {
    name,
    fields: [["token", "buffer"]],
    size: (v) => sizeOfBuffer(v.token),
    write(w, v) {
      w.buffer(v.token);
    },
    read: (r) => ({ token: r.buffer() }),
  };
}

/** `{ vector<ustring> <key>; }` */
export function stringVectorRecord<K extends string>(
  name: string,
  key: K,
): JuteRecord<Record<K, string[] | null>> {
  return {
    name,
    fields: [[key, { vector: "ustring" }]],
    size: (v) => sizeOfUstringVector(v[key]),
    write(w, v) {
      w.ustringVector(v[key]);
    },
    read: (r) => ({ [key]: r.ustringVector() }) as Record<K, string[] | null>,
  };
}

/** `{ int <key>; }` */
export function intRecord<K extends string>(name: string, key: K): JuteRecord<Record<K, number>> {
  return {
    name,
    fields: [[key, "int"]],
    size: () => 4,
    write(w, v) {
      w.int(v[key]);
    },
    read: (r) => ({ [key]: r.int() }) as Record<K, number>,
  };
}
