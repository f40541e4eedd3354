/**
 * module org.apache.zookeeper.proto
 * class GetSASLRequest {
 *     buffer token;
 * }
 * class SetSASLRequest {
 *     buffer token;
 * }
 * class SetSASLResponse {
 *     buffer token;
 * }
 *
 * One SASL round: the client sends its token in a GetSASLRequest (opcode sasl), the server answers with
 * a SetSASLResponse carrying its challenge. SetSASLRequest is the server's side of the same exchange.
 */
import { tokenRecord } from "./shapes.js";

export interface GetSASLRequest {
  token: Uint8Array | null;
}
export const GetSASLRequest = tokenRecord("GetSASLRequest");

export interface SetSASLRequest {
  token: Uint8Array | null;
}
export const SetSASLRequest = tokenRecord("SetSASLRequest");

export interface SetSASLResponse {
  token: Uint8Array | null;
}
export const SetSASLResponse = tokenRecord("SetSASLResponse");
