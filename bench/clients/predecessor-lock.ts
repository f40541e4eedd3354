/**
 * The standard ZooKeeper lock recipe (the "Locks" recipe of the ZooKeeper documentation), for clients
 * that have no lock of their own, written against four callback operations so that any callback client
 * can lend them:
 *
 *   acquire: create <lock>/lock- (ephemeral, sequential)            -> my node, e.g. lock-0000000007
 *            getChildren <lock>                                      -> sorted by sequence number
 *            lowest?  held
 *            else exists(<predecessor>, watch)  gone? -> getChildren again
 *                                               there? -> wait for its event -> getChildren again
 *   release: delete my node (which wakes exactly the next in line: no herd)
 */
import type { Done, Lock, LockHold } from "./client.js";

export interface WatchingClient {
  /** Creates `<prefix><sequence>` as an ephemeral sequential node; passes the created path. */
  createEphemeralSequential(prefix: string, cb: (err: unknown, path: string) => void): void;
  getChildren(path: string, cb: (err: unknown, children: string[]) => void): void;
  /** exists with a one-shot watch: passes whether the node exists; `watcher` fires on its next change. */
  existsWatch(path: string, watcher: () => void, cb: (err: unknown, exists: boolean) => void): void;
  delete(path: string, cb: (err: unknown) => void): void;
}

const PREFIX = "lock-";

/** The sequence number ZooKeeper appends: ten digits, so names sort as numbers. */
function sequenceOf(name: string): string {
  return name.slice(name.length - 10);
}

export class PredecessorLock implements Lock {
  notifications = 0;

  constructor(
    private readonly zk: WatchingClient,
    private readonly lockPath: string,
  ) {}

  acquire(done: (error: unknown, hold: LockHold | null) => void): void {
    this.zk.createEphemeralSequential(`${this.lockPath}/${PREFIX}`, (err, path) => {
      if (err) return done(err, null);
      const mine = path.slice(this.lockPath.length + 1);
      const hold: LockHold = { release: (cb: Done) => this.zk.delete(path, cb) };
      this.check(mine, hold, done);
    });
  }

  private check(mine: string, hold: LockHold, done: (error: unknown, hold: LockHold | null) => void): void {
    this.zk.getChildren(this.lockPath, (err, children) => {
      if (err) return done(err, null);
      const mySeq = sequenceOf(mine);
      // The predecessor is the node with the greatest sequence below mine; one pass, no sort needed.
      let predecessor: string | null = null;
      let predecessorSeq = "";
      for (const child of children) {
        if (!child.startsWith(PREFIX)) continue;
        const seq = sequenceOf(child);
        if (seq < mySeq && seq > predecessorSeq) {
          predecessor = child;
          predecessorSeq = seq;
        }
      }
      if (predecessor === null) return done(null, hold);
      let woken = false;
      const wake = () => {
        if (woken) return;
        woken = true;
        this.check(mine, hold, done);
      };
      const watcher = () => {
        this.notifications++;
        wake();
      };
      this.zk.existsWatch(`${this.lockPath}/${predecessor}`, watcher, (err2, exists) => {
        if (err2) return done(err2, null);
        // Gone between getChildren and exists: look again at once (the watch, set on a missing node,
        // would only fire if the name were created again, which sequential names never are).
        if (!exists) wake();
      });
    });
  }
}
