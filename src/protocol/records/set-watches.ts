/**
 * module org.apache.zookeeper.proto
 * class SetWatches {
 *     long relativeZxid;
 *     vector<ustring> dataWatches;
 *     vector<ustring> existWatches;
 *     vector<ustring> childWatches;
 * }
 * class SetWatches2 {
 *     long relativeZxid;
 *     vector<ustring> dataWatches;
 *     vector<ustring> existWatches;
 *     vector<ustring> childWatches;
 *     vector<ustring> persistentWatches;
 *     vector<ustring> persistentRecursiveWatches;
 * }
 *
 * Sent after reconnecting to re-register the session's watches; the server fires at once those whose
 * node changed after relativeZxid (the last zxid the client saw). SetWatches2 (3.6+) adds the
 * persistent kinds.
 */
import { type JuteRecord, sizeOfUstringVector } from "../jute.js";

export interface SetWatches {
  relativeZxid: bigint;
  dataWatches: string[] | null;
  existWatches: string[] | null;
  childWatches: string[] | null;
}

export const SetWatches: JuteRecord<SetWatches> = {
  name: "SetWatches",
  fields: [
    ["relativeZxid", "long"],
    ["dataWatches", { vector: "ustring" }],
    ["existWatches", { vector: "ustring" }],
    ["childWatches", { vector: "ustring" }],
  ],
  size: (v) =>
    8 +
    sizeOfUstringVector(v.dataWatches) +
    sizeOfUstringVector(v.existWatches) +
    sizeOfUstringVector(v.childWatches),
  write(w, v) {
    w.long(v.relativeZxid);
    w.ustringVector(v.dataWatches);
    w.ustringVector(v.existWatches);
    w.ustringVector(v.childWatches);
  },
  read: (r) => ({
    relativeZxid: r.long(),
    dataWatches: r.ustringVector(),
    existWatches: r.ustringVector(),
    childWatches: r.ustringVector(),
  }),
};

export interface SetWatches2 extends SetWatches {
  persistentWatches: string[] | null;
  persistentRecursiveWatches: string[] | null;
}

export const SetWatches2: JuteRecord<SetWatches2> = {
  name: "SetWatches2",
  fields: [
    ...SetWatches.fields,
    ["persistentWatches", { vector: "ustring" }],
    ["persistentRecursiveWatches", { vector: "ustring" }],
  ],
  size: (v) =>
    SetWatches.size(v) +
    sizeOfUstringVector(v.persistentWatches) +
    sizeOfUstringVector(v.persistentRecursiveWatches),
  write(w, v) {
    SetWatches.write(w, v);
    w.ustringVector(v.persistentWatches);
    w.ustringVector(v.persistentRecursiveWatches);
  },
  read: (r) => ({
    relativeZxid: r.long(),
    dataWatches: r.ustringVector(),
    existWatches: r.ustringVector(),
    childWatches: r.ustringVector(),
    persistentWatches: r.ustringVector(),
    persistentRecursiveWatches: r.ustringVector(),
  }),
};
