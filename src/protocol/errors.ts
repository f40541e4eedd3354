/** The protocol layer's error lives with every other zkwire error (src/errors.ts); this path stays. */
export { ZkProtocolError } from "../errors.js";
