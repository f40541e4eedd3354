/**
 * module org.apache.zookeeper.proto
 * class CreateRequest {
 *     ustring path;
 *     buffer data;
 *     vector<org.apache.zookeeper.data.ACL> acl;
 *     int flags;
 * }
 * class CreateTTLRequest {
 *     ustring path;
 *     buffer data;
 *     vector<org.apache.zookeeper.data.ACL> acl;
 *     int flags;
 *     long ttl;
 * }
 * class CreateResponse {
 *     ustring path;
 * }
 * class Create2Response {
 *     ustring path;
 *     org.apache.zookeeper.data.Stat stat;
 * }
 *
 * CreateRequest serves the create, create2 and createContainer opcodes; CreateTTLRequest the createTTL
 * opcode (server 3.5.3+, with zookeeper.extendedTypesEnabled).
 */
import { type JuteRecord, sizeOfBuffer, sizeOfRecordVector, sizeOfUstring } from "../jute.js";
import { ACL, ACL_MIN_SIZE } from "./acl.js";
import { stringRecord } from "./shapes.js";
import { STAT_SIZE, Stat } from "./stat.js";

export interface CreateRequest {
  path: string | null;
  data: Uint8Array | null;
  acl: ACL[] | null;
  flags: number;
}

export const CreateRequest: JuteRecord<CreateRequest> = {
  name: "CreateRequest",
  fields: [
    ["path", "ustring"],
    ["data", "buffer"],
    ["acl", { vector: ACL }],
    ["flags", "int"],
  ],
  size: (v) => sizeOfUstring(v.path) + sizeOfBuffer(v.data) + sizeOfRecordVector(ACL, v.acl) + 4,
  write(w, v) {
    w.ustring(v.path);
    w.buffer(v.data);
    w.recordVector(ACL, v.acl);
    w.int(v.flags);
  },
  read: (r) => ({
    path: r.ustring(),
    data: r.buffer(),
    acl: r.recordVector(ACL, ACL_MIN_SIZE),
    flags: r.int(),
  }),
};

export interface CreateTTLRequest extends CreateRequest {
  ttl: bigint;
}

export const CreateTTLRequest: JuteRecord<CreateTTLRequest> = {
  name: "CreateTTLRequest",
  fields: [...CreateRequest.fields, ["ttl", "long"]],
  size: (v) => CreateRequest.size(v) + 8,
  write(w, v) {
    CreateRequest.write(w, v);
    w.long(v.ttl);
  },
  read: (r) => ({
    path: r.ustring(),
    data: r.buffer(),
    acl: r.recordVector(ACL, ACL_MIN_SIZE),
    flags: r.int(),
    ttl: r.long(),
  }),
};

export interface CreateResponse {
  path: string | null;
}
export const CreateResponse = stringRecord("CreateResponse", "path");

export interface Create2Response {
  path: string | null;
  stat: Stat;
}

export const Create2Response: JuteRecord<Create2Response> = {
  name: "Create2Response",
  fields: [
    ["path", "ustring"],
    ["stat", Stat],
  ],
  size: (v) => sizeOfUstring(v.path) + STAT_SIZE,
  write(w, v) {
    w.ustring(v.path);
    Stat.write(w, v.stat);
  },
  read: (r) => ({ path: r.ustring(), stat: Stat.read(r) }),
};
