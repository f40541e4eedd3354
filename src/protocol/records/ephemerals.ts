/**
 * module org.apache.zookeeper.proto
 * class GetEphemeralsRequest {
 *     ustring prefixPath;
 * }
 * class GetEphemeralsResponse {
 *     vector<ustring> ephemerals;
 * }
 *
 * 3.6+: the session's own ephemeral nodes whose path starts with prefixPath (full paths).
 */
import { stringRecord, stringVectorRecord } from "./shapes.js";

export interface GetEphemeralsRequest {
  prefixPath: string | null;
}
export const GetEphemeralsRequest = stringRecord("GetEphemeralsRequest", "prefixPath");

export interface GetEphemeralsResponse {
  ephemerals: string[] | null;
}
export const GetEphemeralsResponse = stringVectorRecord("GetEphemeralsResponse", "ephemerals");
