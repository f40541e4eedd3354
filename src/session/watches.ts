/**
 * The session's watches, keyed by server path, and the reference client's rules for which event fires
 * which watch (ZKWatchManager.materialize):
 *
 *   NodeCreated, NodeDataChanged  data and exist watches on the path; persistent on the path;
 *                                 persistent-recursive on the path and every ancestor
 *   NodeDeleted                   data, exist and child watches on the path; persistent and recursive
 *                                 as above
 *   NodeChildrenChanged           child watches on the path; persistent on the path (recursive watches
 *                                 promise no child events, so the server's are filtered out here)
 *
 * One-shot watches (data, exist, child) are removed when they fire. A watcher registered twice on one
 * path (the same function) fires once; two different watchers each fire. The registry keeps what
 * reconnection needs: every path with its kinds, re-sent with SetWatches/SetWatches2.
 */
import { parentOf } from "./paths.js";
import type { KeeperStateName } from "./state.js";

export type NodeEventType =
  | "NodeCreated"
  | "NodeDeleted"
  | "NodeDataChanged"
  | "NodeChildrenChanged"
  | "DataWatchRemoved"
  | "ChildWatchRemoved"
  | "PersistentWatchRemoved";

export interface WatchedEvent {
  /** What happened; "None" for a change of the session's state (no path). */
  readonly type: NodeEventType | "None";
  /** The session's state when the event was delivered. */
  readonly state: KeeperStateName;
  /** The node the event is about (client path, chroot removed); "" for state events. */
  readonly path: string;
  /** The zxid of the notification (server 3.9 sends it; -1 when unknown). */
  readonly zxid: bigint;
}

export type Watcher = (event: WatchedEvent) => void;

export type WatchKind = "data" | "exist" | "child" | "persistent" | "persistentRecursive";

export const EVENT_TYPE_NAMES: Record<number, NodeEventType> = {
  1: "NodeCreated",
  2: "NodeDeleted",
  3: "NodeDataChanged",
  4: "NodeChildrenChanged",
  5: "DataWatchRemoved",
  6: "ChildWatchRemoved",
  7: "PersistentWatchRemoved",
};

type Table = Map<string, Set<Watcher>>;

export class WatchRegistry {
  private readonly tables: Record<WatchKind, Table> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const table = this.tables[kind];
    let set = table.get(path);
    if (set === undefined) table.set(path, (set = new Set()));
    set.add(watcher);
  }

  /** Removes one watcher; true when it was there. */
  remove(kind: WatchKind, path: string, watcher: Watcher): boolean {
    const table = this.tables[kind];
    const set = table.get(path);
    if (set === undefined || !set.delete(watcher)) return false;
    if (set.size === 0) table.delete(path);
    return true;
  }

  /** Whether any watcher of this kind remains on the path. */
  has(kind: WatchKind, path: string): boolean {
    return this.tables[kind].has(path);
  }

  /** Removes and returns every watcher of these kinds on the path (for removeWatches). */
  take(kinds: readonly WatchKind[], path: string): Watcher[] {
    const out: Watcher[] = [];
    for (const kind of kinds) {
      const set = this.tables[kind].get(path);
      if (set === undefined) continue;
      this.tables[kind].delete(path);
      for (const w of set) out.push(w);
    }
    return out;
  }

  /** The watchers a node event fires, one-shots removed; each watcher once. */
  materialize(type: NodeEventType, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    const takeOneShot = (kind: WatchKind) => {
      const set = this.tables[kind].get(path);
      if (set === undefined) return;
      this.tables[kind].delete(path);
      for (const w of set) out.add(w);
    };
    switch (type) {
      case "NodeCreated":
      case "NodeDataChanged":
        takeOneShot("data");
        takeOneShot("exist");
        break;
      case "NodeChildrenChanged":
        takeOneShot("child");
        break;
      case "NodeDeleted":
        takeOneShot("data");
        takeOneShot("exist");
        takeOneShot("child");
        break;
      default:
        return out;
    }
    for (const w of this.tables.persistent.get(path) ?? []) out.add(w);
    if (type !== "NodeChildrenChanged" && this.tables.persistentRecursive.size > 0) {
      for (let p = path; ; p = parentOf(p)) {
        for (const w of this.tables.persistentRecursive.get(p) ?? []) out.add(w);
        if (p === "/") break;
      }
    }
    return out;
  }

  /** Every watcher, each once (for state events). */
  all(): Set<Watcher> {
    const out = new Set<Watcher>();
    for (const table of Object.values(this.tables)) {
      for (const set of table.values()) for (const w of set) out.add(w);
    }
    return out;
  }

  /** Persistent watchers only (they hear about disconnection and reconnection). */
  persistentWatchers(): Set<Watcher> {
    const out = new Set<Watcher>();
    for (const kind of ["persistent", "persistentRecursive"] as const) {
      for (const set of this.tables[kind].values()) for (const w of set) out.add(w);
    }
    return out;
  }

  /** The paths of each kind, for SetWatches/SetWatches2 after reconnecting. */
  paths(kind: WatchKind): string[] {
    return [...this.tables[kind].keys()];
  }

  get empty(): boolean {
    return Object.values(this.tables).every((t) => t.size === 0);
  }

  clear(): void {
    for (const table of Object.values(this.tables)) table.clear();
  }
}
