/**
 * multi and multiRead as builders with typed results.
 *
 *   const [created, , updated] = await zk.transaction()
 *     .create("/jobs/j1", data, { mode: "persistent" })
 *     .check("/jobs", 4)
 *     .setData("/jobs/latest", "j1")
 *     .commit();
 *
 * A transaction is all or nothing; when it fails, TransactionError says which op failed and why (the
 * server reports 0 for the ops before it and RuntimeInconsistency for the ones after).
 */
import { type OpOutcome, TransactionError, ZooKeeperError } from "../errors.js";
import { ErrorCode, OpCode } from "../protocol/constants.js";
import type { MultiOp, MultiResult } from "../protocol/records/multi.js";
import type { Stat } from "../protocol/records/stat.js";
import { toClientPath } from "../session/paths.js";
import {
  buildCheck,
  buildCreate,
  buildDelete,
  buildSetData,
  type CreateOptions,
  type Data,
  serverPath,
} from "./requests.js";

export interface CreateResult {
  readonly type: "create";
  /** The created node's path (with the sequence number for sequential modes), without chroot. */
  readonly path: string;
  /**
   * The new node's Stat. Absent from servers before 3.7, which answer a create inside a transaction
   * without one (a plain create result) even when asked for it.
   */
  readonly stat?: Stat;
}
export interface DeleteResult {
  readonly type: "delete";
}
export interface SetDataResult {
  readonly type: "setData";
  readonly stat: Stat;
}
export interface CheckResult {
  readonly type: "check";
}
export type TransactionResult = CreateResult | DeleteResult | SetDataResult | CheckResult;

// The errors live with every other zkwire error; these names stay importable from here.
export { type OpOutcome, TransactionError };

interface Entry {
  op: MultiOp;
  name: string;
  path: string;
}

export type MultiSubmit = (type: number, ops: MultiOp[], options: CommitOptions) => Promise<MultiResult[]>;

export interface CommitOptions {
  signal?: AbortSignal;
  timeout?: number;
}

export class Transaction<R extends readonly TransactionResult[] = []> {
  private readonly entries: Entry[] = [];
  private readonly guards: number;

  /**
   * `guards` are checks that go first and are not part of the results: the transaction applies only if
   * each node still exists (at the version, when one is given). A failed guard rejects with `onGuard`'s
   * error; a lock lease uses this so that a holder can write only while it still holds the lock.
   */
  constructor(
    private readonly chroot: string,
    private readonly submit: MultiSubmit,
    guards: readonly { path: string; version?: number }[] = [],
    private readonly onGuard?: (code: number, path: string) => Error,
  ) {
    for (const g of guards) this.add(buildCheck(chroot, g.path, g.version ?? -1), "check", g.path);
    this.guards = guards.length;
  }

  /** Ops added (guards not counted). */
  get size(): number {
    return this.entries.length - this.guards;
  }

  create(path: string, data?: Data | null, options?: CreateOptions): Transaction<[...R, CreateResult]> {
    return this.add(buildCreate(this.chroot, path, data, options), "create", path);
  }

  delete(path: string, version?: number): Transaction<[...R, DeleteResult]> {
    return this.add(buildDelete(this.chroot, path, version), "delete", path);
  }

  setData(path: string, data: Data, version?: number): Transaction<[...R, SetDataResult]> {
    return this.add(buildSetData(this.chroot, path, data, version), "setData", path);
  }

  /** Fails the transaction unless the node has this version. */
  check(path: string, version: number): Transaction<[...R, CheckResult]> {
    return this.add(buildCheck(this.chroot, path, version), "check", path);
  }

  /** Sends the transaction. An empty one resolves at once with no results, like the reference client. */
  async commit(options: CommitOptions = {}): Promise<R> {
    if (this.size === 0) return [] as unknown as R;
    const results = await this.submit(
      OpCode.multi,
      this.entries.map((e) => e.op),
      options,
    );
    const failedAt = results.findIndex((r) => r.type === OpCode.error && r.err !== 0);
    if (failedAt >= 0) {
      const outcomes = results.map((r, i) => ({
        op: this.entries[i]?.name ?? "?",
        path: this.entries[i]?.path ?? "",
        code: r.type === OpCode.error ? r.err : 0,
      }));
      const failed = results[failedAt] as { err: number };
      if (failedAt < this.guards && this.onGuard !== undefined) {
        throw this.onGuard(failed.err, this.entries[failedAt]!.path);
      }
      throw new TransactionError(failed.err, failedAt - this.guards, outcomes.slice(this.guards));
    }
    return results.slice(this.guards).map((r) => this.toResult(r)) as unknown as R;
  }

  private add<N extends TransactionResult>(op: MultiOp, name: string, path: string): Transaction<[...R, N]> {
    this.entries.push({ op, name, path });
    return this as unknown as Transaction<[...R, N]>;
  }

  private toResult(r: MultiResult): TransactionResult {
    switch (r.type) {
      case OpCode.create2:
        return { type: "create", path: toClientPath(this.chroot, r.path ?? ""), stat: r.stat };
      case OpCode.create:
        return { type: "create", path: toClientPath(this.chroot, r.path ?? "") };
      case OpCode.delete:
        return { type: "delete" };
      case OpCode.setData:
        return { type: "setData", stat: r.stat };
      case OpCode.check:
        return { type: "check" };
      default:
        throw new ZooKeeperError(ErrorCode.MarshallingError, {
          op: "multi",
          detail: `unexpected result type ${r.type} in a transaction reply`,
        });
    }
  }
}

export type ReadResult<T> = T | { readonly type: "error"; readonly error: ZooKeeperError };
export interface GetDataOpResult {
  readonly type: "getData";
  readonly data: Uint8Array;
  readonly stat: Stat;
}
export interface GetChildrenOpResult {
  readonly type: "getChildren";
  readonly children: string[];
}

/**
 * multiRead (server 3.6+): several reads answered together, from one point in the server's history.
 * Unlike a transaction, each read succeeds or fails on its own.
 */
export class ReadBatch<R extends readonly unknown[] = []> {
  private readonly entries: Entry[] = [];

  constructor(
    private readonly chroot: string,
    private readonly submit: MultiSubmit,
  ) {}

  getData(path: string): ReadBatch<[...R, ReadResult<GetDataOpResult>]> {
    return this.add(
      { type: OpCode.getData, request: { path: serverPath(this.chroot, path), watch: false } },
      path,
    );
  }

  getChildren(path: string): ReadBatch<[...R, ReadResult<GetChildrenOpResult>]> {
    return this.add(
      { type: OpCode.getChildren, request: { path: serverPath(this.chroot, path), watch: false } },
      path,
    );
  }

  async run(options: CommitOptions = {}): Promise<R> {
    if (this.entries.length === 0) return [] as unknown as R;
    const results = await this.submit(
      OpCode.multiRead,
      this.entries.map((e) => e.op),
      options,
    );
    return results.map((r, i): unknown => {
      const entry = this.entries[i];
      switch (r.type) {
        case OpCode.getData:
          return { type: "getData", data: r.data ?? Buffer.alloc(0), stat: r.stat };
        case OpCode.getChildren:
          return { type: "getChildren", children: r.children ?? [] };
        case OpCode.error:
          return { type: "error", error: new ZooKeeperError(r.err, { op: entry?.name, path: entry?.path }) };
        default:
          return {
            type: "error",
            error: new ZooKeeperError(ErrorCode.MarshallingError, {
              op: "multiRead",
              detail: `unexpected result type ${r.type}`,
            }),
          };
      }
    }) as unknown as R;
  }

  private add<N>(op: MultiOp, path: string): ReadBatch<[...R, N]> {
    this.entries.push({ op, name: op.type === OpCode.getData ? "getData" : "getChildren", path });
    return this as unknown as ReadBatch<[...R, N]>;
  }
}
