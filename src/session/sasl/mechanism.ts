/**
 * SASL in ZooKeeper: the contract a mechanism fulfils, and the exchange the session drives with it.
 *
 * ## The exchange on the wire (ZooKeeper 3.9.5; unchanged on master, 3.10.0-SNAPSHOT)
 *
 * Read from `ClientCnxn`, `ClientCnxnSocketNIO`, `client/ZooKeeperSaslClient` (client) and
 * `ZooKeeperServer.processPacket`/`processSasl`, `ZooKeeperSaslServer`, `util/SecurityUtils`,
 * `AuthenticationHelper` (server).
 *
 * When: on every connection, right after the ConnectResponse; a reconnect authenticates again, because
 * the server keeps auth ids per connection (`ServerCnxn.authInfo`), and with a fresh mechanism (Java
 * builds a new `ZooKeeperSaslClient` in `startConnect`). Hence sessions take a {@link SaslMechanismFactory}.
 *
 * Frames: request `RequestHeader{xid, type = 102 (OpCode.sasl)}` + `GetSASLRequest{buffer token}`; reply
 * `ReplyHeader{xid echoed, zxid = 0, err}` + `SetSASLResponse{buffer token}`. The xid is an ordinary one,
 * taken from the same counter as other requests (`ClientCnxn.sendPacket` calls `getXid()`), not a reserved
 * negative one. The server answers opcode 102 inline in `processPacket`, outside the request pipeline, so
 * the reply's zxid is 0 and must not move the client's last-seen zxid. (Java writes SASL frames straight
 * to the socket, outside its pending queue, and while SASL is in progress treats any reply whose xid is not
 * ping/auth/notification as the SASL reply; matching the reply by xid is equivalent.)
 *
 * Holding back: while the exchange runs, the Java client sends nothing else; `findSendablePacket` defers
 * every queued packet that has a request header: AuthPackets (xid -4), SetWatches (xid -8), pings and
 * user requests. They go out once the exchange ends. This matters: a server with
 * `zookeeper.sessionRequireClientSASLAuth=true` (or `zookeeper.enforce.auth.enabled` with "sasl" among the
 * enforced schemes) answers any non-SASL, non-auth request from a connection that is not yet
 * SASL-authenticated with err SessionClosedRequireSaslAuth (-124) and closes it.
 *
 * Sequence, with `m` the mechanism:
 *
 *   C -> S  xid n    GetSASLRequest{ m.start() }     always sent, even when empty: a 0-length buffer, not
 *                                                    null. DIGEST-MD5 has no initial response, so Java sends
 *                                                    `new byte[0]` (`ZooKeeperSaslClient.initialize`); the
 *                                                    server then answers with its challenge.
 *   S -> C  xid n    err 0, SetSASLResponse{ challenge }
 *   C -> S  xid n+1  GetSASLRequest{ m.evaluate(challenge) }
 *   S -> C  xid n+1  err 0, SetSASLResponse{ next challenge }   ... and so on, until:
 *
 *   - `evaluate` returns null: the mechanism is complete and has nothing to send. Send nothing more; the
 *     exchange is over. This is how DIGEST-MD5 ends: the server's last token is `rspauth=...`, the client
 *     checks it and sends no further (empty) token (`respondToServer`: a null token sends no packet, and for
 *     non-GSSAPI mechanisms the last packet has then been seen).
 *   - `evaluate` returns a token and `m.complete` is true: send it, and treat the server's reply to it as
 *     the end (its token is null). This is GSSAPI's ending ("server sends a final packet" in
 *     `ZooKeeperSaslClient`; the C client's `is_last_packet`). Hence `evaluate` may return null: a mechanism
 *     that completes may or may not have a last token to send.
 *
 * Failure: the server answers err AuthFailed (-115), or SessionClosedRequireSaslAuth (-124) when SASL is
 * required, with a body `SetSASLResponse{token = null}` (length -1), then closes the connection. With
 * `zookeeper.allowSaslFailedClients=true` (and SASL not required) it instead answers err 0 with a null
 * token and keeps the connection; a server with no JAAS `Server` section answers every SASL request err 0
 * with a null token. Feed a null token to `evaluate` as an empty array (Java does the same): DIGEST-MD5
 * then throws a SaslError saying what went wrong.
 *
 * Which mechanism is used is decided by configuration on both sides, never negotiated on the wire: a
 * server whose JAAS `Server` subject has a Kerberos principal runs GSSAPI, otherwise DIGEST-MD5
 * (`SecurityUtils.createSaslServer`). `name` is for logs and errors only.
 *
 * The session's loop, in short:
 *
 *   let token = await m.start();
 *   for (;;) {
 *     const reply = await send(OpCode.sasl, { token });      // err != 0: auth failed, server closes
 *     const challenge = reply.token ?? new Uint8Array(0);
 *     if (m.complete) break;                                 // the server's answer to our last token
 *     const next = await m.evaluate(challenge);              // throws SaslError: auth failed
 *     if (next === null) break;                              // complete, nothing to send
 *     token = next;
 *   }
 *   if (!m.complete) fail;
 */

/** One client-side SASL exchange. Used once: create a new one per connection. */
export interface SaslMechanism {
  /** IANA name, e.g. "DIGEST-MD5". For logs and errors; ZooKeeper does not send it. */
  readonly name: string;
  /**
   * The client's first token, or an empty array when the mechanism starts with the server's challenge
   * (DIGEST-MD5 does). The session sends it either way.
   */
  start(): Uint8Array | Promise<Uint8Array>;
  /**
   * Answers a server challenge with the next token to send, or null when there is nothing to send (the
   * exchange ended on the client's side). Throws SaslError on a challenge that is malformed or fails to
   * authenticate the server (e.g. an rspauth mismatch).
   */
  evaluate(challenge: Uint8Array): Uint8Array | null | Promise<Uint8Array | null>;
  /** True once the exchange completed successfully (DIGEST-MD5: after the server's rspauth was verified). */
  readonly complete: boolean;
}

// SaslError lives with every other zkwire error; this name stays importable from here.
export { SaslError } from "../../errors.js";

/** Makes a fresh mechanism for each connection: an exchange cannot be replayed on a new connection. */
export type SaslMechanismFactory = () => SaslMechanism;
