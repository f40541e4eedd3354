/**
 * module org.apache.zookeeper.proto
 * class ReconfigRequest {
 *     ustring joiningServers;
 *     ustring leavingServers;
 *     ustring newMembers;
 *     long curConfigId;
 * }
 *
 * The reply is a GetDataResponse holding the new configuration (the data of /zookeeper/config).
 * Incremental: joining and/or leaving with newMembers null; non-incremental: newMembers alone.
 * curConfigId -1 means "whatever the current configuration is".
 */
import { type JuteRecord, sizeOfUstring } from "../jute.js";

export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: bigint;
}

export const ReconfigRequest: JuteRecord<ReconfigRequest> = {
  name: "ReconfigRequest",
  fields: [
    ["joiningServers", "ustring"],
    ["leavingServers", "ustring"],
    ["newMembers", "ustring"],
    ["curConfigId", "long"],
  ],
  size: (v) =>
    sizeOfUstring(v.joiningServers) + sizeOfUstring(v.leavingServers) + sizeOfUstring(v.newMembers) + 8,
  write(w, v) {
    w.ustring(v.joiningServers);
    w.ustring(v.leavingServers);
    w.ustring(v.newMembers);
    w.long(v.curConfigId);
  },
  read: (r) => ({
    joiningServers: r.ustring(),
    leavingServers: r.ustring(),
    newMembers: r.ustring(),
    curConfigId: r.long(),
  }),
};
