/**
 * module org.apache.zookeeper.proto
 * class WhoAmIResponse {
 *     vector<org.apache.zookeeper.data.ClientInfo> clientInfo;
 * }
 *
 * 3.7+: the identities the server has authenticated this session as. The request has no body.
 */
import { type JuteRecord, sizeOfRecordVector } from "../jute.js";
import { ClientInfo } from "./client-info.js";

export interface WhoAmIResponse {
  clientInfo: ClientInfo[] | null;
}

/** A ClientInfo is at least two null string lengths. */
const CLIENT_INFO_MIN_SIZE = 8;

export const WhoAmIResponse: JuteRecord<WhoAmIResponse> = {
  name: "WhoAmIResponse",
  fields: [["clientInfo", { vector: ClientInfo }]],
  size: (v) => sizeOfRecordVector(ClientInfo, v.clientInfo),
  write(w, v) {
    w.recordVector(ClientInfo, v.clientInfo);
  },
  read: (r) => ({ clientInfo: r.recordVector(ClientInfo, CLIENT_INFO_MIN_SIZE) }),
};
