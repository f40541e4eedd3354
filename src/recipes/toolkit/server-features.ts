/**
 * What the recipes learn about a client's server from what it answers, remembered per client.
 *
 * Watch events carry the zxid of the change from ZooKeeper 3.9 on; older servers send -1. The marked
 * hand-over of the lock (two watches on the predecessor, a setData+delete transaction on release) needs
 * that zxid to tell a release from any deletion; without it the extra watch and the marker cost the
 * server a request and a write each and buy nothing. The first real event a recipe sees on a client
 * says which kind of server it has (the zxid in a notification's reply header; -1 before 3.9). Until
 * then a client counts as a 3.9 one: the marked path is correct on any server, only slower on an old one.
 */
import type { ZooKeeper } from "../../client/client.js";
import type { WatchedEvent } from "../../session/watches.js";

const eventZxids = new WeakMap<ZooKeeper, boolean>();

/** true / false once an event said whether the server sends zxids with its events; undefined before. */
export function eventsCarryZxid(zk: ZooKeeper): boolean | undefined {
  return eventZxids.get(zk);
}

/** Notes what a watch event says about the server (session events, type "None", say nothing). */
export function noteEvent(zk: ZooKeeper, event: WatchedEvent): void {
  if (event.type === "None") return;
  eventZxids.set(zk, event.zxid >= 0n);
}
