/**
 * What the benchmark needs from a client, in the smallest form every client can offer without a layer
 * of ours in between: a function that issues one operation and reports its end through a callback.
 * The driver (driver.ts) calls it; how the client gets there (promises, callbacks, a native queue, or
 * pre-encoded frames) is up to the client, and is what is measured.
 */

/** Called once per operation: null on success, else the client's error. */
export type Done = (error: unknown) => void;

export type Op =
  | { readonly kind: "get"; readonly path: string }
  | { readonly kind: "set"; readonly path: string; readonly data: Buffer }
  /** An ephemeral create and then the delete of the same node, one after the other. */
  | { readonly kind: "create-delete"; readonly path: string; readonly data: Buffer };

/** A lock held by one session; release() ends this hold. */
export interface LockHold {
  release(done: Done): void;
}

export interface Lock {
  /** Calls `done` once the lock is held. */
  acquire(done: (error: unknown, hold: LockHold | null) => void): void;
  /** Watch notifications this lock's session has received so far: a herd-free lock gets one per release. */
  readonly notifications: number;
  /**
   * Of those, the ones that woke the session: notifications of one transaction (same zxid) count once.
   * Only clients that see the zxid of a notification report it; for the others every notification is one.
   */
  readonly wakeups?: number;
}

export interface BenchClient {
  /**
   * Builds, once per run, the function that issues one `op`; every completion calls `done`. Built once
   * so that per-operation work is the client's own, not the benchmark's.
   */
  issuer(op: Op, done: Done): () => void;
  /** A lock recipe on this session, for the lock scenarios; undefined when the client has none. */
  lock?(lockPath: string): Lock;
  /** Ends the session. */
  close(): Promise<void>;
}

export interface ClientFactory {
  /** Connects one session; rejects when the client cannot be loaded or cannot connect. */
  connect(connectString: string, sessionTimeoutMs: number): Promise<BenchClient>;
  /** Why a scenario kind cannot run with this client, or null when it can. */
  unsupported(kind: "lock"): string | null;
}

export const CLIENT_NAMES = [
  "zkwire",
  "node-zookeeper-client",
  "zookeeper-native",
  "raw-floor",
  "zkwire-unpaced",
] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

/**
 * Run only when BENCH_CLIENTS names them. zkwire-unpaced is zkwire with `readPacing: false`: beside
 * zkwire in one run, it shows what read pacing (src/session/read-pacing.ts) does, round by round.
 */
export const OPT_IN_CLIENTS: readonly ClientName[] = ["zkwire-unpaced"];

export function isClientName(s: string): s is ClientName {
  return (CLIENT_NAMES as readonly string[]).includes(s);
}

/** Loaded on demand, so each worker holds only its own client's code. */
export async function loadFactory(name: ClientName): Promise<ClientFactory> {
  switch (name) {
    case "zkwire":
      return (await import("./zkwire.js")).factory;
    case "zkwire-unpaced":
      return (await import("./zkwire.js")).unpacedFactory;
    case "node-zookeeper-client":
      return (await import("./node-zookeeper-client.js")).factory;
    case "zookeeper-native":
      return (await import("./zookeeper-native.js")).factory;
    case "raw-floor":
      return (await import("./raw-floor.js")).factory;
  }
}
