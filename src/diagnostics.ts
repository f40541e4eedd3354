/**
 * Every diagnostics_channel zkwire publishes on, in one place. Each message carries the session id, so a
 * subscriber can tell the clients of one process apart; publishers check `hasSubscribers` first, so
 * nothing is built unless someone listens.
 *
 *   zkwire:request  { session, opcode, xid }           a request written to the socket
 *   zkwire:reply    { session, opcode, xid, zxid, err } its reply
 *   zkwire:state    { session, from, to }              a state change
 *   zkwire:watch    { session, ...WatchedEvent }       a notification from the server
 */
import { channel } from "node:diagnostics_channel";

export const channels = {
  request: channel("zkwire:request"),
  reply: channel("zkwire:reply"),
  state: channel("zkwire:state"),
  watch: channel("zkwire:watch"),
};
