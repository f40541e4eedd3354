/**
 * zkwire/protocol: the ZooKeeper wire format, usable on its own (proxies, tools, tests): the Jute codec,
 * every record a 3.9 client sends or receives, the operations (opcode, request and reply records), the
 * protocol's numbers, and framing.
 */
export * from "./constants.js";
export { ZkProtocolError } from "./errors.js";
export { FrameDecoder, type FrameHandler, type FrameRangeHandler } from "./framing.js";
export {
  decode,
  encode,
  JuteReader,
  type JuteRecord,
  type JuteType,
  JuteWriter,
  sizeOfBuffer,
  sizeOfRecordVector,
  sizeOfUstring,
  sizeOfUstringVector,
} from "./jute.js";
export { type AnyOperation, encodeRequest, type Operation, Operations } from "./operations.js";
export * from "./records/index.js";
