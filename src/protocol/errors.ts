/**
 * The one error the protocol layer throws: bytes that are not a valid Jute record or frame.
 *
 * Whatever arrives from the network, decoding ends either in a value or in this error, never in a
 * RangeError from a Buffer method or a giant allocation. The session layer catches it and ends the
 * connection (a peer that sent one malformed frame cannot be trusted with the next one).
 */
export class ZkProtocolError extends Error {
  override readonly name = "ZkProtocolError";
  /** Stable code, for `err.code === "ZK_PROTOCOL"` checks across package copies. */
  readonly code = "ZK_PROTOCOL";
  /** The record being decoded (e.g. `GetDataResponse`), or `frame` for framing errors. */
  readonly record: string;
  /** Byte offset inside the record (or stream position for framing) where the problem was found. */
  readonly offset: number;

  constructor(record: string, offset: number, message: string, options?: ErrorOptions) {
    super(`${record} at offset ${offset}: ${message}`, options);
    this.record = record;
    this.offset = offset;
  }
}
