/**
 * Operation descriptors: for each request a client sends, its opcode, the record of its request body and
 * the record of its reply body. A request is encoded from its descriptor and a value of the request's
 * type, and its reply decoded with the same descriptor, so the reply's type follows from the request's
 * (the session's `submit` returns it) and nobody casts.
 *
 * `request` is null for the requests that have no body after the header (whoAmI, closeSession, ping);
 * `response` is null for the replies that have none (delete, the watch operations, auth, SetWatches),
 * whose value is then `undefined`.
 *
 * The frame is the one the server reads (`ClientCnxn.Packet.createBB`):
 *
 *   int len | int xid | int type (the opcode) | request record
 */
import { OpCode } from "./constants.js";
import { type JuteRecord, JuteWriter } from "./jute.js";
import { GetACLRequest, GetACLResponse, SetACLRequest, SetACLResponse } from "./records/acl-ops.js";
import { GetAllChildrenNumberRequest, GetAllChildrenNumberResponse } from "./records/all-children-number.js";
import { AuthPacket } from "./records/auth.js";
import { Create2Response, CreateRequest, CreateTTLRequest } from "./records/create.js";
import { DeleteRequest } from "./records/delete.js";
import { GetEphemeralsRequest, GetEphemeralsResponse } from "./records/ephemerals.js";
import { ExistsRequest, ExistsResponse } from "./records/exists.js";
import { GetChildren2Request, GetChildren2Response } from "./records/get-children.js";
import { GetDataRequest, GetDataResponse } from "./records/get-data.js";
import { MultiRequest, MultiResponse } from "./records/multi.js";
import { ReconfigRequest } from "./records/reconfig.js";
import { GetSASLRequest, SetSASLResponse } from "./records/sasl.js";
import { SetDataRequest, SetDataResponse } from "./records/set-data.js";
import { SetWatches, SetWatches2 } from "./records/set-watches.js";
import { SyncRequest, SyncResponse } from "./records/sync.js";
import { AddWatchRequest, CheckWatchesRequest, RemoveWatchesRequest } from "./records/watches.js";
import { WhoAmIResponse } from "./records/who-am-i.js";

export interface Operation<Req, Res> {
  /** The reference client's name for the opcode, e.g. `getData`. */
  readonly name: string;
  readonly opcode: number;
  readonly request: JuteRecord<Req> | null;
  readonly response: JuteRecord<Res> | null;
}

/** An operation of any types, where only its opcode and records are read (the session's queue). */
// biome-ignore lint/suspicious/noExplicitAny: the queue holds operations of every request and reply type
export type AnyOperation = Operation<any, any>;

function op<Req, Res>(
  name: keyof typeof OpCode,
  request: JuteRecord<Req> | null,
  response: JuteRecord<Res> | null,
): Operation<Req, Res> {
  return { name, opcode: OpCode[name], request, response };
}

export const Operations = {
  create2: op("create2", CreateRequest, Create2Response),
  createContainer: op("createContainer", CreateRequest, Create2Response),
  createTTL: op("createTTL", CreateTTLRequest, Create2Response),
  delete: op<DeleteRequest, void>("delete", DeleteRequest, null),
  exists: op("exists", ExistsRequest, ExistsResponse),
  getData: op("getData", GetDataRequest, GetDataResponse),
  setData: op("setData", SetDataRequest, SetDataResponse),
  getChildren2: op("getChildren2", GetChildren2Request, GetChildren2Response),
  getAllChildrenNumber: op("getAllChildrenNumber", GetAllChildrenNumberRequest, GetAllChildrenNumberResponse),
  getEphemerals: op("getEphemerals", GetEphemeralsRequest, GetEphemeralsResponse),
  getACL: op("getACL", GetACLRequest, GetACLResponse),
  setACL: op("setACL", SetACLRequest, SetACLResponse),
  sync: op("sync", SyncRequest, SyncResponse),
  multi: op("multi", MultiRequest, MultiResponse),
  multiRead: op("multiRead", MultiRequest, MultiResponse),
  reconfig: op("reconfig", ReconfigRequest, GetDataResponse),
  whoAmI: op<null, WhoAmIResponse>("whoAmI", null, WhoAmIResponse),
  addWatch: op<AddWatchRequest, void>("addWatch", AddWatchRequest, null),
  removeWatches: op<RemoveWatchesRequest, void>("removeWatches", RemoveWatchesRequest, null),
  checkWatches: op<CheckWatchesRequest, void>("checkWatches", CheckWatchesRequest, null),
  closeSession: op<null, void>("closeSession", null, null),
  ping: op<null, void>("ping", null, null),
  auth: op<AuthPacket, void>("auth", AuthPacket, null),
  setWatches: op<SetWatches, void>("setWatches", SetWatches, null),
  setWatches2: op<SetWatches2, void>("setWatches2", SetWatches2, null),
  sasl: op("sasl", GetSASLRequest, SetSASLResponse),
} as const;

/** Bytes of a frame header: length, xid, opcode. */
const HEADER = 12;

/**
 * Encodes a request frame: length, xid (0: patched in when written), opcode, body. Allocated once, at
 * its exact size.
 */
export function encodeRequest<Req>(operation: Operation<Req, unknown>, value: Req, xid = 0): Buffer {
  const size = requestSize(operation, value);
  const w = JuteWriter.alloc(size);
  writeRequest(w, operation, value, size, xid);
  return w.buf;
}

/** The bytes of a request's frame, its length prefix included. */
export function requestSize<Req>(operation: Operation<Req, unknown>, value: Req): number {
  const record = operation.request;
  return HEADER + (record === null ? 0 : record.size(value));
}

/**
 * Writes a request's frame of `size` bytes (requestSize's) at the writer's position. Throws, having
 * written past the frame, if the record's write disagrees with its size: a bug, never silently a frame
 * the server would misread.
 */
export function writeRequest<Req>(
  w: JuteWriter,
  operation: Operation<Req, unknown>,
  value: Req,
  size: number,
  xid: number,
): void {
  const start = w.pos;
  w.int(size - 4);
  w.int(xid);
  w.int(operation.opcode);
  if (operation.request !== null) operation.request.write(w, value);
  if (w.pos - start !== size) {
    throw new Error(`${operation.name}: wrote ${w.pos - start} bytes of a ${size}-byte frame`);
  }
}
