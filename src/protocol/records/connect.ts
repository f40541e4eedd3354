/**
 * module org.apache.zookeeper.proto
 * class ConnectRequest {
 *     int protocolVersion;
 *     long lastZxidSeen;
 *     int timeOut;
 *     long sessionId;
 *     buffer passwd;
 * }
 * class ConnectResponse {
 *     int protocolVersion;
 *     int timeOut;
 *     long sessionId;
 *     buffer passwd;
 * }
 *
 * Both carry one more byte on the real handshake that the 3.5-3.9 grammar does not declare: `readOnly`
 * (ZOOKEEPER-827, read-only mode). The reference client writes it after the record and reads it only if
 * the server sent it, so here it is optional: written when set, read when a byte remains.
 */
import { type JuteRecord, sizeOfBuffer } from "../jute.js";

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array | null;
  readOnly?: boolean;
}

export const ConnectRequest: JuteRecord<ConnectRequest> = {
  name: "ConnectRequest",
  fields: [
    ["protocolVersion", "int"],
    ["lastZxidSeen", "long"],
    ["timeOut", "int"],
    ["sessionId", "long"],
    ["passwd", "buffer"],
  ],
  size: (v) => 24 + sizeOfBuffer(v.passwd) + (v.readOnly === undefined ? 0 : 1),
  write(w, v) {
    w.int(v.protocolVersion);
    w.long(v.lastZxidSeen);
    w.int(v.timeOut);
    w.long(v.sessionId);
    w.buffer(v.passwd);
    if (v.readOnly !== undefined) w.boolean(v.readOnly);
  },
  read(r) {
    const v: ConnectRequest = {
      protocolVersion: r.int(),
      lastZxidSeen: r.long(),
      timeOut: r.int(),
      sessionId: r.long(),
      passwd: r.buffer(),
    };
    if (r.remaining > 0) v.readOnly = r.boolean();
    return v;
  },
};

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array | null;
  readOnly?: boolean;
}

export const ConnectResponse: JuteRecord<ConnectResponse> = {
  name: "ConnectResponse",
  fields: [
    ["protocolVersion", "int"],
    ["timeOut", "int"],
    ["sessionId", "long"],
    ["passwd", "buffer"],
  ],
  size: (v) => 16 + sizeOfBuffer(v.passwd) + (v.readOnly === undefined ? 0 : 1),
  write(w, v) {
    w.int(v.protocolVersion);
    w.int(v.timeOut);
    w.long(v.sessionId);
    w.buffer(v.passwd);
    if (v.readOnly !== undefined) w.boolean(v.readOnly);
  },
  read(r) {
    const v: ConnectResponse = {
      protocolVersion: r.int(),
      timeOut: r.int(),
      sessionId: r.long(),
      passwd: r.buffer(),
    };
    if (r.remaining > 0) v.readOnly = r.boolean();
    return v;
  },
};
