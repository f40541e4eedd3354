/**
 * The bodies of the multi (transaction) and multiRead opcodes. They are not Jute classes but sequences
 * of them, as the reference `MultiOperationRecord` and `MultiResponse` write them:
 *
 *   request:  ( MultiHeader{type=op, done=false, err=-1}  <op's request record> )*  MultiHeader{-1, true, -1}
 *   response: ( MultiHeader{type=op|-1, done=false, err}  <op's result record> )*   MultiHeader{-1, true, -1}
 *
 * Request records by op: create, create2, createContainer: CreateRequest; createTTL: CreateTTLRequest;
 * delete: DeleteRequest; setData: SetDataRequest; check: CheckVersionRequest; getChildren:
 * GetChildrenRequest; getData: GetDataRequest (the last two only in multiRead).
 * Result records by type: create: CreateResponse; create2: Create2Response; delete, check: nothing;
 * setData: SetDataResponse; getChildren: GetChildrenResponse; getData: GetDataResponse; error (-1):
 * ErrorResponse. When a transaction fails, every result is an error: 0 for the ops before the one that
 * failed, its code for that one, RuntimeInconsistency for the ones after.
 */
import { OpCode } from "../constants.js";
import type { JuteReader, JuteRecord, JuteWriter } from "../jute.js";
import { CheckVersionRequest } from "./check-version.js";
import { Create2Response, CreateRequest, CreateResponse, CreateTTLRequest } from "./create.js";
import { DeleteRequest } from "./delete.js";
import { GetChildrenRequest, GetChildrenResponse } from "./get-children.js";
import { GetDataRequest, GetDataResponse } from "./get-data.js";
import { ErrorResponse, MULTI_HEADER_SIZE, MultiHeader } from "./headers.js";
import { SetDataRequest, SetDataResponse } from "./set-data.js";
import type { PathWatch } from "./shapes.js";
import type { Stat } from "./stat.js";

export type MultiOp =
  | {
      type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer;
      request: CreateRequest;
    }
  | { type: typeof OpCode.createTTL; request: CreateTTLRequest }
  | { type: typeof OpCode.delete; request: DeleteRequest }
  | { type: typeof OpCode.setData; request: SetDataRequest }
  | { type: typeof OpCode.check; request: CheckVersionRequest }
  | { type: typeof OpCode.getChildren; request: PathWatch }
  | { type: typeof OpCode.getData; request: PathWatch };

export type MultiResult =
  | { type: typeof OpCode.create; path: string | null }
  | { type: typeof OpCode.create2; path: string | null; stat: Stat }
  | { type: typeof OpCode.delete }
  | { type: typeof OpCode.check }
  | { type: typeof OpCode.setData; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] | null }
  | { type: typeof OpCode.getData; data: Uint8Array | null; stat: Stat }
  | { type: typeof OpCode.error; err: number };

// biome-ignore lint/suspicious/noExplicitAny: one table for records of different types, keyed by opcode
const requestRecords = new Map<number, JuteRecord<any>>([
  [OpCode.create, CreateRequest],
  [OpCode.create2, CreateRequest],
  [OpCode.createContainer, CreateRequest],
  [OpCode.createTTL, CreateTTLRequest],
  [OpCode.delete, DeleteRequest],
  [OpCode.setData, SetDataRequest],
  [OpCode.check, CheckVersionRequest],
  [OpCode.getChildren, GetChildrenRequest],
  [OpCode.getData, GetDataRequest],
]);

function requestRecord(type: number): JuteRecord<unknown> {
  const rec = requestRecords.get(type);
  if (rec === undefined) throw new TypeError(`opcode ${type} cannot be part of a multi request`);
  return rec;
}

const END: MultiHeader = { type: -1, done: true, err: -1 };

function readHeader(r: JuteReader): MultiHeader {
  return MultiHeader.read(r);
}

export const MultiRequest: JuteRecord<MultiOp[]> = {
  name: "MultiRequest",
  fields: [],
  size(ops) {
    let n = MULTI_HEADER_SIZE;
    for (const op of ops) n += MULTI_HEADER_SIZE + requestRecord(op.type).size(op.request);
    return n;
  },
  write(w: JuteWriter, ops) {
    for (const op of ops) {
      MultiHeader.write(w, { type: op.type, done: false, err: -1 });
      requestRecord(op.type).write(w, op.request);
    }
    MultiHeader.write(w, END);
  },
  read(r: JuteReader) {
    const ops: MultiOp[] = [];
    for (let h = readHeader(r); !h.done; h = readHeader(r)) {
      const rec = requestRecords.get(h.type);
      if (rec === undefined) r.fail(`opcode ${h.type} cannot be part of a multi request`);
      ops.push({ type: h.type, request: rec.read(r) } as MultiOp);
    }
    return ops;
  },
};

export const MultiResponse: JuteRecord<MultiResult[]> = {
  name: "MultiResponse",
  fields: [],
  size(results) {
    let n = MULTI_HEADER_SIZE;
    for (const res of results) {
      n += MULTI_HEADER_SIZE;
      switch (res.type) {
        case OpCode.create:
          n += CreateResponse.size(res);
          break;
        case OpCode.create2:
          n += Create2Response.size(res);
          break;
        case OpCode.setData:
          n += SetDataResponse.size(res);
          break;
        case OpCode.getChildren:
          n += GetChildrenResponse.size(res);
          break;
        case OpCode.getData:
          n += GetDataResponse.size(res);
          break;
        case OpCode.error:
          n += ErrorResponse.size(res);
          break;
      }
    }
    return n;
  },
  write(w, results) {
    for (const res of results) {
      MultiHeader.write(w, { type: res.type, done: false, err: res.type === OpCode.error ? res.err : 0 });
      switch (res.type) {
        case OpCode.create:
          CreateResponse.write(w, res);
          break;
        case OpCode.create2:
          Create2Response.write(w, res);
          break;
        case OpCode.setData:
          SetDataResponse.write(w, res);
          break;
        case OpCode.getChildren:
          GetChildrenResponse.write(w, res);
          break;
        case OpCode.getData:
          GetDataResponse.write(w, res);
          break;
        case OpCode.error:
          ErrorResponse.write(w, res);
          break;
      }
    }
    MultiHeader.write(w, END);
  },
  read(r: JuteReader) {
    const results: MultiResult[] = [];
    for (let h = readHeader(r); !h.done; h = readHeader(r)) {
      switch (h.type) {
        case OpCode.create:
          results.push({ type: OpCode.create, path: CreateResponse.read(r).path });
          break;
        case OpCode.create2:
          results.push({ type: OpCode.create2, ...Create2Response.read(r) });
          break;
        case OpCode.delete:
          results.push({ type: OpCode.delete });
          break;
        case OpCode.check:
          results.push({ type: OpCode.check });
          break;
        case OpCode.setData:
          results.push({ type: OpCode.setData, stat: SetDataResponse.read(r).stat });
          break;
        case OpCode.getChildren:
          results.push({ type: OpCode.getChildren, children: GetChildrenResponse.read(r).children });
          break;
        case OpCode.getData:
          results.push({ type: OpCode.getData, ...GetDataResponse.read(r) });
          break;
        case OpCode.error:
          results.push({ type: OpCode.error, err: ErrorResponse.read(r).err });
          break;
        default:
          r.fail(`result type ${h.type} cannot be part of a multi response`);
      }
    }
    return results;
  },
};
