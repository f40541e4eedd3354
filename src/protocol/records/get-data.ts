/**
 * module org.apache.zookeeper.proto
 * class GetDataRequest {
 *     ustring path;
 *     boolean watch;
 * }
 * class GetDataResponse {
 *     buffer data;
 *     org.apache.zookeeper.data.Stat stat;
 * }
 */
import { type JuteRecord, sizeOfBuffer } from "../jute.js";
import { type PathWatch, pathWatchRecord } from "./shapes.js";
import { STAT_SIZE, Stat } from "./stat.js";

export type GetDataRequest = PathWatch;
export const GetDataRequest = pathWatchRecord("GetDataRequest");

export interface GetDataResponse {
  data: Uint8Array | null;
  stat: Stat;
}

export const GetDataResponse: JuteRecord<GetDataResponse> = {
  name: "GetDataResponse",
  fields: [
    ["data", "buffer"],
    ["stat", Stat],
  ],
  size: (v) => sizeOfBuffer(v.data) + STAT_SIZE,
  write(w, v) {
    w.buffer(v.data);
    Stat.write(w, v.stat);
  },
  read: (r) => ({ data: r.buffer(), stat: Stat.read(r) }),
};
