/**
 * The session's states, as a tagged union. Transient states can change; terminal ones are final.
 *
 *            connect()                       handshake ok
 *   (new) ─────────────> connecting ───────────────────────────> connected / read-only
 *                            ^   │                                      │
 *                            │   │ deadline passed / closed             │ connection lost
 *                            │   v                                      v
 *                            └── disconnected <─────────────────────────┘
 *                                │   (reconnecting with the same session id and password)
 *                                │
 *   terminal: expired (the server said so, or cut off longer than the session timeout),
 *             auth-failed (the server refused our credentials), closed (close() was called).
 */

export type SessionState =
  | { readonly kind: "connecting" }
  | { readonly kind: "connected"; readonly host: string }
  | { readonly kind: "read-only"; readonly host: string }
  | { readonly kind: "disconnected"; readonly reason: string }
  | { readonly kind: "expired"; readonly reason: string }
  | { readonly kind: "auth-failed"; readonly reason: string }
  | { readonly kind: "closed" };

export type SessionStateKind = SessionState["kind"];

export function isTerminal(state: SessionState): boolean {
  return state.kind === "expired" || state.kind === "auth-failed" || state.kind === "closed";
}

/** Connected to a server that serves requests (read-only servers serve reads only). */
export function isConnected(state: SessionState): boolean {
  return state.kind === "connected" || state.kind === "read-only";
}

/** The reference client's name for a state, as carried in watch events. */
export type KeeperStateName =
  | "SyncConnected"
  | "ConnectedReadOnly"
  | "Disconnected"
  | "Expired"
  | "AuthFailed"
  | "Closed";

export function keeperStateOf(state: SessionState): KeeperStateName {
  switch (state.kind) {
    case "connected":
      return "SyncConnected";
    case "read-only":
      return "ConnectedReadOnly";
    case "expired":
      return "Expired";
    case "auth-failed":
      return "AuthFailed";
    case "closed":
      return "Closed";
    default:
      return "Disconnected";
  }
}
