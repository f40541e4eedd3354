/**
 * The numbers of the ZooKeeper wire protocol: opcodes, error codes, create modes, permissions, watcher
 * event types and keeper states, and the reserved xids. Values as in ZooKeeper 3.9 (`ZooDefs.OpCode`,
 * `KeeperException.Code`, `CreateMode`, `Watcher.Event`, `ClientCnxn`).
 */

/** Request types (`RequestHeader.type`). */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

/** Server error codes (`ReplyHeader.err`, `MultiHeader.err`, `ErrorResponse.err`). */
export const ErrorCode = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  ThrottledOp: -127,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCode = (typeof ErrorCode)[ErrorCodeName];

const errorNames = new Map<number, ErrorCodeName>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name as ErrorCodeName]),
);

/** The name of a server error code; codes this client does not know are named `Unknown(<code>)`. */
export function errorCodeName(code: number): string {
  return errorNames.get(code) ?? `Unknown(${code})`;
}

/** `CreateRequest.flags`. */
export const CreateMode = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
  container: 4,
  persistentWithTTL: 5,
  persistentSequentialWithTTL: 6,
} as const;
export type CreateModeName = keyof typeof CreateMode;
export type CreateMode = (typeof CreateMode)[CreateModeName];

/** ACL permission bits (`ACL.perms`). */
export const Perms = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  CREATE: 1 << 2,
  DELETE: 1 << 3,
  ADMIN: 1 << 4,
  ALL: 0x1f,
} as const;

/** `WatcherEvent.type`. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
export type EventTypeName = keyof typeof EventType;
export type EventType = (typeof EventType)[EventTypeName];

/** `WatcherEvent.state`: the state of the client's session, as the reference client names it. */
export const KeeperState = {
  Unknown: -1,
  Disconnected: 0,
  NoSyncConnected: 1,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const;
export type KeeperState = (typeof KeeperState)[keyof typeof KeeperState];

/** `CheckWatchesRequest.type` and `RemoveWatchesRequest.type`. */
export const WatcherType = {
  Children: 1,
  Data: 2,
  Any: 3,
  Persistent: 4,
  PersistentRecursive: 5,
} as const;
export type WatcherType = (typeof WatcherType)[keyof typeof WatcherType];

/** `AddWatchRequest.mode`. */
export const AddWatchMode = {
  persistent: 0,
  persistentRecursive: 1,
} as const;
export type AddWatchMode = (typeof AddWatchMode)[keyof typeof AddWatchMode];

/**
 * Reserved xids. The server echoes the request's xid in its reply; these mark replies that do not
 * answer a numbered request (notifications) or answer the client's housekeeping.
 */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const;

/** Auth packets carry type 0 (`AuthPacket.type`); the server ignores it, the reference sends 0. */
export const AUTH_PACKET_TYPE = 0;

/**
 * The server's default `jute.maxbuffer`: the largest request (and node data) it accepts. Replies can be
 * larger than node data alone (headers, Stat), hence the client's frame limit adds headroom.
 */
export const JUTE_MAX_BUFFER = 0xfffff;
/** Default largest frame the client accepts: jute.maxbuffer plus room for reply header and Stat. */
export const DEFAULT_MAX_PACKET = JUTE_MAX_BUFFER + 1024;
