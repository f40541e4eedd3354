/**
 * module org.apache.zookeeper.proto
 * class CheckVersionRequest {
 *     ustring path;
 *     int version;
 * }
 *
 * Only meaningful inside a multi (opcode check): the transaction fails unless the node has this version.
 */
import { pathIntRecord } from "./shapes.js";

export interface CheckVersionRequest {
  path: string | null;
  version: number;
}
export const CheckVersionRequest = pathIntRecord("CheckVersionRequest", "version");
