/**
 * module org.apache.zookeeper.data
 * class ClientInfo {
 *     ustring authScheme; // authentication scheme
 *     ustring user;       // user name or any other id (for example an ip)
 * }
 */
import { type JuteRecord, sizeOfUstring } from "../jute.js";

export interface ClientInfo {
  authScheme: string | null;
  user: string | null;
}

export const ClientInfo: JuteRecord<ClientInfo> = {
  name: "ClientInfo",
  fields: [
    ["authScheme", "ustring"],
    ["user", "ustring"],
  ],
  size: (v) => sizeOfUstring(v.authScheme) + sizeOfUstring(v.user),
  write(w, v) {
    w.ustring(v.authScheme);
    w.ustring(v.user);
  },
  read: (r) => ({ authScheme: r.ustring(), user: r.ustring() }),
};
