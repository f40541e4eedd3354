/**
 * What LeaderLatch and Election share: the participants as read from the children (id = the child's
 * data, as Curator's LeaderSelector.getIdBytes and kazoo's Lock identifier store it) and the checks of a
 * participant id. Their errors (LeadershipTimeoutError, ElectionClosedError) live in src/errors.ts and are
 * re-exported here.
 */
import type { ZooKeeper } from "../../client/client.js";
import { ZkArgumentError, ZooKeeperError } from "../../errors.js";
import { ErrorCode } from "../../protocol/constants.js";
import { joinPath } from "../../session/paths.js";
import { retryOnConnectionLoss } from "./retry.js";
import { contenders } from "./sequence.js";

// The errors live with every other zkwire error (src/errors.ts); their names stay importable from here.
export { ElectionClosedError, LeadershipTimeoutError } from "../../errors.js";

/** One participant of an election: its id (its child's data), its child, and whether it leads. */
export interface Participant {
  readonly id: string;
  readonly path: string;
  readonly isLeader: boolean;
}

/**
 * A participant id must fit a request: the server refuses packets over jute.maxbuffer (1 MiB by
 * default) and the client refuses them before sending. Checked up front with room for the path.
 */
export function checkParticipantId(id: unknown): string {
  if (typeof id !== "string") throw new ZkArgumentError(`id must be a string, got ${typeof id}`);
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > MAX_ID_BYTES) {
    throw new ZkArgumentError(`id is ${bytes} bytes; a participant id can be at most ${MAX_ID_BYTES}`);
  }
  return id;
}

/** jute.maxbuffer's default (0xfffff) less room for the create's path, ACL and header. */
const MAX_ID_BYTES = 0xfffff - 4096;

const decoder = new TextDecoder();

/**
 * The participants under `path`, lowest sequence first, the first flagged leader. A child deleted
 * between the listing and its read is skipped (as Curator's getParticipantNodes does).
 */
export async function readParticipants(
  zk: ZooKeeper,
  path: string,
  signal?: AbortSignal,
): Promise<Participant[]> {
  let children: string[];
  try {
    children = (await retryOnConnectionLoss(() => zk.getChildren(path, { signal }), signal)).children;
  } catch (err) {
    if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return [];
    throw err;
  }
  const sorted = contenders(children);
  const reads = sorted.map((name) =>
    retryOnConnectionLoss(() => zk.getData(joinPath(path, name), { signal }), signal).then(
      (r) => ({ name, id: decoder.decode(r.data) }),
      (err: unknown) => {
        if (err instanceof ZooKeeperError && err.code === ErrorCode.NoNode) return null;
        throw err;
      },
    ),
  );
  const found = (await Promise.all(reads)).filter((p) => p !== null);
  return found.map((p, i) => ({ id: p.id, path: joinPath(path, p.name), isLeader: i === 0 }));
}
