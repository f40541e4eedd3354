/**
 * SASL for zkwire sessions: the mechanism contract (with the ZooKeeper exchange it runs in, see
 * mechanism.ts) and DIGEST-MD5. Other mechanisms (GSSAPI through a Kerberos library, say) implement
 * {@link SaslMechanism} and are passed as a {@link SaslMechanismFactory}.
 */
export {
  DigestMd5Mechanism,
  type DigestMd5Options,
  digestMd5,
} from "./digest-md5.js";
export { SaslError, type SaslMechanism, type SaslMechanismFactory } from "./mechanism.js";
