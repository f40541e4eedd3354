/**
 * module org.apache.zookeeper.proto
 * class RequestHeader {
 *     int xid;
 *     int type;
 * }
 * class ReplyHeader {
 *     int xid;
 *     long zxid;
 *     int err;
 * }
 * class MultiHeader {
 *     int type;
 *     boolean done;
 *     int err;
 * }
 * class ErrorResponse {
 *     int err;
 * }
 */
import type { JuteRecord } from "../jute.js";

export interface RequestHeader {
  xid: number;
  type: number;
}

export const REQUEST_HEADER_SIZE = 8;

export const RequestHeader: JuteRecord<RequestHeader> = {
  name: "RequestHeader",
  fields: [
    ["xid", "int"],
    ["type", "int"],
  ],
  size: () => REQUEST_HEADER_SIZE,
  write(w, v) {
    w.int(v.xid);
    w.int(v.type);
  },
  read: (r) => ({ xid: r.int(), type: r.int() }),
};

export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  err: number;
}

export const REPLY_HEADER_SIZE = 16;

export const ReplyHeader: JuteRecord<ReplyHeader> = {
  name: "ReplyHeader",
  fields: [
    ["xid", "int"],
    ["zxid", "long"],
    ["err", "int"],
  ],
  size: () => REPLY_HEADER_SIZE,
  write(w, v) {
    w.int(v.xid);
    w.long(v.zxid);
    w.int(v.err);
  },
  read: (r) => ({ xid: r.int(), zxid: r.long(), err: r.int() }),
};

/** Precedes each operation of a multi request and each result of its reply; `done` ends the list. */
export interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}

export const MULTI_HEADER_SIZE = 9;

export const MultiHeader: JuteRecord<MultiHeader> = {
  name: "MultiHeader",
  fields: [
    ["type", "int"],
    ["done", "boolean"],
    ["err", "int"],
  ],
  size: () => MULTI_HEADER_SIZE,
  write(w, v) {
    w.int(v.type);
    w.boolean(v.done);
    w.int(v.err);
  },
  read: (r) => ({ type: r.int(), done: r.boolean(), err: r.int() }),
};

/** The body of a failed operation inside a multi reply. */
export interface ErrorResponse {
  err: number;
}

export const ErrorResponse: JuteRecord<ErrorResponse> = {
  name: "ErrorResponse",
  fields: [["err", "int"]],
  size: () => 4,
  write(w, v) {
    w.int(v.err);
  },
  read: (r) => ({ err: r.int() }),
};
