/** Messages between the parent (run.ts) and a client worker (worker.ts), over the fork IPC channel. */
import type { ClientName } from "./clients/client.js";
import type { Limit } from "./driver.js";
import type { Workload } from "./scenarios.js";

/** Where the benchmark's nodes live; created by the parent before any worker runs. */
export interface Paths {
  root: string;
  /** Read by get-seq and get-pipelined-*: `dataBytes` of data. */
  data: string;
  /** Written by set-pipelined-*. */
  set: string;
  /** This client's ephemeral node for create-delete (its own, so a leftover cannot collide). */
  createDelete: string;
  /** This client's lock node (the parent creates it; contenders create their children under it). */
  lock: string;
}

export type ToWorker =
  | {
      type: "start";
      client: ClientName;
      connectString: string;
      sessionTimeoutMs: number;
      paths: Paths;
      dataBytes: number;
      /** Profile the measured runs (inspector CPU profile) into this directory. */
      profileDir: string | null;
    }
  /** `warmup` runs are thrown away by the parent and left out of profiles. */
  | { type: "run"; id: number; scenario: string; workload: Workload; limit: Limit; warmup: boolean }
  | { type: "close" };

export interface MemoryDelta {
  /** Peak minus baseline, bytes. */
  heapUsed: number;
  /** Buffers and other memory outside the JS heap that V8 is told about. */
  external: number;
  rss: number;
}

export interface RunResult {
  ops: number;
  errors: number;
  firstError?: string;
  /** From the first issue to the last completion. */
  wallMs: number;
  /** process.cpuUsage() user + system over the same window, this worker process only (all threads). */
  cpuUs: number;
  /** The user part of `cpuUs`: the process's own code, without the kernel's socket work. */
  userUs: number;
  /**
   * The ZooKeeper server's CPU time (all its threads) while the parent waited for this run; set by the
   * parent, and only for a server the benchmark started itself (see server-cpu.ts).
   */
  serverCpuUs?: number;
  /** Requests the server received over the run (its `srvr` count), for a server the run started. */
  serverRequests?: number;
  p50Us?: number;
  p99Us?: number;
  /** Lock scenarios: watch notifications all contending sessions received during the run. */
  notifications?: number;
  /** Of those, the ones that woke a session (see Lock.wakeups); absent when the client cannot tell. */
  wakeups?: number;
  /** Memory scenario: right after issuing (all requests held by the client), and the peak until the last reply. */
  memory?: { issued: MemoryDelta; peak: MemoryDelta };
}

export type FromWorker =
  /** `lock`: why this client cannot run the lock scenarios, or null when it can. */
  | { type: "ready"; lock: string | null }
  | { type: "unavailable"; reason: string }
  | { type: "result"; id: number; result: RunResult }
  | { type: "failed"; id: number; error: string }
  | { type: "closed"; profile: string | null };
