/**
 * One ZooKeeper session over a sequence of connections: the handshake, request pipelining, pings,
 * watches, reconnection to the next host with the same session id and password, and expiry.
 *
 * Timers, all derived from the negotiated session timeout T (the reference client's ratios):
 *   - ping after T/3 without sending: the server expires a session it has not heard from for T, so a
 *     ping at T/3 leaves two more chances before that;
 *   - the connection is dead after 2T/3 without receiving anything: a live server answers a ping sent at
 *     T/3 well within the next third, and giving up at 2T/3 leaves a third of T to reach another server
 *     before the session expires;
 *   - each connection attempt (TCP, TLS and handshake) gets T / (number of hosts), so one pass over the
 *     ensemble fits in one session timeout;
 *   - cut off from every server for longer than T, the session has expired on the server side, so the
 *     client declares it expired too instead of hoping.
 * The clock and the sockets come in through seams (clock.ts), so test/session/timers.test.ts checks each
 * of these boundaries in milliseconds, with no server.
 *
 * Everything that changes the state goes through `transition`, which ignores whatever comes after a
 * terminal state. The connect loop (`run`) is started once and is the only place that opens connections.
 */
import { connect as netConnect } from "node:net";
import type * as tls from "node:tls";
import { connect as tlsConnect } from "node:tls";
import { channels } from "../diagnostics.js";
import { ClientErrorCode, ConnectError, codeName, ZkProtocolError } from "../errors.js";
import { AUTH_PACKET_TYPE, DEFAULT_MAX_PACKET, ErrorCode, Xid } from "../protocol/constants.js";
import { JuteReader, JuteWriter } from "../protocol/jute.js";
import { encodeRequest, type Operation, Operations } from "../protocol/operations.js";
import { ConnectRequest, ConnectResponse } from "../protocol/records/connect.js";
import { REPLY_HEADER_SIZE, ReplyHeader } from "../protocol/records/headers.js";
import { SetSASLResponse } from "../protocol/records/sasl.js";
import { WatcherEvent } from "../protocol/records/watcher-event.js";
import { type Clock, realClock, type Transport } from "./clock.js";
import { type ConnectString, formatHost, type HostAddress, HostList } from "./connect-string.js";
import { Connection } from "./connection.js";
import {
  Depot,
  encodeFrame,
  type Failure,
  type Frame,
  finish,
  type Pending,
  RequestStatus,
  request,
  settle,
  type WatchRegistration,
} from "./depot.js";
import type { Logger } from "./logger.js";
import { toClientPath } from "./paths.js";
import type { SaslMechanism } from "./sasl/mechanism.js";
import { isConnected, isTerminal, keeperStateOf, type SessionState } from "./state.js";
import { EVENT_TYPE_NAMES, type WatchedEvent, WatchManager } from "./watches.js";

export { ConnectError };

export interface SessionOptions {
  connectString: ConnectString;
  /** Requested session timeout in ms; the server clamps it to [2, 20] ticks by default. */
  sessionTimeout: number;
  /** Deadline in ms for establishing the first connection. */
  connectTimeout: number;
  readOnly: boolean;
  /** Resume an existing session instead of creating one. */
  resume: { sessionId: bigint; password: Uint8Array } | undefined;
  tls: tls.ConnectionOptions | undefined;
  maxPacketSize: number;
  /** Wait a moment before reading again while many requests are in flight (read-pacing.ts). */
  readPacing: boolean;
  sasl: (() => SaslMechanism) | undefined;
  logger: Logger;
  /** Backoff between rounds over the host list: [first, max] in ms; each wait is jittered. */
  backoff: readonly [number, number];
  random: () => number;
  /** Time and sockets, replaceable for tests (default: performance.now() and timers, node:net/tls). */
  clock?: Clock | undefined;
  transport?: Transport | undefined;
}

export const SESSION_DEFAULTS = {
  sessionTimeout: 30_000,
  maxPacketSize: DEFAULT_MAX_PACKET,
  backoff: [50, 1_000] as const,
  /** How long close() waits for the server to confirm closeSession. */
  closeTimeout: 2_000,
};

const PASSWORD_LENGTH = 16;

export interface SubmitOptions {
  signal?: AbortSignal | undefined;
  /** ms; on expiry the caller gets RequestTimeout (the request may still be applied). */
  timeout?: number | undefined;
  /** The watch a successful reply sets (a caller's options object may be passed as is: `watch` is not read). */
  registration?: WatchRegistration | undefined;
}

export type StateListener = (state: SessionState, previous: SessionState) => void;

/** A SASL exchange on one connection; `ready` is called when it succeeds (the first connect waits). */
interface SaslExchange {
  mechanism: SaslMechanism;
  /** The token written and not yet answered: its xid, and where its reply (the challenge) goes. */
  xid: number;
  answer: ((err: number, r: JuteReader) => void) | null;
  /** Ends the exchange's wait when the connection ends first. */
  abort: ((reason: Error) => void) | null;
  ready: (() => void) | null;
}

interface AuthEntry {
  scheme: string;
  auth: Uint8Array;
}

/** "host (error), N times; ..." with repeats merged, in first-seen order: a long deadline stays readable. */
function summarize(attempts: readonly { host: string; error: string }[]): string {
  const counts = new Map<string, number>();
  for (const a of attempts) {
    const key = `${a.host} (${a.error})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return "no host (the deadline passed first)";
  return [...counts].map(([key, n]) => (n > 1 ? `${key}, ${n} times` : key)).join("; ");
}

/** Asks a server whether it serves writes ("isro": "rw" in a quorum, "ro" when read-only). */
function isReadWrite(host: HostAddress, tlsOptions: tls.ConnectionOptions | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = "";
    const socket = tlsOptions
      ? tlsConnect({ ...tlsOptions, host: host.host, port: host.port })
      : netConnect({ host: host.host, port: host.port });
    const done = (rw: boolean) => {
      socket.destroy();
      resolve(rw);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once(tlsOptions ? "secureConnect" : "connect", () => socket.write("isro"));
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(answer.startsWith("rw")));
  });
}

/** Frames with nothing variable in them are encoded once. */
const PING_FRAME = encodeRequest(Operations.ping, null, Xid.ping);

export class Session {
  private readonly options: SessionOptions;
  private readonly hosts: HostList;
  private readonly chroot: string;
  private readonly clock: Clock;
  /** The session's watches; the client reaches them through the manager's methods. */
  readonly watches: WatchManager;
  private readonly listeners = new Set<StateListener>();

  private stateValue: SessionState = { kind: "connecting" };
  private sessionIdValue = 0n;
  private password: Uint8Array = new Uint8Array(PASSWORD_LENGTH);
  private negotiated = 0;
  private lastZxidValue = 0n;
  /** Whether a read-write server has accepted this session (a read-only server's session is local). */
  private seenReadWrite = false;

  private connection: Connection | null = null;
  private handshaking = false;
  private readonly depot = new Depot((p) => {
    if (channels.request.hasSubscribers) {
      channels.request.publish({ session: this.sessionIdValue, opcode: p.op.opcode, xid: p.xid });
    }
  });
  private pingOutstanding = false;
  private timer: unknown = null;
  private readonly auths: AuthEntry[] = [];
  private sasl: SaslExchange | null = null;
  /** clock.now() of the last bytes from a server, as of the end of the last established connection. */
  private lastHeard = 0;
  private expiryTimer: unknown = null;
  private wake: (() => void) | null = null;
  private running = false;
  /** A host to try next, ahead of the list's order (a read-write server found while read-only). */
  private preferred: HostAddress | null = null;

  constructor(options: SessionOptions) {
    this.options = options;
    this.chroot = options.connectString.chroot;
    this.clock = options.clock ?? realClock;
    this.hosts = new HostList(options.connectString.hosts, options.random);
    this.watches = new WatchManager({
      removeWatches: (frame, submit) => this.submit(Operations.removeWatches, frame, submit),
      keeperState: () => keeperStateOf(this.stateValue),
      logger: options.logger,
    });
    if (options.resume) {
      this.sessionIdValue = options.resume.sessionId;
      this.password = Uint8Array.from(options.resume.password);
      this.seenReadWrite = true;
    }
  }

  get state(): SessionState {
    return this.stateValue;
  }
  get sessionId(): bigint {
    return this.sessionIdValue;
  }
  get sessionPassword(): Uint8Array {
    return Uint8Array.from(this.password);
  }
  /** The timeout the server granted, in ms (0 before the first connection). */
  get negotiatedTimeout(): number {
    return this.negotiated;
  }
  get lastZxid(): bigint {
    return this.lastZxidValue;
  }
  get connectedTo(): HostAddress | null {
    return this.connection !== null && isConnected(this.stateValue) ? this.connection.address : null;
  }
  /** ms since a server was last heard from on an established connection (Infinity before any). */
  get silence(): number {
    const conn = this.connection;
    if (conn !== null && isConnected(this.stateValue)) return this.clock.now() - conn.lastReceived;
    return this.lastHeard === 0 ? Number.POSITIVE_INFINITY : this.clock.now() - this.lastHeard;
  }

  onState(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the connect loop; resolves once a session is established, rejects on the connect deadline. */
  start(): Promise<void> {
    if (this.running) throw new Error("session already started");
    this.running = true;
    return new Promise<void>((resolve, reject) => {
      const deadline = this.clock.now() + this.options.connectTimeout;
      void this.run(deadline, resolve, reject);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  /**
   * Queues a request frame (from `encodeFrame`) now: its place in the session's order is decided by
   * this call. Resolves with the decoded reply; rejects with a Failure (the client layer turns it into a
   * ZooKeeperError), or with the signal's reason when aborted.
   */
  submit<Res>(
    // biome-ignore lint/suspicious/noExplicitAny: the request's type is checked where the frame is encoded
    operation: Operation<any, Res>,
    frame: Frame,
    options: SubmitOptions = {},
  ): Promise<Res> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    const { signal, timeout, registration } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Res>((resolve, reject) => {
      const p = request(operation, frame, registration ?? null, resolve as (v: unknown) => void, reject);
      if (signal !== undefined || timeout !== undefined) this.arm(p, signal, timeout);
      this.depot.push(p);
    });
  }

  /** Sends credentials (addAuth); they are re-sent on every reconnection. Resolves when accepted. */
  addAuth(scheme: string, auth: Uint8Array): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    const entry = { scheme, auth: Uint8Array.from(auth) };
    this.auths.push(entry);
    return new Promise((resolve, reject) => {
      this.depot.push(this.authPending(entry, () => resolve(), reject));
    });
  }

  /**
   * Ends the session: closeSession to the server (bounded wait), then the socket; final. Idempotent: a
   * second call gets the first one's promise (ending the socket early could drop closeSession unsent
   * and leave the session, and its ephemeral nodes, alive on the server until it times out).
   */
  close(): Promise<void> {
    this.closePromise ??= this.closeOnce();
    return this.closePromise;
  }

  private closePromise: Promise<void> | null = null;
  /** Set once close() has queued closeSession: no new request is accepted after it. */
  private closing = false;

  private async closeOnce(): Promise<void> {
    if (isTerminal(this.stateValue)) return;
    const conn = this.connection;
    if (conn !== null && isConnected(this.stateValue) && !this.handshaking) {
      let timer: unknown;
      const closing = this.submit(Operations.closeSession, encodeFrame(Operations.closeSession, null)).catch(
        () => undefined,
      );
      const bound = new Promise<void>((r) => {
        timer = this.clock.setTimeout(
          r,
          Math.min(SESSION_DEFAULTS.closeTimeout, this.negotiated || Infinity),
        );
      });
      this.closing = true;
      await Promise.race([closing, bound]);
      this.clock.clearTimeout(timer);
    }
    this.terminate({ kind: "closed" }, { code: ClientErrorCode.ClientClosed });
  }

  private refusal(): Failure | null {
    const s = this.stateValue;
    if (this.closing || s.kind === "closed") return { code: ClientErrorCode.ClientClosed };
    if (s.kind === "expired") return { code: ErrorCode.SessionExpired };
    if (s.kind === "auth-failed") return { code: ClientErrorCode.AuthFailedState, detail: s.reason };
    return null;
  }

  private arm(p: Pending, signal: AbortSignal | undefined, timeout: number | undefined): void {
    let timer: unknown;
    const onAbort = () => this.abandon(p, signal!.reason);
    if (timeout !== undefined) {
      timer = this.clock.setTimeout(
        () => this.abandon(p, { code: ErrorCode.RequestTimeout, detail: `no reply within ${timeout} ms` }),
        timeout,
      );
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    p.cleanup = () => {
      this.clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
  }

  /**
   * The caller gave up (abort or timeout). A queued request is simply never written. A written one stays
   * in `written`, so the replies that follow still line up; its reply is read and dropped.
   */
  private abandon(p: Pending, reason: unknown): void {
    if (p.status === RequestStatus.Done) return;
    const written = p.status === RequestStatus.Written;
    finish(p);
    p.reject(reason as Failure);
    // An addWatch already on the wire may be applied, and nobody would hold the watch: take it off again,
    // right behind it, so every request after this one already sees it gone.
    if (written && p.op === Operations.addWatch && p.watch !== null) this.watches.abandoned(p.watch);
  }

  // ---------------------------------------------------------------------------------------------
  // The connect loop

  private async run(deadline: number, established: () => void, failed: (err: Error) => void): Promise<void> {
    const attempts: { host: string; error: string }[] = [];
    let everConnected = false;
    let round = 0;
    while (!isTerminal(this.stateValue)) {
      if (!everConnected && this.clock.now() >= deadline) {
        const err = new ConnectError(
          `could not connect to ZooKeeper within ${this.options.connectTimeout} ms; tried ${summarize(attempts)}`,
          attempts,
        );
        this.terminate({ kind: "closed" }, { code: ClientErrorCode.ClientClosed, detail: err.message });
        failed(err);
        return;
      }
      const host = this.preferred ?? this.hosts.next();
      this.preferred = null;
      const began = this.clock.now();
      const outcome = await this.attempt(host, !everConnected ? deadline : Infinity, () => {
        if (!everConnected) {
          everConnected = true;
          established();
        }
      });
      if (outcome.established) {
        // A connection that served for a while resets the backoff; one dropped at once does not, so a
        // server that accepts and drops cannot make the loop spin.
        if (this.clock.now() - began > this.negotiated / 3) round = 0;
      }
      if (!everConnected) {
        const s = this.stateValue;
        attempts.push({ host: formatHost(host), error: "reason" in s ? s.reason : outcome.error });
      }
      if (!outcome.established) {
        // One line per failed attempt, so `logger: console.debug`-level logging shows why a client waits.
        this.options.logger.debug?.("connection attempt failed", {
          host: formatHost(host),
          error: outcome.error,
          elapsedMs: Math.round(performance.now() - began),
        });
      }
      if (isTerminal(this.stateValue)) break;
      if (this.hosts.atEndOfRound) {
        // Every host failed once: back off (full jitter) before the next round.
        const [first, max] = this.options.backoff;
        const ceiling = Math.min(max, first * 2 ** round++);
        let wait = this.options.random() * ceiling;
        if (!everConnected) wait = Math.min(wait, Math.max(0, deadline - this.clock.now()));
        await this.sleep(wait);
      }
    }
    if (!everConnected) {
      // Ended by the server (expired session, refused credentials) or by close() before establishing.
      const s = this.stateValue;
      const why = "reason" in s ? s.reason : "the client was closed";
      failed(new ConnectError(`no session established: ${s.kind} (${why})`, attempts));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        this.clock.clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  /**
   * One connection: open, handshake, serve until it ends. Calls `onEstablished` when the handshake
   * succeeds; resolves when the connection ends, saying whether a session was established on it, or why
   * not.
   */
  private attempt(
    host: HostAddress,
    deadline: number,
    onEstablished: () => void,
  ): Promise<{ established: boolean; error: string }> {
    return new Promise((resolve) => {
      let established = false;
      const perHost = (this.negotiated || this.options.sessionTimeout) / this.hosts.size;
      const budget = Math.max(1, Math.min(perHost, deadline - this.clock.now()));
      const connectTimer = this.clock.setTimeout(
        () => conn.end(new Error(`no session established within ${Math.round(budget)} ms`)),
        budget,
      );
      const conn = new Connection(
        host,
        {
          tls: this.options.tls,
          maxPacketSize: this.options.maxPacketSize,
          readPacing: this.options.readPacing,
          clock: this.clock,
          transport: this.options.transport,
        },
        {
          onOpen: () => {
            this.handshaking = true;
            conn.write(this.connectFrame());
          },
          onFrame: (buf, start, end, owned) => {
            if (this.handshaking) {
              this.clock.clearTimeout(connectTimer);
              established = this.handshake(conn, new JuteReader(buf, "ConnectResponse", start, end));
              // With SASL, the session is ready for its caller once the exchange succeeded.
              if (established) {
                if (this.sasl === null) onEstablished();
                else this.sasl.ready = onEstablished;
              }
            } else {
              this.reply(buf, start, end, owned);
            }
          },
          onDrain: () => this.depot.drained(),
          inFlight: () => this.depot.inFlight,
          onClose: (error) => {
            this.clock.clearTimeout(connectTimer);
            this.connectionEnded(conn, error);
            resolve({ established, error: error?.message ?? "closed" });
          },
        },
      );
      this.connection = conn;
    });
  }

  private connectFrame(): Buffer {
    const req: ConnectRequest = {
      protocolVersion: 0,
      lastZxidSeen: this.lastZxidValue,
      timeOut: this.options.sessionTimeout,
      // A session created by a read-only server is local to it: a read-write server would not know it.
      sessionId: this.seenReadWrite ? this.sessionIdValue : 0n,
      passwd: this.seenReadWrite ? this.password : new Uint8Array(PASSWORD_LENGTH),
      readOnly: this.options.readOnly,
    };
    const size = ConnectRequest.size(req);
    const w = JuteWriter.alloc(4 + size);
    w.int(size);
    ConnectRequest.write(w, req);
    return w.buf;
  }

  /** The server's answer to the ConnectRequest. True when the session is established. */
  private handshake(conn: Connection, r: JuteReader): boolean {
    this.handshaking = false;
    if (r.remaining === REPLY_HEADER_SIZE) {
      // Not a ConnectResponse: an error reply. A read-only server (3.7+) answers this way, NotReadOnly,
      // when it cannot give out local sessions.
      r.record = "ReplyHeader";
      const err = ReplyHeader.read(r).err;
      const hint =
        err === ErrorCode.NotReadOnly
          ? "; a read-only server needs localSessionsEnabled=true to serve sessions"
          : "";
      throw new ZkProtocolError(
        "ConnectResponse",
        0,
        `the server refused the session: ${codeName(err)}${hint}`,
      );
    }
    const res = ConnectResponse.read(r);
    if (res.timeOut <= 0) {
      // The server no longer knows this session: it expired while we were away.
      this.terminate(
        { kind: "expired", reason: `server ${formatHost(conn.address)} reports the session expired` },
        { code: ErrorCode.SessionExpired },
      );
      conn.end(null);
      return false;
    }
    const readOnly = res.readOnly === true;
    if (!readOnly) this.seenReadWrite = true;
    this.negotiated = res.timeOut;
    this.sessionIdValue = res.sessionId;
    this.password = res.passwd ?? new Uint8Array(PASSWORD_LENGTH);
    this.lastHeard = this.clock.now();
    this.pingOutstanding = false;
    this.clearExpiryTimer();
    const host = formatHost(conn.address);
    this.options.logger.info?.("session established", {
      host,
      sessionId: `0x${res.sessionId.toString(16)}`,
      timeout: res.timeOut,
      readOnly,
    });
    this.prime(conn);
    this.transition(readOnly ? { kind: "read-only", host } : { kind: "connected", host });
    if (readOnly) void this.probeReadWrite(conn);
    this.scheduleTick();
    this.depot.attach((bytes) => conn.write(bytes));
    return true;
  }

  /**
   * Before any queued request: credentials (so that the requests after them are authorised), then the
   * watches to re-register. They jump the queue; the queued requests keep their order behind them.
   */
  private prime(conn: Connection): void {
    const first: Pending[] = [];
    for (const entry of this.auths) {
      first.push(
        this.authPending(
          entry,
          () => {},
          () => {},
        ),
      );
    }
    first.push(...this.watches.reregistration(this.lastZxidValue));
    this.depot.pushFirst(first);
    if (this.options.sasl !== undefined) this.startSasl(conn);
  }

  private authPending(entry: AuthEntry, resolve: () => void, reject: (f: Failure) => void): Pending {
    const value = { type: AUTH_PACKET_TYPE, scheme: entry.scheme, auth: entry.auth };
    const frame = encodeFrame(Operations.auth, value, Xid.auth);
    return request(Operations.auth, frame, null, resolve, reject, Xid.auth);
  }

  // ---------------------------------------------------------------------------------------------
  // SASL

  /**
   * SASL runs on every connection right after the handshake, with a fresh mechanism, while the depot
   * holds every other request back (see sasl/mechanism.ts for the exchange on the wire and why).
   */
  private startSasl(conn: Connection): void {
    const sasl: SaslExchange = {
      mechanism: this.options.sasl!(),
      xid: 0,
      answer: null,
      abort: null,
      ready: null,
    };
    this.sasl = sasl;
    this.depot.hold();
    void this.authenticate(conn, sasl);
  }

  /**
   * The exchange as one routine: send the mechanism's token, read the server's challenge, evaluate it,
   * until the mechanism is complete. It ends with the depot letting the held requests go, or in
   * saslFailed (the session ends auth-failed); if the connection ends first, it just stops.
   */
  private async authenticate(conn: Connection, sasl: SaslExchange): Promise<void> {
    const m = sasl.mechanism;
    try {
      let token: Uint8Array | null = await m.start();
      for (;;) {
        const challenge = await this.saslRound(conn, sasl, token);
        // Complete before this reply: it answered our last token, and the exchange is over.
        if (m.complete) break;
        token = await m.evaluate(challenge);
        if (this.sasl !== sasl) return;
        if (token === null) {
          if (m.complete) break;
          throw new Error(`${m.name} ended without completing`);
        }
      }
    } catch (err) {
      if (this.sasl === sasl) this.saslFailed(err);
      return;
    }
    if (this.sasl !== sasl) return;
    this.sasl = null;
    this.options.logger.info?.("SASL authentication complete", { mechanism: m.name });
    sasl.ready?.();
    this.depot.release();
  }

  /**
   * Sends one token with an ordinary xid, written at once (past the depot's hold), and resolves with the
   * server's challenge. A null challenge (a server without SASL configured, or one that lets failed
   * clients in) reads as empty; the mechanism then says what went wrong.
   */
  private saslRound(conn: Connection, sasl: SaslExchange, token: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.sasl !== sasl || conn.isClosed) {
        reject(new Error("the connection ended"));
        return;
      }
      sasl.xid = this.depot.nextXid();
      sasl.abort = reject;
      sasl.answer = (err, r) => {
        sasl.answer = sasl.abort = null;
        if (err !== 0) reject(new Error(`the server refused SASL authentication (${codeName(err)})`));
        else resolve(SetSASLResponse.read(r).token ?? new Uint8Array(0));
      };
      conn.write(encodeRequest(Operations.sasl, { token }, sasl.xid));
    });
  }

  private saslFailed(err: unknown): void {
    this.sasl = null;
    const reason = `SASL authentication failed: ${(err as Error)?.message ?? err}`;
    this.terminate({ kind: "auth-failed", reason }, { code: ErrorCode.AuthFailed, detail: reason });
  }

  // ---------------------------------------------------------------------------------------------
  // Replies

  /** The frame `[start, end)` of `buf`. `owned`: nothing writes to its memory again (Connection's onFrame). */
  private reply(buf: Buffer, start: number, end: number, owned: boolean): void {
    const r = new JuteReader(buf, "ReplyHeader", start, end);
    r.exclusive = owned;
    const xid = r.int();
    const zxid = r.long();
    const err = r.int();
    if (err === ErrorCode.SessionClosedRequireSaslAuth && this.sasl?.xid !== xid) {
      // The server requires SASL and this client has not authenticated: it answers this way to any
      // request (pings included) and then closes the connection. Reconnecting would only repeat it.
      const reason = "the server requires SASL authentication (configure the sasl option)";
      this.terminate({ kind: "auth-failed", reason }, { code: err, detail: reason });
      return;
    }
    switch (xid) {
      case Xid.ping:
        this.pingOutstanding = false;
        return;
      case Xid.notification:
        r.record = "WatcherEvent";
        this.notify(WatcherEvent.read(r), zxid);
        return;
      case Xid.auth: {
        const p = this.depot.answerAuth();
        if (err === ErrorCode.AuthFailed) {
          p?.reject({ code: ErrorCode.AuthFailed });
          this.terminate(
            { kind: "auth-failed", reason: "the server refused the credentials given to addAuth" },
            { code: ErrorCode.AuthFailed },
          );
        } else if (err !== 0) {
          p?.reject({ code: err });
        } else {
          p?.resolve(undefined);
        }
        return;
      }
      case Xid.setWatches:
        if (err !== 0) this.options.logger.warn?.("re-registering watches failed", { err });
        return;
    }
    const sasl = this.sasl;
    if (sasl !== null && sasl.xid === xid && sasl.answer !== null) {
      // Answered outside the request pipeline: its zxid is 0 and moves nothing.
      r.record = "SetSASLResponse";
      sasl.answer(err, r);
      return;
    }
    const p = this.depot.answer(xid);
    let value: unknown;
    const response = p.op.response;
    if (err === 0 && response !== null) {
      r.record = response.name;
      try {
        value = response.read(r);
      } catch (e) {
        settle(p, null, { code: ErrorCode.ConnectionLoss, detail: "malformed reply", cause: e });
        throw e;
      }
    }
    // Only a reply that decoded moves lastZxid: a peer that sent a malformed one is not trusted with it
    // (a server refuses a session claiming a zxid it has not reached).
    if (zxid > this.lastZxidValue) this.lastZxidValue = zxid;
    // A watch is registered only for a caller still waiting (an abandoned addWatch was undone already).
    if (p.watch !== null && p.status !== RequestStatus.Done) this.watches.register(p.watch, err);
    if (channels.reply.hasSubscribers) {
      channels.reply.publish({ session: this.sessionIdValue, opcode: p.op.opcode, xid, zxid, err });
    }
    settle(p, value, err === 0 ? null : { code: err });
  }

  private notify(ev: WatcherEvent, zxid: bigint): void {
    const type = EVENT_TYPE_NAMES[ev.type];
    const serverPath = ev.path ?? "";
    if (type === undefined) {
      this.options.logger.warn?.("notification of unknown type ignored", { type: ev.type, path: serverPath });
      return;
    }
    const event: WatchedEvent = {
      type,
      state: keeperStateOf(this.stateValue),
      path: toClientPath(this.chroot, serverPath),
      zxid,
    };
    if (channels.watch.hasSubscribers) channels.watch.publish({ session: this.sessionIdValue, ...event });
    this.watches.notify(type, serverPath, event);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  private scheduleTick(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    const conn = this.connection;
    if (conn === null) return;
    const t = this.negotiated;
    const pingAt = conn.lastSent + t / 3;
    const deadAt = conn.lastReceived + (2 * t) / 3;
    const wait = Math.max(1, Math.min(this.pingOutstanding ? deadAt : pingAt, deadAt) - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.tick(conn), wait, true);
  }

  private tick(conn: Connection): void {
    this.timer = null;
    if (conn !== this.connection || conn.isClosed) return;
    const now = this.clock.now();
    const t = this.negotiated;
    if (now - conn.lastReceived >= (2 * t) / 3) {
      conn.end(new Error(`nothing received from the server for ${Math.round(now - conn.lastReceived)} ms`));
      return;
    }
    if (!this.pingOutstanding && now - conn.lastSent >= t / 3 && this.sasl === null) {
      this.pingOutstanding = true;
      conn.write(PING_FRAME);
    }
    this.scheduleTick();
  }

  private clearExpiryTimer(): void {
    if (this.expiryTimer !== null) {
      this.clock.clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Hosts: read-only probing and runtime changes

  /**
   * While connected to a read-only server, look for a read-write one in the background (the `isro`
   * four-letter word, answered "rw" by a server in a quorum) and move to it when found. The interval
   * starts small and doubles, up to a minute, as the reference client's does.
   */
  private async probeReadWrite(conn: Connection): Promise<void> {
    let interval = 100;
    while (this.connection === conn && this.stateValue.kind === "read-only") {
      await new Promise<void>((r) => this.clock.setTimeout(r, interval, true));
      interval = Math.min(interval * 2, 60_000);
      for (const host of this.hosts.all) {
        if (this.connection !== conn || this.stateValue.kind !== "read-only") return;
        if (host.host === conn.address.host && host.port === conn.address.port) continue;
        if ((await isReadWrite(host, this.options.tls)) && this.connection === conn) {
          this.options.logger.info?.("read-write server found; moving to it", { host: formatHost(host) });
          this.preferred = host;
          conn.end(new Error(`moving to read-write server ${formatHost(host)}`));
          return;
        }
      }
    }
  }

  /**
   * Replaces the host list. The connection moves only when its server left the list, or, when the list
   * grew, with the probability that keeps the ensemble balanced (a client stays with probability
   * old/new, as the reference client's StaticHostProvider does).
   */
  updateHosts(hosts: readonly HostAddress[]): void {
    const before = this.hosts.size;
    this.hosts.replace(hosts);
    const conn = this.connection;
    if (conn === null || conn.isClosed) return;
    const listed = this.hosts.includes(conn.address);
    const rebalance = listed && hosts.length > before && this.options.random() >= before / hosts.length;
    if (!listed || rebalance) {
      conn.end(
        new Error(listed ? "moving to rebalance over the new host list" : "server left the host list"),
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Loss, expiry, the end

  private connectionEnded(conn: Connection, error: Error | null): void {
    if (conn !== this.connection) return;
    this.connection = null;
    this.handshaking = false;
    this.depot.detach();
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    const sasl = this.sasl;
    this.sasl = null;
    sasl?.abort?.(new Error("the connection ended"));
    const reason = error?.message ?? "connection closed";
    // Everything written and unanswered may or may not have been applied: the caller must check.
    const lost: Failure = { code: ErrorCode.ConnectionLoss, detail: reason, cause: error ?? undefined };
    this.depot.failWritten(lost);
    if (isTerminal(this.stateValue)) return;
    if (isConnected(this.stateValue)) {
      this.lastHeard = conn.lastReceived;
      this.transition({ kind: "disconnected", reason });
      this.armExpiry();
    }
  }

  /** Cut off from every server for longer than the session timeout: the server has expired us. */
  private armExpiry(): void {
    if (this.expiryTimer !== null || this.negotiated === 0) return;
    const remaining = Math.max(0, this.lastHeard + this.negotiated - this.clock.now());
    this.expiryTimer = this.clock.setTimeout(() => {
      this.expiryTimer = null;
      if (this.stateValue.kind !== "disconnected") return;
      this.terminate(
        {
          kind: "expired",
          reason: `no server reached for longer than the session timeout (${this.negotiated} ms)`,
        },
        { code: ErrorCode.SessionExpired },
      );
    }, remaining);
  }

  /** Enters a terminal state: fails everything pending, gives every watcher its last event, stops. */
  private terminate(state: SessionState, failure: Failure): void {
    if (isTerminal(this.stateValue)) return;
    this.clearExpiryTimer();
    const conn = this.connection;
    this.transition(state);
    this.depot.failAll(failure);
    const final: WatchedEvent = { type: "None", state: keeperStateOf(state), path: "", zxid: -1n };
    this.watches.end(final);
    conn?.end(null);
    this.wake?.();
  }

  private transition(next: SessionState): void {
    const previous = this.stateValue;
    if (isTerminal(previous)) return;
    this.stateValue = next;
    this.options.logger.debug?.("state", { from: previous.kind, to: next.kind });
    if (channels.state.hasSubscribers) {
      channels.state.publish({ session: this.sessionIdValue, from: previous, to: next });
    }
    // Persistent watchers hear about disconnection and reconnection: events may have been missed.
    if (!isTerminal(next) && isConnected(previous) !== isConnected(next) && previous.kind !== "connecting") {
      const event: WatchedEvent = { type: "None", state: keeperStateOf(next), path: "", zxid: -1n };
      this.watches.connectionChanged(event);
    }
    for (const listener of this.listeners) {
      try {
        listener(next, previous);
      } catch (err) {
        this.options.logger.error?.("a state listener threw", { error: err });
      }
    }
  }
}
