/**
 * module org.apache.zookeeper.proto
 * class DeleteRequest {
 *     ustring path;
 *     int version;
 * }
 *
 * The reply has no body.
 */
import { pathIntRecord } from "./shapes.js";

export interface DeleteRequest {
  path: string | null;
  version: number;
}
export const DeleteRequest = pathIntRecord("DeleteRequest", "version");
