/**
 * One connection view for recipes and users: Curator's five connection states, derived from the
 * session's states (`zk.state`, `zk.on("state")`).
 *
 *   session state                          connection state
 *   connected (first time)                 connected
 *   disconnected (after a connection)      suspended     the session may be alive; nothing is certain
 *   connected again, same session          reconnected   watches and ephemeral nodes are intact
 *   connected, a new session (renewed)     reconnected   after "lost": ephemerals must be re-created
 *   read-only                              read-only     reads only (a server cut off from its quorum)
 *   expired / auth-failed / closed         lost
 *
 * When "lost": the session expired, as the server says on reconnecting, or as the client declares by
 * itself once it has been cut off from every server for longer than the session timeout since it last
 * heard from one (the session's own rule, see session.ts). That is Curator's rule too (since Curator
 * 3.0 its ConnectionStateManager posts LOST once the session timeout has passed in SUSPENDED, without
 * waiting for the server), measured from a better starting point: the server's expiry clock starts at
 * the last message it got from the client, not when the client noticed the silence (up to two thirds
 * of the timeout later). Past that point the server has expired the session, its ephemeral nodes may be
 * gone and another client may already lead or hold the lock, so waiting for the server to confirm (it
 * cannot until a connection is back) would only let a recipe act on a hold it no longer has. A client
 * closed or refused by the server is lost too: its session's nodes are gone or unusable.
 */
import { EventEmitter } from "node:events";
import type { ZooKeeper } from "../client/client.js";
import type { SessionState } from "../session/state.js";
import { Broadcast } from "./toolkit/broadcast.js";
import { onSessionState } from "./toolkit/session-state.js";

/** Curator's ConnectionState, in zkwire's spelling. */
export type ConnectionState = "connected" | "suspended" | "reconnected" | "lost" | "read-only";

interface ConnectionEvents {
  /** The connection state changed (never twice in a row to the same state). */
  change: [state: ConnectionState, previous: ConnectionState | null];
}

/**
 * The connection states of one client, as events ("change") and async iterables (`changes()`, or
 * `for await (const s of view)`). Stop it with close() (or `using`) to detach from the client.
 */
export class ConnectionView extends EventEmitter<ConnectionEvents> implements Disposable {
  private current: ConnectionState | null;
  /** Whether a session was ever connected (the next connection is then a "reconnected"). */
  private wasConnected: boolean;
  private readonly updates = new Broadcast<ConnectionState>();
  private readonly stopStates: () => void;

  constructor(zk: ZooKeeper) {
    super();
    this.current = ConnectionView.initial(zk.state);
    this.wasConnected = this.current !== null;
    this.stopStates = onSessionState(zk, (state) => this.sessionChanged(state));
  }

  /** The current state, or null before the first connection. */
  get state(): ConnectionState | null {
    return this.current;
  }

  /** Whether requests can be served now (connected, reconnected or read-only). */
  get isConnected(): boolean {
    return this.current === "connected" || this.current === "reconnected" || this.current === "read-only";
  }

  /** The changes from now on; ends on close() or when `signal` aborts. */
  changes(signal?: AbortSignal): AsyncIterableIterator<ConnectionState> {
    return this.updates.subscribe(signal);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ConnectionState> {
    return this.changes();
  }

  /** Detaches from the client; iterators end. */
  close(): void {
    this.stopStates();
    this.updates.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private static initial(state: SessionState): ConnectionState | null {
    switch (state.kind) {
      case "connected":
        return "connected";
      case "read-only":
        return "read-only";
      case "expired":
      case "auth-failed":
      case "closed":
        return "lost";
      default:
        // connecting, or disconnected before anything is known: nothing to report yet
        return null;
    }
  }

  private sessionChanged(state: SessionState): void {
    let next: ConnectionState | null;
    switch (state.kind) {
      case "connected":
        next = this.wasConnected ? "reconnected" : "connected";
        this.wasConnected = true;
        break;
      case "read-only":
        next = "read-only";
        this.wasConnected = true;
        break;
      case "disconnected":
        // Only a connection that was up can be suspended; a first connect that fails says nothing yet.
        next = this.current === null || this.current === "lost" ? this.current : "suspended";
        break;
      case "expired":
      case "auth-failed":
      case "closed":
        next = "lost";
        break;
      default:
        next = this.current;
    }
    if (next === null || next === this.current) return;
    const previous = this.current;
    this.current = next;
    this.emit("change", next, previous);
    this.updates.publish(next);
    // Nothing follows a close or refused credentials (an expiry may be followed by a renewed session).
    if (state.kind === "closed" || state.kind === "auth-failed") this.close();
  }
}
