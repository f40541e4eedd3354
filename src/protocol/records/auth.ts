/**
 * module org.apache.zookeeper.proto
 * class AuthPacket {
 *     int type;      // unused by the server; the reference client sends 0
 *     ustring scheme;
 *     buffer auth;
 * }
 *
 * Sent with xid -4; the reply has no body, a failure is AuthFailed and the server then closes the session.
 */
import { type JuteRecord, sizeOfBuffer, sizeOfUstring } from "../jute.js";

export interface AuthPacket {
  type: number;
  scheme: string | null;
  auth: Uint8Array | null;
}

export const AuthPacket: JuteRecord<AuthPacket> = {
  name: "AuthPacket",
  fields: [
    ["type", "int"],
    ["scheme", "ustring"],
    ["auth", "buffer"],
  ],
  size: (v) => 4 + sizeOfUstring(v.scheme) + sizeOfBuffer(v.auth),
  write(w, v) {
    w.int(v.type);
    w.ustring(v.scheme);
    w.buffer(v.auth);
  },
  read: (r) => ({ type: r.int(), scheme: r.ustring(), auth: r.buffer() }),
};
