/**
 * One "state" listener per client for all its recipe objects. A lock holder with many leases, a
 * partitioner holding a lease per item, or many latches on one client would otherwise each add their
 * own listener to the client, and past ten Node prints a possible-leak warning for what is normal use.
 */
import type { ZooKeeper } from "../../client/client.js";
import type { SessionState } from "../../session/state.js";

type Listener = (state: SessionState) => void;

const byClient = new WeakMap<ZooKeeper, { listeners: Set<Listener>; dispatch: Listener }>();

/** Calls `listener` on every session state change of `zk`; returns the function that stops it. */
export function onSessionState(zk: ZooKeeper, listener: Listener): () => void {
  let entry = byClient.get(zk);
  if (entry === undefined) {
    const listeners = new Set<Listener>();
    // A copy per change: a listener may stop itself (or another) while being called.
    const dispatch: Listener = (state) => {
      for (const l of [...listeners]) if (listeners.has(l)) l(state);
    };
    entry = { listeners, dispatch };
    byClient.set(zk, entry);
  }
  const { listeners, dispatch } = entry;
  if (listeners.size === 0) zk.on("state", dispatch);
  listeners.add(listener);
  return () => {
    if (!listeners.delete(listener)) return;
    if (listeners.size === 0) zk.off("state", dispatch);
  };
}
