/**
 * module org.apache.zookeeper.proto
 * class SyncRequest {
 *     ustring path;
 * }
 * class SyncResponse {
 *     ustring path;
 * }
 */
import { stringRecord } from "./shapes.js";

export interface SyncRequest {
  path: string | null;
}
export const SyncRequest = stringRecord("SyncRequest", "path");

export interface SyncResponse {
  path: string | null;
}
export const SyncResponse = stringRecord("SyncResponse", "path");
