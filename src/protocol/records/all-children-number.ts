/**
 * module org.apache.zookeeper.proto
 * class GetAllChildrenNumberRequest {
 *     ustring path;
 * }
 * class GetAllChildrenNumberResponse {
 *     int totalNumber;
 * }
 *
 * 3.6+: the number of all descendants of a node.
 */
import { intRecord, stringRecord } from "./shapes.js";

export interface GetAllChildrenNumberRequest {
  path: string | null;
}
export const GetAllChildrenNumberRequest = stringRecord("GetAllChildrenNumberRequest", "path");

export interface GetAllChildrenNumberResponse {
  totalNumber: number;
}
export const GetAllChildrenNumberResponse = intRecord("GetAllChildrenNumberResponse", "totalNumber");
