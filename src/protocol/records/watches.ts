/**
 * module org.apache.zookeeper.proto
 * class AddWatchRequest {
 *     ustring path;
 *     int mode;    // AddWatchMode: 0 persistent, 1 persistent recursive
 * }
 * class CheckWatchesRequest {
 *     ustring path;
 *     int type;    // WatcherType
 * }
 * class RemoveWatchesRequest {
 *     ustring path;
 *     int type;    // WatcherType
 * }
 *
 * None of the three has a reply body. addWatch is 3.6+; checkWatches and removeWatches 3.5+.
 */
import { pathIntRecord } from "./shapes.js";

export interface AddWatchRequest {
  path: string | null;
  mode: number;
}
export const AddWatchRequest = pathIntRecord("AddWatchRequest", "mode");

export interface CheckWatchesRequest {
  path: string | null;
  type: number;
}
export const CheckWatchesRequest = pathIntRecord("CheckWatchesRequest", "type");

export interface RemoveWatchesRequest {
  path: string | null;
  type: number;
}
export const RemoveWatchesRequest = pathIntRecord("RemoveWatchesRequest", "type");
