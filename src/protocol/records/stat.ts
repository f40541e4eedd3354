/**
 * module org.apache.zookeeper.data
 * class Stat {
 *     long czxid;          // created zxid
 *     long mzxid;          // last modified zxid
 *     long ctime;          // created (ms since the epoch)
 *     long mtime;          // last modified
 *     int version;         // data version
 *     int cversion;        // child version
 *     int aversion;        // ACL version
 *     long ephemeralOwner; // owning session id if ephemeral, 0 otherwise
 *     int dataLength;
 *     int numChildren;
 *     long pzxid;          // zxid of the last change to the children
 * }
 */
import type { JuteRecord } from "../jute.js";

export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export const STAT_SIZE = 6 * 8 + 5 * 4;

export const Stat: JuteRecord<Stat> = {
  name: "Stat",
  fields: [
    ["czxid", "long"],
    ["mzxid", "long"],
    ["ctime", "long"],
    ["mtime", "long"],
    ["version", "int"],
    ["cversion", "int"],
    ["aversion", "int"],
    ["ephemeralOwner", "long"],
    ["dataLength", "int"],
    ["numChildren", "int"],
    ["pzxid", "long"],
  ],
  size: () => STAT_SIZE,
  write(w, v) {
    w.long(v.czxid);
    w.long(v.mzxid);
    w.long(v.ctime);
    w.long(v.mtime);
    w.int(v.version);
    w.int(v.cversion);
    w.int(v.aversion);
    w.long(v.ephemeralOwner);
    w.int(v.dataLength);
    w.int(v.numChildren);
    w.long(v.pzxid);
  },
  read: (r) => ({
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  }),
};
