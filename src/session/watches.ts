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
 *
 * The WatchManager is the one owner of the session's watches: it registers them when a reply says so,
 * delivers the server's events and the session's state events, removes them (removeWatches, a closed
 * persistent watch, an addWatch its caller abandoned), and re-registers them on a new connection.
 * Nothing else reads or edits its tables.
 */
import { ErrorCode, WatcherType, Xid } from "../protocol/constants.js";
import { Operations } from "../protocol/operations.js";
import {
  encodeFrame,
  type Failure,
  type Frame,
  type Pending,
  request,
  type WatchRegistration,
} from "./depot.js";
import type { Logger } from "./logger.js";
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

/** The tables of watchers by kind and path; only the WatchManager holds one. */
class WatchRegistry {
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

/** SetWatches batch limit of the reference client: the server rejects packets over jute.maxbuffer. */
const SET_WATCHES_MAX_BYTES = 128 * 1024;

const SET_WATCHES_KINDS = ["data", "exist", "child", "persistent", "persistentRecursive"] as const;

const ALL_KINDS: readonly WatchKind[] = SET_WATCHES_KINDS;

const ignore = () => {};

/** What the manager needs from its session. */
export interface WatchSession {
  /** Sends a removeWatches frame; rejects with a Failure. */
  removeWatches(
    frame: Frame,
    options?: { signal?: AbortSignal | undefined; timeout?: number | undefined },
  ): Promise<void>;
  /** The session's state as carried in events. */
  keeperState(): KeeperStateName;
  readonly logger: Logger;
}

export class WatchManager {
  private readonly registry = new WatchRegistry();

  constructor(private readonly session: WatchSession) {}

  /** A reply arrived for a request that sets a watch: register the kind its outcome calls for. */
  register(reg: WatchRegistration, err: number): void {
    const kind = err === 0 ? reg.onOk : err === ErrorCode.NoNode ? reg.onNoNode : null;
    if (kind !== null) this.registry.add(kind, reg.path, reg.watcher);
  }

  /** A notification from the server: the watchers it fires, one-shots removed. */
  notify(type: NodeEventType, serverPath: string, event: WatchedEvent): void {
    for (const watcher of this.registry.materialize(type, serverPath)) this.deliver(watcher, event);
  }

  /** Persistent watchers hear about disconnection and reconnection: events may have been missed. */
  connectionChanged(event: WatchedEvent): void {
    for (const w of this.registry.persistentWatchers()) this.deliver(w, event);
  }

  /** The session ended: every watcher gets its last event, and none remains. */
  end(event: WatchedEvent): void {
    const watchers = this.registry.all();
    this.registry.clear();
    for (const w of watchers) this.deliver(w, event);
  }

  /**
   * Removes watchers of these kinds from the path (just `watcher` when given, else all), tells the server
   * when no local watcher of the kinds remains (`frame`: the removeWatches request), and gives each
   * removed watcher its *WatchRemoved event. If the server cannot be told, the watchers are put back,
   * unless `local`. Rejects with a Failure (NoWatcher when `watcher` watched nothing here).
   */
  async remove(
    path: string,
    clientPath: string,
    kinds: readonly WatchKind[],
    watcher: Watcher | undefined,
    local: boolean,
    frame: Frame,
    options: { signal?: AbortSignal | undefined; timeout?: number | undefined },
  ): Promise<void> {
    const registry = this.registry;
    const removed: { kind: WatchKind; watcher: Watcher }[] = [];
    if (watcher !== undefined) {
      for (const kind of kinds) if (registry.remove(kind, path, watcher)) removed.push({ kind, watcher });
      if (removed.length === 0) throw { code: ErrorCode.NoWatcher } satisfies Failure;
    } else {
      for (const kind of kinds)
        for (const w of registry.take([kind], path)) removed.push({ kind, watcher: w });
    }
    if (!kinds.some((k) => registry.has(k, path))) {
      try {
        await this.session.removeWatches(frame, options);
      } catch (f) {
        if (!local) {
          for (const r of removed) registry.add(r.kind, path, r.watcher);
          throw f;
        }
      }
    }
    const state = this.session.keeperState() === "ConnectedReadOnly" ? "ConnectedReadOnly" : "SyncConnected";
    for (const r of removed) {
      const type =
        r.kind === "child"
          ? "ChildWatchRemoved"
          : r.kind === "data" || r.kind === "exist"
            ? "DataWatchRemoved"
            : "PersistentWatchRemoved";
      this.deliver(r.watcher, { type, state, path: clientPath, zxid: -1n });
    }
  }

  /** A persistent watch was closed: its watcher goes, and the server's registration if it was the last. */
  async removePersistent(
    kind: "persistent" | "persistentRecursive",
    path: string,
    watcher: Watcher,
  ): Promise<void> {
    if (!this.registry.remove(kind, path, watcher)) return;
    await this.unregister(kind, path);
  }

  /**
   * An addWatch whose caller gave up after it was written: the server may apply it, and nobody holds
   * the watch. Queued right behind it, so every request after this one already sees it gone.
   */
  abandoned(reg: WatchRegistration): void {
    if (reg.onOk === "persistent" || reg.onOk === "persistentRecursive")
      void this.unregister(reg.onOk, reg.path);
  }

  /**
   * The one path that takes a persistent watch off the server: removeWatches by its type, unless another
   * local watcher of the kind on the path still needs the server's registration. Servers before 3.9
   * cannot remove a persistent watch by its type (ZOOKEEPER-4472: they answer MarshallingError); when
   * nothing else watches the path locally, removing every watch on it ("any") does the job, otherwise the
   * server's watch stays and its events find no watcher here.
   */
  private async unregister(kind: "persistent" | "persistentRecursive", path: string): Promise<void> {
    if (this.registry.has(kind, path)) return;
    const state = this.session.keeperState();
    if (state !== "SyncConnected" && state !== "ConnectedReadOnly") return;
    const type = kind === "persistentRecursive" ? WatcherType.PersistentRecursive : WatcherType.Persistent;
    try {
      await this.session.removeWatches(encodeFrame(Operations.removeWatches, { path, type }));
    } catch (f) {
      if ((f as Failure | undefined)?.code !== ErrorCode.MarshallingError || f instanceof Error) return;
      if (ALL_KINDS.some((k) => this.registry.has(k, path))) return;
      const any = encodeFrame(Operations.removeWatches, { path, type: WatcherType.Any });
      await this.session.removeWatches(any).catch(ignore);
    }
  }

  /** SetWatches (or SetWatches2 when persistent watches exist) in batches of at most 128 KB of paths. */
  reregistration(relativeZxid: bigint): Pending[] {
    if (this.registry.empty) return [];
    const lists = SET_WATCHES_KINDS.map((k) => this.registry.paths(k));
    const out: Pending[] = [];
    let batch: string[][] = SET_WATCHES_KINDS.map(() => []);
    let bytes = 0;
    const emit = () => {
      const [data, exist, child, persistent, recursive] = batch as [
        string[],
        string[],
        string[],
        string[],
        string[],
      ];
      const oneShots = { relativeZxid, dataWatches: data, existWatches: exist, childWatches: child };
      // Older servers (3.5) know only SetWatches; use SetWatches2 only when it is needed.
      const frame =
        persistent.length === 0 && recursive.length === 0
          ? encodeFrame(Operations.setWatches, oneShots, Xid.setWatches)
          : encodeFrame(
              Operations.setWatches2,
              { ...oneShots, persistentWatches: persistent, persistentRecursiveWatches: recursive },
              Xid.setWatches,
            );
      const op =
        persistent.length === 0 && recursive.length === 0 ? Operations.setWatches : Operations.setWatches2;
      out.push(request(op, frame, null, ignore, ignore, Xid.setWatches));
      batch = SET_WATCHES_KINDS.map(() => []);
      bytes = 0;
    };
    lists.forEach((paths, k) => {
      for (const path of paths) {
        const size = 4 + Buffer.byteLength(path);
        if (bytes + size > SET_WATCHES_MAX_BYTES && bytes > 0) emit();
        batch[k]!.push(path);
        bytes += size;
      }
    });
    if (bytes > 0) emit();
    return out;
  }

  /** A watcher that throws cannot break the session or keep other watchers from their events. */
  private deliver(watcher: Watcher, event: WatchedEvent): void {
    try {
      watcher(event);
    } catch (err) {
      this.session.logger.error?.("a watcher threw", { error: err, event });
    }
  }
}
