/**
 * module org.apache.zookeeper.proto
 * class GetChildrenRequest {
 *     ustring path;
 *     boolean watch;
 * }
 * class GetChildrenResponse {
 *     vector<ustring> children;
 * }
 * class GetChildren2Request {
 *     ustring path;
 *     boolean watch;
 * }
 * class GetChildren2Response {
 *     vector<ustring> children;
 *     org.apache.zookeeper.data.Stat stat;
 * }
 */
import { type JuteRecord, sizeOfUstringVector } from "../jute.js";
import { type PathWatch, pathWatchRecord, stringVectorRecord } from "./shapes.js";
import { STAT_SIZE, Stat } from "./stat.js";

export type GetChildrenRequest = PathWatch;
export const GetChildrenRequest = pathWatchRecord("GetChildrenRequest");

export interface GetChildrenResponse {
  children: string[] | null;
}
export const GetChildrenResponse = stringVectorRecord("GetChildrenResponse", "children");

export type GetChildren2Request = PathWatch;
export const GetChildren2Request = pathWatchRecord("GetChildren2Request");

export interface GetChildren2Response {
  children: string[] | null;
  stat: Stat;
}

export const GetChildren2Response: JuteRecord<GetChildren2Response> = {
  name: "GetChildren2Response",
  fields: [
    ["children", { vector: "ustring" }],
    ["stat", Stat],
  ],
  size: (v) => sizeOfUstringVector(v.children) + STAT_SIZE,
  write(w, v) {
    w.ustringVector(v.children);
    Stat.write(w, v.stat);
  },
  read: (r) => ({ children: r.ustringVector(), stat: Stat.read(r) }),
};
