/**
 * module org.apache.zookeeper.proto
 * class ExistsRequest {
 *     ustring path;
 *     boolean watch;
 * }
 * class ExistsResponse {
 *     org.apache.zookeeper.data.Stat stat;
 * }
 *
 * A missing node is the NoNode error with no body, not an ExistsResponse.
 */

import { type PathWatch, pathWatchRecord, statRecord } from "./shapes.js";
import type { Stat } from "./stat.js";

export type ExistsRequest = PathWatch;
export const ExistsRequest = pathWatchRecord("ExistsRequest");

export interface ExistsResponse {
  stat: Stat;
}
export const ExistsResponse = statRecord("ExistsResponse");
