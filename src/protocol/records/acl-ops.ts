/**
 * module org.apache.zookeeper.proto
 * class GetACLRequest {
 *     ustring path;
 * }
 * class GetACLResponse {
 *     vector<org.apache.zookeeper.data.ACL> acl;
 *     org.apache.zookeeper.data.Stat stat;
 * }
 * class SetACLRequest {
 *     ustring path;
 *     vector<org.apache.zookeeper.data.ACL> acl;
 *     int version;
 * }
 * class SetACLResponse {
 *     org.apache.zookeeper.data.Stat stat;
 * }
 */
import { type JuteRecord, sizeOfRecordVector, sizeOfUstring } from "../jute.js";
import { ACL, ACL_MIN_SIZE } from "./acl.js";
import { statRecord, stringRecord } from "./shapes.js";
import { STAT_SIZE, Stat } from "./stat.js";

export interface GetACLRequest {
  path: string | null;
}
export const GetACLRequest = stringRecord("GetACLRequest", "path");

export interface GetACLResponse {
  acl: ACL[] | null;
  stat: Stat;
}

export const GetACLResponse: JuteRecord<GetACLResponse> = {
  name: "GetACLResponse",
  fields: [
    ["acl", { vector: ACL }],
    ["stat", Stat],
  ],
  size: (v) => sizeOfRecordVector(ACL, v.acl) + STAT_SIZE,
  write(w, v) {
    w.recordVector(ACL, v.acl);
    Stat.write(w, v.stat);
  },
  read: (r) => ({ acl: r.recordVector(ACL, ACL_MIN_SIZE), stat: Stat.read(r) }),
};

export interface SetACLRequest {
  path: string | null;
  acl: ACL[] | null;
  version: number;
}

export const SetACLRequest: JuteRecord<SetACLRequest> = {
  name: "SetACLRequest",
  fields: [
    ["path", "ustring"],
    ["acl", { vector: ACL }],
    ["version", "int"],
  ],
  size: (v) => sizeOfUstring(v.path) + sizeOfRecordVector(ACL, v.acl) + 4,
  write(w, v) {
    w.ustring(v.path);
    w.recordVector(ACL, v.acl);
    w.int(v.version);
  },
  read: (r) => ({ path: r.ustring(), acl: r.recordVector(ACL, ACL_MIN_SIZE), version: r.int() }),
};

export interface SetACLResponse {
  stat: Stat;
}
export const SetACLResponse = statRecord("SetACLResponse");
