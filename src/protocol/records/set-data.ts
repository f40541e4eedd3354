/**
 * module org.apache.zookeeper.proto
 * class SetDataRequest {
 *     ustring path;
 *     buffer data;
 *     int version;
 * }
 * class SetDataResponse {
 *     org.apache.zookeeper.data.Stat stat;
 * }
 */
import { type JuteRecord, sizeOfBuffer, sizeOfUstring } from "../jute.js";
import { statRecord } from "./shapes.js";
import type { Stat } from "./stat.js";

export interface SetDataRequest {
  path: string | null;
  data: Uint8Array | null;
  version: number;
}

export const SetDataRequest: JuteRecord<SetDataRequest> = {
  name: "SetDataRequest",
  fields: [
    ["path", "ustring"],
    ["data", "buffer"],
    ["version", "int"],
  ],
  size: (v) => sizeOfUstring(v.path) + sizeOfBuffer(v.data) + 4,
  write(w, v) {
    w.ustring(v.path);
    w.buffer(v.data);
    w.int(v.version);
  },
  read: (r) => ({ path: r.ustring(), data: r.buffer(), version: r.int() }),
};

export interface SetDataResponse {
  stat: Stat;
}
export const SetDataResponse = statRecord("SetDataResponse");
