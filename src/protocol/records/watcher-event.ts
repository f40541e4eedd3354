/**
 * module org.apache.zookeeper.proto
 * class WatcherEvent {
 *     int type;  // event type (EventType)
 *     int state; // state of the client's session (KeeperState)
 *     ustring path;
 * }
 *
 * The body of a notification: a reply with xid -1 that answers no request.
 */
import { type JuteRecord, sizeOfUstring } from "../jute.js";

export interface WatcherEvent {
  type: number;
  state: number;
  path: string | null;
}

export const WatcherEvent: JuteRecord<WatcherEvent> = {
  name: "WatcherEvent",
  fields: [
    ["type", "int"],
    ["state", "int"],
    ["path", "ustring"],
  ],
  size: (v) => 8 + sizeOfUstring(v.path),
  write(w, v) {
    w.int(v.type);
    w.int(v.state);
    w.ustring(v.path);
  },
  read: (r) => ({ type: r.int(), state: r.int(), path: r.ustring() }),
};
