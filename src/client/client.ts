/**
 * The client: every ZooKeeper 3.9 operation, typed and Promise-based, over one session.
 *
 *   await using zk = await ZooKeeper.connect("127.0.0.1:2181/app");
 *   const { path } = await zk.create("/jobs/job-", "payload", { mode: "persistentSequential" });
 *   const { data, stat, watch } = await zk.getData(path, { watch: true });
 *   const event = await watch; // NodeDataChanged, NodeDeleted, or a final None event
 *
 * Every method validates its arguments before anything is sent (ZkArgumentError), accepts an
 * AbortSignal and a timeout, and fails with a ZooKeeperError whose stack shows the caller.
 */
import { EventEmitter } from "node:events";
import type * as tls from "node:tls";
import { ClientErrorCode, describeValue, ZkArgumentError, ZooKeeperError } from "../errors.js";
import {
  AddWatchMode,
  DEFAULT_MAX_PACKET,
  ErrorCode,
  JUTE_MAX_BUFFER,
  OpCode,
  WatcherType,
} from "../protocol/constants.js";
import { type Operation, Operations, requestSize } from "../protocol/operations.js";
import type { ClientInfo } from "../protocol/records/client-info.js";
import type { GetChildren2Response } from "../protocol/records/get-children.js";
import type { GetDataResponse } from "../protocol/records/get-data.js";
import type { MultiOp, MultiResult } from "../protocol/records/multi.js";
import type { Stat } from "../protocol/records/stat.js";
import { parseConnectString } from "../session/connect-string.js";
import { encodeFrame, type Failure, type Frame, type WatchRegistration } from "../session/depot.js";
import { type Logger, silentLogger } from "../session/logger.js";
import { joinPath, parentOf, toClientPath } from "../session/paths.js";
import type { SaslMechanismFactory } from "../session/sasl/mechanism.js";
import { SESSION_DEFAULTS, Session, type SessionOptions } from "../session/session.js";
import type { SessionState } from "../session/state.js";
import type { WatchedEvent, Watcher, WatchKind } from "../session/watches.js";
import { type AclEntry, validateAcl } from "./acl.js";
import { PersistentWatch } from "./persistent-watch.js";
import {
  buildCreate,
  buildDelete,
  buildSetData,
  type CreateOptions,
  checkVersion,
  type Data,
  serverPath,
  toBytes,
} from "./requests.js";
import { type CommitOptions, ReadBatch, Transaction } from "./transaction.js";

export interface ZooKeeperOptions {
  /** Requested session timeout in ms (default 30000); the server may grant less or more. */
  sessionTimeout?: number;
  /** Deadline in ms for the first connection (default: the session timeout). */
  connectTimeout?: number;
  /** Accept a read-only server when the ensemble has lost its quorum (servers with readonlymode.enabled). */
  readOnly?: boolean;
  /** Resume a session saved from `sessionId` and `sessionPassword` (e.g. in another process). */
  session?: { id: bigint; password: Uint8Array };
  /** TLS to the server's secure client port: true for defaults, or node:tls options (ca, cert, key...). */
  tls?: boolean | tls.ConnectionOptions;
  /** A SASL mechanism factory (e.g. `digestMd5("user", "pw")`), run on every connection. */
  sasl?: SaslMechanismFactory;
  /** Credentials sent before anything else, and again after every reconnection. */
  auth?: { scheme: string; auth: Data }[];
  /** Largest request in bytes (default 0xfffff, the server's jute.maxbuffer); larger ones are refused. */
  maxRequestSize?: number;
  /** Largest reply frame in bytes (default jute.maxbuffer + 1 KB). */
  maxPacketSize?: number;
  /** Backoff between rounds over the host list, [first, max] in ms (jittered). */
  backoff?: readonly [number, number];
  /**
   * With 32 or more requests in flight on a plain TCP connection, wait about 1 ms after a read so replies
   * are read, and the requests they make room for written, in batches (src/session/read-pacing.ts).
   * Default true.
   */
  readPacing?: boolean;
  logger?: Logger;
  /** Shuffle source (tests). */
  random?: () => number;
  /**
   * After the session expires, start a new one on this same client (emitting "session") instead of
   * staying expired. Default false: expiry is final, as in the reference client.
   */
  renewSessionOnExpiry?: boolean;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /** ms; the caller then gets RequestTimeout (the request may still be applied). */
  timeout?: number;
}

/** `true` returns a promise of the event with the result; a function is called with it. */
export type WatchOption = boolean | Watcher;

export interface WatchCallOptions extends CallOptions {
  watch?: WatchOption;
}

export interface DataResult {
  data: Uint8Array;
  stat: Stat;
}
export interface ChildrenResult {
  children: string[];
  stat: Stat;
}
export interface WatchResult {
  /** Settles once: with the node event, or with a final None event when the session ends. */
  watch: Promise<WatchedEvent>;
}

export interface ConfigResult {
  /** The ensemble's dynamic configuration (server.N=... lines and version=...). */
  config: string;
  stat: Stat;
}

export interface ReconfigOptions extends CallOptions {
  /** Servers to add, e.g. ["server.4=127.0.0.1:2891:3891;2184"] (incremental). */
  joining?: string[];
  /** Server ids to remove (incremental). */
  leaving?: (string | number)[];
  /** The whole new membership (non-incremental), instead of joining/leaving. */
  newMembers?: string[];
  /** Apply only if the current configuration version is this (default: whatever it is). */
  fromConfig?: bigint;
}

export type WatchTypeName = "children" | "data" | "any" | "persistent" | "persistentRecursive";

const EMPTY = Buffer.alloc(0);
/** The options of a call made without any: one shared object, read only, instead of a new `{}` per call. */
const NO_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});
const CONFIG_NODE = "/zookeeper/config";

/** Operations older servers do not have, and the version that added them. */
const SINCE: Partial<Record<string, string>> = {
  addWatch: "3.6",
  getEphemerals: "3.6",
  getAllChildrenNumber: "3.6",
  multiRead: "3.6",
  whoAmI: "3.7",
  create: "3.5 (for containers and TTL nodes)",
  removeWatches: "3.5",
  checkWatches: "3.5",
  reconfig: "3.5",
};

const watcherTypes: Record<WatchTypeName, number> = {
  children: WatcherType.Children,
  data: WatcherType.Data,
  any: WatcherType.Any,
  persistent: WatcherType.Persistent,
  persistentRecursive: WatcherType.PersistentRecursive,
};

const localKinds: Record<WatchTypeName, WatchKind[]> = {
  children: ["child"],
  data: ["data", "exist"],
  any: ["data", "exist", "child"],
  persistent: ["persistent"],
  persistentRecursive: ["persistentRecursive"],
};

interface ClientEvents {
  /** The session's state changed. */
  state: [state: SessionState, previous: SessionState];
  /** A new session replaced an expired one (renewSessionOnExpiry). */
  session: [info: { sessionId: bigint; previous: bigint }];
}

export class ZooKeeper extends EventEmitter<ClientEvents> implements AsyncDisposable {
  #session: Session;
  readonly #sessionOptions: SessionOptions;
  readonly #renew: boolean;
  /** Every credential given to this client, re-applied to a renewed session. */
  readonly #auths: { scheme: string; auth: Uint8Array }[] = [];
  readonly #chroot: string;
  readonly #maxRequestSize: number;
  readonly #ready: Promise<void>;

  /**
   * Creates a client and starts connecting at once; requests made before the session is established
   * wait for it. Prefer `ZooKeeper.connect()`, which resolves when it is.
   */
  constructor(connectString: string, options: ZooKeeperOptions = {}) {
    super();
    const cs = parseConnectString(connectString);
    const sessionTimeout = positiveInt(
      options.sessionTimeout ?? SESSION_DEFAULTS.sessionTimeout,
      "sessionTimeout",
    );
    this.#chroot = cs.chroot;
    this.#maxRequestSize = positiveInt(options.maxRequestSize ?? JUTE_MAX_BUFFER, "maxRequestSize");
    this.#renew = flag(options.renewSessionOnExpiry ?? false, "renewSessionOnExpiry");
    this.#sessionOptions = {
      connectString: cs,
      sessionTimeout,
      connectTimeout: positiveInt(options.connectTimeout ?? sessionTimeout, "connectTimeout"),
      readOnly: flag(options.readOnly ?? false, "readOnly"),
      resume: options.session
        ? { sessionId: options.session.id, password: options.session.password }
        : undefined,
      tls: options.tls === true ? {} : options.tls === false ? undefined : options.tls,
      maxPacketSize: positiveInt(options.maxPacketSize ?? DEFAULT_MAX_PACKET, "maxPacketSize"),
      readPacing: flag(options.readPacing ?? true, "readPacing"),
      sasl: options.sasl,
      logger: options.logger ?? silentLogger,
      backoff: options.backoff ?? SESSION_DEFAULTS.backoff,
      random: options.random ?? Math.random,
    };
    for (const { scheme, auth } of options.auth ?? [])
      this.#auths.push({ scheme, auth: toBytes(auth, "auth") });
    this.#session = this.#open(this.#sessionOptions);
    this.#ready = this.#session.start();
    // Observed here so that a client nobody awaits cannot crash the process with an unhandled rejection.
    this.#ready.catch(() => undefined);
  }

  /** A session wired to this client: its state changes are the client's, its credentials applied first. */
  #open(options: SessionOptions): Session {
    const session = new Session(options);
    session.onState((state, previous) => {
      if (this.#session === session) this.#emitState(state, previous, options.logger);
      if (state.kind === "expired" && this.#renew && this.#session === session) this.#renewSession();
    });
    // Queued before anything else, so every request runs with these credentials.
    for (const { scheme, auth } of this.#auths) session.addAuth(scheme, auth).catch(() => undefined);
    return session;
  }

  /**
   * After expiry, with renewSessionOnExpiry: a new session on the same client, so the application's
   * wiring (this object, its listeners) survives. It keeps trying until it connects or close() is
   * called. Watches and ephemeral nodes of the old session are gone (their watchers had their final
   * Expired event); the "session" event says a new session exists, so the application can re-create them.
   */
  #renewSession(): void {
    const expired = this.#session;
    const session = this.#open({
      ...this.#sessionOptions,
      resume: undefined,
      connectTimeout: Number.MAX_SAFE_INTEGER,
    });
    this.#session = session;
    session
      .start()
      .then(() => {
        if (this.#session === session)
          this.emit("session", { sessionId: session.sessionId, previous: expired.sessionId });
      })
      .catch(() => undefined);
  }

  /** Connects and resolves once the session is established; rejects with ConnectError on the deadline. */
  static async connect(connectString: string, options?: ZooKeeperOptions): Promise<ZooKeeper> {
    const zk = new ZooKeeper(connectString, options);
    await zk.ready();
    return zk;
  }

  /** Resolves when the session is first established. */
  ready(): Promise<void> {
    return this.#ready;
  }

  // -----------------------------------------------------------------------------------------------
  // Session facts

  get state(): SessionState {
    return this.#session.state;
  }
  /** The session id (0 before the session is established). Save it with the password to resume. */
  get sessionId(): bigint {
    return this.#session.sessionId;
  }
  get sessionPassword(): Uint8Array {
    return this.#session.sessionPassword;
  }
  /** The session timeout the server granted, in ms. */
  get sessionTimeout(): number {
    return this.#session.negotiatedTimeout;
  }
  /** The highest zxid seen in a reply. */
  get lastZxid(): bigint {
    return this.#session.lastZxid;
  }
  /** The server currently connected to, e.g. "127.0.0.1:2181", or null. */
  get server(): string | null {
    const a = this.#session.connectedTo;
    return a === null ? null : `${a.host}:${a.port}`;
  }
  get chroot(): string {
    return this.#chroot;
  }
  /**
   * ms since a server was last heard from (a reply, a notification or a ping answer). The server
   * expires the session once it has not heard from us for the session timeout, so this says how close
   * a disconnected session may be to expiring.
   */
  get msSinceServerContact(): number {
    return this.#session.silence;
  }

  /**
   * Each "state" listener on its own: one that throws is logged and cannot keep the others (or a
   * states() iterator) from the change, as a plain emit() would.
   */
  #emitState(state: SessionState, previous: SessionState, logger: Logger): void {
    for (const listener of this.rawListeners("state") as ((s: SessionState, p: SessionState) => void)[]) {
      try {
        listener.call(this, state, previous);
      } catch (err) {
        logger.error?.("a state listener threw", { error: err });
      }
    }
  }

  /**
   * State changes from now on, as an async iterator. It ends after a terminal state (expired, unless
   * renewSessionOnExpiry; auth-failed; closed), when `signal` aborts, or at once if the client has
   * already ended. Listening starts when this is called, not at the first next().
   */
  states(signal?: AbortSignal): AsyncIterableIterator<SessionState> {
    const queue: SessionState[] = [];
    let wake: (() => void) | null = null;
    const isFinal = (s: SessionState) =>
      s.kind === "closed" || s.kind === "auth-failed" || (s.kind === "expired" && !this.#renew);
    let ended = isFinal(this.state) || signal?.aborted === true;
    const stop = () => {
      ended = true;
      this.off("state", onState);
      signal?.removeEventListener("abort", onAbort);
      wake?.();
    };
    const onState = (s: SessionState) => {
      queue.push(s);
      if (isFinal(s)) this.off("state", onState);
      wake?.();
    };
    const onAbort = () => stop();
    if (!ended) {
      this.on("state", onState);
      signal?.addEventListener("abort", onAbort, { once: true });
    }
    const iterator: AsyncIterableIterator<SessionState> = {
      next: async () => {
        for (;;) {
          const s = queue.shift();
          if (s !== undefined && !ended) {
            if (isFinal(s)) stop();
            return { value: s, done: false };
          }
          if (ended) return { value: undefined, done: true };
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = null;
        }
      },
      return: async () => {
        stop();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Replaces the servers (e.g. after the ensemble was reconfigured): "host:port,...", without chroot.
   * The connection moves only when its server left the list, or to keep the load balanced.
   */
  updateServers(servers: string): void {
    const cs = parseConnectString(servers);
    if (cs.chroot !== "" && cs.chroot !== this.#chroot) {
      throw new ZkArgumentError("updateServers cannot change the chroot");
    }
    this.#session.updateHosts(cs.hosts);
  }

  // -----------------------------------------------------------------------------------------------
  // Nodes

  /** Creates a node; returns its path (with the sequence number for sequential modes) and Stat. */
  async create(
    path: string,
    data?: Data | null,
    options: CreateOptions & CallOptions & { createParents?: boolean } = NO_OPTIONS,
  ): Promise<{ path: string; stat: Stat }> {
    const op = buildCreate(this.#chroot, path, data, options);
    const operation = op.type === OpCode.createContainer ? Operations.createContainer : Operations.create2;
    const frame =
      op.type === OpCode.createTTL
        ? this.#frame(Operations.createTTL, op.request, "create", path)
        : this.#frame(operation, op.request, "create", path);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#session.submit(
          op.type === OpCode.createTTL ? Operations.createTTL : operation,
          frame,
          options,
        );
        return { path: toClientPath(this.#chroot, res.path ?? ""), stat: res.stat };
      } catch (f) {
        if (options.createParents && isFailure(f, ErrorCode.NoNode) && attempt < 3) {
          await this.#createParents(path, options);
          continue;
        }
        if (isFailure(f, ErrorCode.NoNode) && this.#chroot !== "" && parentOf(path) === "/") {
          // The parent of a top-level node is the chroot itself: it is missing. Neither the server nor
          // createParents creates a chroot (the reference client does not either).
          throw new ZooKeeperError(ErrorCode.NoNode, {
            op: "create",
            path,
            detail: `the chroot ${this.#chroot} does not exist; create it first with a client without a chroot`,
          });
        }
        throw this.#error(f, "create", path);
      }
    }
  }

  async #createParents(path: string, options: CreateOptions & CallOptions): Promise<void> {
    const parents: string[] = [];
    for (let p = parentOf(path); p !== "/"; p = parentOf(p)) parents.unshift(p);
    for (const parent of parents) {
      try {
        await this.create(parent, null, {
          acl: options.acl,
          signal: options.signal,
          timeout: options.timeout,
        });
      } catch (err) {
        if (!(err instanceof ZooKeeperError && err.code === ErrorCode.NodeExists)) throw err;
      }
    }
  }

  /** Deletes a node, optionally only at this version (-1 or absent: any version). */
  async delete(path: string, options: CallOptions & { version?: number } = NO_OPTIONS): Promise<void> {
    const op = buildDelete(this.#chroot, path, options.version);
    const frame = this.#frame(Operations.delete, op.request, "delete", path);
    try {
      await this.#session.submit(Operations.delete, frame, options);
    } catch (f) {
      throw this.#error(f, "delete", path);
    }
  }

  /**
   * Deletes a node and everything under it. Nodes that vanish meanwhile are fine; children created
   * meanwhile are deleted too (a few rounds). A leaf is deleted without listing it, so nodes the caller
   * may delete but not read (an ACL without READ) go too. Returns the number of nodes deleted.
   */
  async deleteRecursive(path: string, options: CallOptions = NO_OPTIONS): Promise<number> {
    for (let round = 0; ; round++) {
      try {
        await this.delete(path, options);
        return 1;
      } catch (err) {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return 0;
        if (!(err instanceof ZooKeeperError && err.code === ErrorCode.NotEmpty && round < 5)) throw err;
      }
      let children: string[];
      try {
        ({ children } = await this.getChildren(path, options));
      } catch (err) {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return 0;
        throw err;
      }
      const counts = await Promise.all(children.map((c) => this.deleteRecursive(joinPath(path, c), options)));
      const deleted = counts.reduce((a, b) => a + b, 0);
      try {
        await this.delete(path, options);
        return deleted + 1;
      } catch (err) {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return deleted;
        if (!(err instanceof ZooKeeperError && err.code === ErrorCode.NotEmpty && round < 5)) throw err;
      }
    }
  }

  /** The node's Stat, or null when it does not exist. A watch is set either way. */
  exists(path: string, options: CallOptions & { watch: true }): Promise<{ stat: Stat | null } & WatchResult>;
  exists(path: string, options?: CallOptions & { watch?: false | Watcher }): Promise<Stat | null>;
  async exists(path: string, options: WatchCallOptions = NO_OPTIONS): Promise<unknown> {
    const p = serverPath(this.#chroot, path);
    const w = watchOf(options.watch, p, "data", "exist");
    const frame = this.#frame(Operations.exists, { path: p, watch: w !== null }, "exists", path);
    let stat: Stat | null;
    try {
      stat = (await this.#session.submit(Operations.exists, frame, submitOptions(options, w))).stat;
    } catch (f) {
      if (!isFailure(f, ErrorCode.NoNode)) throw this.#error(f, "exists", path);
      stat = null;
    }
    return options.watch === true ? { stat, watch: w!.promise } : stat;
  }

  /** The node's data and Stat. */
  getData(path: string, options: CallOptions & { watch: true }): Promise<DataResult & WatchResult>;
  getData(path: string, options?: CallOptions & { watch?: false | Watcher }): Promise<DataResult>;
  async getData(path: string, options: WatchCallOptions = NO_OPTIONS): Promise<unknown> {
    const p = serverPath(this.#chroot, path);
    const w = watchOf(options.watch, p, "data", null);
    const frame = this.#frame(Operations.getData, { path: p, watch: w !== null }, "getData", path);
    let res: GetDataResponse;
    try {
      res = await this.#session.submit(Operations.getData, frame, submitOptions(options, w));
    } catch (f) {
      throw this.#error(f, "getData", path);
    }
    if (res.data === null) res.data = EMPTY;
    return options.watch === true ? { data: res.data, stat: res.stat, watch: w!.promise } : res;
  }

  /** Replaces the node's data, optionally only at this version; returns the new Stat. */
  async setData(
    path: string,
    data: Data,
    options: CallOptions & { version?: number } = NO_OPTIONS,
  ): Promise<Stat> {
    const op = buildSetData(this.#chroot, path, data, options.version);
    const frame = this.#frame(Operations.setData, op.request, "setData", path);
    try {
      return (await this.#session.submit(Operations.setData, frame, options)).stat;
    } catch (f) {
      throw this.#error(f, "setData", path);
    }
  }

  /** The node's children (names, unordered) and its Stat. */
  getChildren(path: string, options: CallOptions & { watch: true }): Promise<ChildrenResult & WatchResult>;
  getChildren(path: string, options?: CallOptions & { watch?: false | Watcher }): Promise<ChildrenResult>;
  async getChildren(path: string, options: WatchCallOptions = NO_OPTIONS): Promise<unknown> {
    const p = serverPath(this.#chroot, path);
    const w = watchOf(options.watch, p, "child", null);
    const frame = this.#frame(Operations.getChildren2, { path: p, watch: w !== null }, "getChildren", path);
    let res: GetChildren2Response;
    try {
      res = await this.#session.submit(Operations.getChildren2, frame, submitOptions(options, w));
    } catch (f) {
      throw this.#error(f, "getChildren", path);
    }
    const children = res.children ?? [];
    return options.watch === true
      ? { children, stat: res.stat, watch: w!.promise }
      : { children, stat: res.stat };
  }

  /** The number of all descendants of the node (server 3.6+). */
  async getAllChildrenNumber(path: string, options: CallOptions = NO_OPTIONS): Promise<number> {
    const p = serverPath(this.#chroot, path);
    const res = await this.#call(
      "getAllChildrenNumber",
      path,
      Operations.getAllChildrenNumber,
      { path: p },
      options,
    );
    return res.totalNumber;
  }

  /** This session's ephemeral nodes whose path starts with `prefix` (default "/"), server 3.6+. */
  async getEphemerals(prefix = "/", options: CallOptions = NO_OPTIONS): Promise<string[]> {
    const p = serverPath(this.#chroot, prefix);
    const res = await this.#call(
      "getEphemerals",
      prefix,
      Operations.getEphemerals,
      { prefixPath: p },
      options,
    );
    const list = res.ephemerals ?? [];
    return this.#chroot === "" ? list : list.map((e) => toClientPath(this.#chroot, e));
  }

  /** The node's ACL and Stat. */
  async getACL(path: string, options: CallOptions = NO_OPTIONS): Promise<{ acl: AclEntry[]; stat: Stat }> {
    const res = await this.#call(
      "getACL",
      path,
      Operations.getACL,
      { path: serverPath(this.#chroot, path) },
      options,
    );
    return {
      acl: (res.acl ?? []).map((a) => ({
        perms: a.perms,
        id: { scheme: a.id.scheme ?? "", id: a.id.id ?? "" },
      })),
      stat: res.stat,
    };
  }

  /** Replaces the node's ACL, optionally only at this ACL version (Stat.aversion). */
  async setACL(
    path: string,
    acl: readonly AclEntry[],
    options: CallOptions & { version?: number } = NO_OPTIONS,
  ): Promise<Stat> {
    const p = serverPath(this.#chroot, path);
    // The same bounds as every other version: an int32 from -1 (any). A larger one would otherwise
    // escape as a RangeError from the encoder instead of ZkArgumentError.
    const version = checkVersion(options.version);
    const res = await this.#call(
      "setACL",
      path,
      Operations.setACL,
      { path: p, acl: validateAcl(acl), version },
      options,
    );
    return res.stat;
  }

  /**
   * Waits until the server this client is connected to has caught up with the leader for `path`, so a
   * read after it sees every write committed before it. Returns the path.
   */
  async sync(path: string, options: CallOptions = NO_OPTIONS): Promise<string> {
    const p = serverPath(this.#chroot, path);
    const res = await this.#call("sync", path, Operations.sync, { path: p }, options);
    return toClientPath(this.#chroot, res.path ?? p);
  }

  // -----------------------------------------------------------------------------------------------
  // Transactions

  /**
   * A transaction builder: ops are applied all together or not at all. `guards` (used by lock leases)
   * are existence/version checks placed first and left out of the results.
   */
  transaction(
    guards?: readonly { path: string; version?: number }[],
    onGuard?: (code: number, path: string) => Error,
  ): Transaction {
    return new Transaction(
      this.#chroot,
      (type, ops, options) => this.#multi(type, ops, options, "multi"),
      guards,
      onGuard,
    );
  }

  /** Several reads answered together (server 3.6+). */
  multiRead(): ReadBatch {
    return new ReadBatch(this.#chroot, (type, ops, options) => this.#multi(type, ops, options, "multiRead"));
  }

  async #multi(type: number, ops: MultiOp[], options: CommitOptions, op: string): Promise<MultiResult[]> {
    const operation = type === OpCode.multiRead ? Operations.multiRead : Operations.multi;
    return this.#call(op, undefined, operation, ops, options);
  }

  // -----------------------------------------------------------------------------------------------
  // Auth

  /**
   * Adds credentials to the session, e.g. addAuth("digest", "user:password"). Resolves when the server
   * accepted them; they are re-sent after every reconnection. The server ends a session whose
   * credentials it refuses (state auth-failed).
   */
  async addAuth(scheme: string, auth: Data): Promise<void> {
    if (typeof scheme !== "string" || scheme === "")
      throw new ZkArgumentError("scheme must be a non-empty string");
    const bytes = typeof auth === "string" ? Buffer.from(auth, "utf8") : auth;
    if (!(bytes instanceof Uint8Array)) throw new ZkArgumentError("auth must be a string or bytes");
    this.#auths.push({ scheme, auth: Uint8Array.from(bytes) });
    try {
      await this.#session.addAuth(scheme, bytes);
    } catch (f) {
      throw this.#error(f, "addAuth", undefined);
    }
  }

  /** The identities the server has authenticated this session as (server 3.7+). */
  async whoAmI(options: CallOptions = NO_OPTIONS): Promise<ClientInfo[]> {
    const res = await this.#call("whoAmI", undefined, Operations.whoAmI, null, options);
    return res.clientInfo ?? [];
  }

  // -----------------------------------------------------------------------------------------------
  // Watches

  /**
   * A persistent watch on `path` (server 3.6+): every change to the node (data, creation, deletion,
   * children) for "persistent"; the node and all its descendants (not child-list events) for
   * "persistentRecursive". Iterate it; leaving the loop unregisters it.
   */
  async addWatch(
    path: string,
    options: CallOptions & { mode?: "persistent" | "persistentRecursive" } = NO_OPTIONS,
  ): Promise<PersistentWatch> {
    const mode = options.mode ?? "persistent";
    if (mode !== "persistent" && mode !== "persistentRecursive") {
      throw new ZkArgumentError(
        `mode must be "persistent" or "persistentRecursive", got ${describeValue(mode)}`,
      );
    }
    const p = serverPath(this.#chroot, path);
    if (options.signal?.aborted) throw options.signal.reason;
    const recursive = mode === "persistentRecursive";
    const watch = new PersistentWatch(path, recursive, (w) => this.#removePersistent(p, w), options.signal);
    await this.#call(
      "addWatch",
      path,
      Operations.addWatch,
      { path: p, mode: recursive ? AddWatchMode.persistentRecursive : AddWatchMode.persistent },
      {
        signal: options.signal,
        timeout: options.timeout,
        registration: { path: p, watcher: watch.watcher, onOk: mode, onNoNode: null },
      },
    );
    return watch;
  }

  #removePersistent(p: string, watch: PersistentWatch): Promise<void> {
    const kind = watch.recursive ? "persistentRecursive" : "persistent";
    return this.#session.watches.removePersistent(kind, p, watch.watcher);
  }

  /**
   * Removes watches of a type from a path: just `watcher` when given, else all of that type. Removed
   * watchers get a *WatchRemoved event. The server's registration is removed when no local watcher of
   * the type remains; with `local`, local watchers are removed even if the server cannot be told.
   */
  async removeWatches(
    path: string,
    type: WatchTypeName,
    options: CallOptions & { watcher?: Watcher; local?: boolean } = NO_OPTIONS,
  ): Promise<void> {
    const p = serverPath(this.#chroot, path);
    const serverType = watcherTypes[type];
    if (serverType === undefined) throw new ZkArgumentError(`unknown watch type "${String(type)}"`);
    const frame = this.#frame(Operations.removeWatches, { path: p, type: serverType }, "removeWatches", path);
    const { watcher, local = false } = options;
    try {
      await this.#session.watches.remove(p, path, localKinds[type], watcher, local, frame, options);
    } catch (f) {
      throw this.#error(f, "removeWatches", path, type);
    }
  }

  /** Whether the server holds watches of this type on the path for this session. */
  async checkWatches(path: string, type: WatchTypeName, options: CallOptions = NO_OPTIONS): Promise<boolean> {
    const serverType = watcherTypes[type];
    if (serverType === undefined) throw new ZkArgumentError(`unknown watch type "${String(type)}"`);
    const p = serverPath(this.#chroot, path);
    const frame = this.#frame(Operations.checkWatches, { path: p, type: serverType }, "checkWatches", path);
    try {
      await this.#session.submit(Operations.checkWatches, frame, options);
      return true;
    } catch (f) {
      if (isFailure(f, ErrorCode.NoWatcher)) return false;
      throw this.#error(f, "checkWatches", path, type);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Ensemble configuration

  /** The ensemble's configuration (/zookeeper/config, which no chroot applies to). */
  getConfig(options: CallOptions & { watch: true }): Promise<ConfigResult & WatchResult>;
  getConfig(options?: CallOptions & { watch?: false | Watcher }): Promise<ConfigResult>;
  async getConfig(options: WatchCallOptions = NO_OPTIONS): Promise<unknown> {
    const w = watchOf(options.watch, CONFIG_NODE, "data", null);
    const frame = this.#frame(
      Operations.getData,
      { path: CONFIG_NODE, watch: w !== null },
      "getConfig",
      CONFIG_NODE,
    );
    let res: GetDataResponse;
    try {
      res = await this.#session.submit(Operations.getData, frame, submitOptions(options, w));
    } catch (f) {
      throw this.#error(f, "getConfig", CONFIG_NODE);
    }
    const config = Buffer.from(res.data ?? EMPTY).toString("utf8");
    return options.watch === true
      ? { config, stat: res.stat, watch: w!.promise }
      : { config, stat: res.stat };
  }

  /**
   * Changes the ensemble's membership (servers with reconfigEnabled=true; needs the super user or an
   * ACL on /zookeeper/config allowing it). Returns the new configuration.
   */
  async reconfig(options: ReconfigOptions): Promise<ConfigResult> {
    const { joining, leaving, newMembers } = options;
    if (newMembers !== undefined && (joining !== undefined || leaving !== undefined)) {
      throw new ZkArgumentError("reconfig takes either newMembers or joining/leaving, not both");
    }
    if (newMembers === undefined && joining === undefined && leaving === undefined) {
      throw new ZkArgumentError("reconfig needs joining, leaving or newMembers");
    }
    const list = (xs: (string | number)[] | undefined) =>
      xs === undefined ? null : xs.map(String).join(",");
    const res = await this.#call(
      "reconfig",
      undefined,
      Operations.reconfig,
      {
        joiningServers: list(joining),
        leavingServers: list(leaving),
        newMembers: list(newMembers),
        curConfigId: options.fromConfig ?? -1n,
      },
      options,
    );
    return { config: Buffer.from(res.data ?? EMPTY).toString("utf8"), stat: res.stat };
  }

  // -----------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Closes the session: requests already made are answered first, then closeSession (waiting a bounded
   * time for the server), then the socket. Ephemeral nodes go with the session. Calls after this fail
   * with ClientClosed.
   */
  close(): Promise<void> {
    return this.#session.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -----------------------------------------------------------------------------------------------
  // Internals

  /** Encodes a request frame, refusing (before anything is sent or encoded) one the server would not accept. */
  #frame<Req>(operation: Operation<Req, unknown>, value: Req, op: string, path: string | undefined): Frame {
    const size = requestSize(operation, value);
    if (size - 4 > this.#maxRequestSize) {
      throw new ZkArgumentError(
        `${op}${path === undefined ? "" : ` ${path}`}: request of ${size - 4} bytes exceeds the maximum of ` +
          `${this.#maxRequestSize} (the server's jute.maxbuffer); data can be at most ` +
          `${this.#maxRequestSize - (size - 4 - dataLength(value))} bytes here`,
      );
    }
    return encodeFrame(operation, value, 0, size);
  }

  async #call<Req, Res>(
    op: string,
    path: string | undefined,
    operation: Operation<Req, Res>,
    value: Req,
    options: CallOptions & { registration?: WatchRegistration | undefined },
  ): Promise<Res> {
    const frame = this.#frame(operation, value, op, path);
    try {
      return await this.#session.submit(operation, frame, options);
    } catch (f) {
      throw this.#error(f, op, path);
    }
  }

  /** A failure from the session as the caller's error (created here, so its stack shows the caller). */
  #error(f: unknown, op: string, path: string | undefined, watchType?: WatchTypeName): unknown {
    if (f instanceof Error || !isFailureLike(f)) return f; // an abort reason, or already an error
    let detail = f.detail;
    if (
      f.code === ErrorCode.MarshallingError &&
      (watchType === "persistent" || watchType === "persistentRecursive")
    ) {
      detail = `the server cannot ${op === "checkWatches" ? "check" : "remove"} ${watchType} watches by type; it needs ZooKeeper 3.9 or newer`;
    }
    if (f.code === ErrorCode.Unimplemented && SINCE[op] !== undefined) {
      detail = `the server does not implement ${op}; it needs ZooKeeper ${SINCE[op]} or newer`;
    }
    if (f.code === ClientErrorCode.ClientClosed && detail === undefined) detail = "the client is closed";
    return new ZooKeeperError(f.code, { op, path, detail, cause: f.cause });
  }
}

function isFailureLike(f: unknown): f is Failure {
  return typeof f === "object" && f !== null && typeof (f as Failure).code === "number";
}

function isFailure(f: unknown, code: number): boolean {
  return isFailureLike(f) && !(f instanceof Error) && f.code === code;
}

function flag(v: boolean, name: string): boolean {
  if (typeof v !== "boolean")
    throw new ZkArgumentError(`${name} must be true or false, got ${describeValue(v)}`);
  return v;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v <= 0)
    throw new ZkArgumentError(`${name} must be a positive integer, got ${describeValue(v)}`);
  return v;
}

function dataLength(value: unknown): number {
  const data = (value as { data?: unknown } | null)?.data;
  return data instanceof Uint8Array ? data.length : 0;
}

/** A one-shot watch for a request: the registration for the session, and the promise for `watch: true`. */
function watchOf(
  option: WatchOption | undefined,
  path: string,
  onOk: WatchKind,
  onNoNode: WatchKind | null,
): { registration: WatchRegistration; promise: Promise<WatchedEvent> | null } | null {
  if (option === undefined || option === false) return null;
  if (typeof option === "function")
    return { registration: { path, watcher: option, onOk, onNoNode }, promise: null };
  if (option !== true) throw new ZkArgumentError("watch must be true, false or a function");
  let watcher!: Watcher;
  const promise = new Promise<WatchedEvent>((resolve) => {
    watcher = resolve;
  });
  return { registration: { path, watcher, onOk, onNoNode }, promise };
}

/**
 * What a call passes to the session: the caller's own options object when no watch is set (no
 * allocation per call), else one with the watch's registration.
 */
function submitOptions(
  options: CallOptions,
  w: { registration: WatchRegistration } | null,
): CallOptions & { registration?: WatchRegistration } {
  return w === null
    ? options
    : { signal: options.signal, timeout: options.timeout, registration: w.registration };
}
