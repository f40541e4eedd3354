/**
 * zkwire: a ZooKeeper client for Node.js, in TypeScript, from the wire protocol up.
 */
export {
  type AclEntry,
  CREATOR_ALL_ACL,
  digestAcl,
  digestId,
  Ids,
  OPEN_ACL_UNSAFE,
  Perms,
  READ_ACL_UNSAFE,
} from "./client/acl.js";
export {
  type CallOptions,
  type ChildrenResult,
  type ConfigResult,
  type DataResult,
  type ReconfigOptions,
  type WatchCallOptions,
  type WatchOption,
  type WatchResult,
  type WatchTypeName,
  ZooKeeper,
  type ZooKeeperOptions,
} from "./client/client.js";
export { PersistentWatch } from "./client/persistent-watch.js";
export { type CreateOptions, type Data, MAX_TTL } from "./client/requests.js";
export {
  type CheckResult,
  type CommitOptions,
  type CreateResult,
  type DeleteResult,
  type GetChildrenOpResult,
  type GetDataOpResult,
  type OpOutcome,
  ReadBatch,
  type ReadResult,
  type SetDataResult,
  Transaction,
  TransactionError,
  type TransactionResult,
} from "./client/transaction.js";
export { ClientErrorCode, isZooKeeperError, ZkArgumentError, ZooKeeperError } from "./errors.js";
export { type CreateModeName, ErrorCode, type ErrorCodeName } from "./protocol/constants.js";
export { ZkProtocolError } from "./protocol/errors.js";
export type { ACL } from "./protocol/records/acl.js";
export type { ClientInfo } from "./protocol/records/client-info.js";
export type { Stat } from "./protocol/records/stat.js";
export {
  Barrier,
  type BarrierOptions,
  DoubleBarrier,
  type DoubleBarrierOptions,
  type WaitOptions,
} from "./recipes/barrier.js";
export { ChildrenCache, NodeCache, type NodeCacheOptions } from "./recipes/cache/node-cache.js";
export { listSubtree, type SubtreeNode, type SubtreeOptions } from "./recipes/cache/subtree.js";
export {
  CacheClosedError,
  type CachedNode,
  type CacheNodeEvent,
  type CacheWatchMode,
  TreeCache,
  type TreeCacheEvent,
  type TreeCacheOptions,
} from "./recipes/cache/tree-cache.js";
export { type ConnectionState, ConnectionView } from "./recipes/connection.js";
export {
  AtomicLong,
  type AtomicLongOptions,
  type AtomicResult,
  ConflictError,
  CorruptValueError,
  int32Codec,
  SharedCount,
  SharedValue,
  type SharedValueOptions,
  type ValueCodec,
  type ValueIn,
  type VersionedValue,
} from "./recipes/counters.js";
export {
  parseInstance,
  parseUriSpec,
  ServiceDiscovery,
  type ServiceDiscoveryOptions,
  type ServiceInstance,
  type ServiceInstanceInput,
  type ServiceType,
  serializeInstance,
  type UriSpecPart,
} from "./recipes/discovery.js";
export {
  Election,
  type ElectionNaming,
  type ElectionOptions,
  LeaderLease,
  type RunOptions,
} from "./recipes/election.js";
export {
  type GroupChange,
  GroupMember,
  type GroupMemberOptions,
} from "./recipes/group-member.js";
export { LeaderLatch, type LeaderLatchOptions } from "./recipes/leader-latch.js";
export {
  type AcquireOptions,
  contenders,
  Lease,
  Lock,
  LockLostError,
  type LockNaming,
  type LockOptions,
  LockTimeoutError,
  sequenceOf,
} from "./recipes/lock.js";
export {
  kazooPartition,
  Partitioner,
  type PartitionerOptions,
  type PartitionFunction,
  type PartitionState,
} from "./recipes/partitioner.js";
export {
  PersistentNode,
  type PersistentNodeMode,
  type PersistentNodeOptions,
  PersistentNodeTimeoutError,
} from "./recipes/persistent-node.js";
export {
  LockingQueue,
  type PutOptions,
  Queue,
  type QueueItem,
  type QueueOptions,
  type TakeOptions,
} from "./recipes/queue.js";
export {
  ReadWriteLock,
  type ReadWriteLockNaming,
  type ReadWriteLockOptions,
  SharedLockSide,
} from "./recipes/read-write-lock.js";
export {
  Semaphore,
  type SemaphoreAcquireOptions,
  type SemaphoreLayout,
  SemaphoreLeases,
  type SemaphoreOptions,
  SemaphoreTimeoutError,
} from "./recipes/semaphore.js";
export {
  ElectionClosedError,
  LeadershipTimeoutError,
  type Participant,
} from "./recipes/toolkit/leadership.js";
export { RecipeClosedError, RecipeTimeoutError } from "./recipes/toolkit/state-support.js";
export { type ConnectString, type HostAddress, parseConnectString } from "./session/connect-string.js";
export type { Logger } from "./session/logger.js";
export { pathProblem, validatePath } from "./session/paths.js";
export {
  DigestMd5Mechanism,
  type DigestMd5Options,
  digestMd5,
  SaslError,
  type SaslMechanism,
  type SaslMechanismFactory,
} from "./session/sasl/index.js";
export { ConnectError } from "./session/session.js";
export type { KeeperStateName, SessionState, SessionStateKind } from "./session/state.js";
export type { NodeEventType, WatchedEvent, Watcher } from "./session/watches.js";
