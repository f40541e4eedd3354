/**
 * Bytes from the network never crash the process: a server that sends garbage, lies about lengths or
 * answers requests nobody made ends that connection with a protocol error, and the client goes on to
 * the next host. A real server cannot be made to misbehave on demand, so a fake one (support/fake-server.ts)
 * plays scripts that fast-check generates; the real shared server of the run is the "next host".
 *
 * Knobs: FC_NET_RUNS (runs per property, default 50), FC_NET_SHRINK=0 (stop at the first failure
 * instead of shrinking, which replays each candidate over real sockets and can take a while).
 */
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  ClientErrorCode,
  ConnectError,
  ErrorCode,
  type SessionState,
  ZooKeeper,
  ZooKeeperError,
} from "../../src/index.js";
import {
  ConnectResponse,
  encode,
  OpCode,
  WatcherEvent,
  type WatcherEvent as WatcherEventValue,
} from "../../src/protocol/index.js";
import {
  type Action,
  type Chunking,
  type ConnectionLog,
  FakeZooKeeper,
  judgeOpening,
  type Opening,
  type OpeningVerdict,
  type ProcessProblems,
  replyFrames,
  type Script,
  watchProcess,
} from "./support/fake-server.js";

const RUNS = Number(process.env.FC_NET_RUNS ?? 50);
const FC_OPTIONS = { numRuns: RUNS, endOnFailure: process.env.FC_NET_SHRINK === "0" };
/** The client's largest accepted frame here: small, so that "too large" lengths are cheap to produce. */
const MAX_PACKET = 64 * 1024;
/**
 * HostList shuffles with Fisher-Yates, swapping item i with j = floor(random() * (i + 1)); a random()
 * just under 1 gives j = i, so the hosts stay in connect-string order and the fake is tried first.
 */
const FAKE_FIRST = () => 0.999;
/** Time allowed beyond a request's own timeout for its rejection to arrive (timers, event loop). */
const SLACK_MS = 400;

const PROTOCOL_ERROR = /^(frame|ConnectResponse) at offset \d+: /;

function realServer(): string {
  return inject("zkConnect").split(",")[0]!;
}

// -------------------------------------------------------------------------------------------------
// Arbitraries

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const badLength = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: -1 }),
  fc.integer({ min: MAX_PACKET + 1, max: 2 ** 31 - 1 }),
);
/** xids no client request carries: far above any a test reaches, negative but not reserved, or 0. */
const strayXid = fc.oneof(
  fc.integer({ min: 1_000_000, max: 2 ** 31 - 1 }),
  fc.integer({ min: -(2 ** 31), max: -9 }),
  fc.constantFrom(0, -3, -5, -6, -7),
);

function connectResponse(timeOut: fc.Arbitrary<number>): fc.Arbitrary<ConnectResponse> {
  return fc.record({
    protocolVersion: fc.oneof(fc.constant(0), int32),
    timeOut,
    sessionId: int64,
    passwd: fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }),
    readOnly: fc.option(fc.boolean(), { nil: undefined }),
  });
}

const anyTimeOut = fc.oneof(fc.integer({ min: 20, max: 5_000 }), int32);

const watcherEvent: fc.Arbitrary<WatcherEventValue> = fc.record({
  type: fc.integer({ min: -1, max: 9 }),
  state: int32,
  path: fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.constant("/")), { nil: null }),
});

/** Openings a misbehaving server may start with; `handshake` adds the valid ones. */
function opening(handshake: fc.Arbitrary<Opening>): fc.Arbitrary<Opening> {
  return fc.oneof(
    fc.record({ kind: fc.constant("raw"), eager: fc.boolean(), bytes: fc.uint8Array({ maxLength: 64 }) }),
    fc.record({
      kind: fc.constant("badLength"),
      eager: fc.boolean(),
      length: badLength,
      body: connectResponse(anyTimeOut).map((r) => new Uint8Array(encode(ConnectResponse, r))),
    }),
    fc.record({
      kind: fc.constant("skewedLength"),
      delta: fc.integer({ min: -24, max: 24 }).filter((d) => d !== 0),
      response: connectResponse(anyTimeOut),
    }),
    fc.record({
      kind: fc.constant("truncatedConnect"),
      keep: fc.nat(),
      response: connectResponse(anyTimeOut),
    }),
    handshake,
  );
}

/** After the opening: garbage of every sort, and the deliberate lies of a confused server. */
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("raw"), bytes: fc.uint8Array({ maxLength: 48 }) }),
  fc.record({ kind: fc.constant("frame"), body: fc.uint8Array({ maxLength: 48 }) }),
  fc.record({ kind: fc.constant("badLength"), length: badLength, body: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant("awaitRequest") }),
  fc.record({
    kind: fc.constant("strayReply"),
    xid: strayXid,
    err: fc.oneof(fc.constant(0), int32),
    body: fc.uint8Array({ maxLength: 32 }),
  }),
  fc.record({
    kind: fc.constant("wrongXid"),
    offset: fc.integer({ min: 1, max: 1_000 }),
    err: fc.oneof(fc.constant(0), int32),
    body: fc.uint8Array({ maxLength: 32 }),
  }),
  fc.record({
    kind: fc.constant("notification"),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      watcherEvent.map((e) => new Uint8Array(encode(WatcherEvent, e))),
    ),
  }),
  fc.record({ kind: fc.constant("truncatedStat"), keep: fc.nat(), zxid: int64 }),
  fc.record({ kind: fc.constant("shortHeader"), bytes: fc.uint8Array({ maxLength: 15 }) }),
  fc.record({ kind: fc.constant("pause"), ms: fc.integer({ min: 0, max: 20 }) }),
);

/** "Slowly": up to six writes per send, a few ms apart. */
const chunking: fc.Arbitrary<Chunking> = fc.record({
  cuts: fc.array(fc.nat({ max: 200 }), { maxLength: 5 }),
  pauseMs: fc.integer({ min: 0, max: 8 }),
});

function script(open: fc.Arbitrary<Opening>): fc.Arbitrary<Script> {
  return fc.record({
    opening: open,
    actions: fc.array(action, { maxLength: 5 }),
    chunking,
    end: fc.constantFrom("end" as const, "reset" as const),
  });
}

// -------------------------------------------------------------------------------------------------
// Helpers

type Settled<T> =
  | { ok: true; value: T; ms: number }
  | { ok: false; error: unknown; ms: number }
  | { ok: "hung"; ms: number };

/** Awaits `p` for at most `limitMs`, recording how it ended and when. Never rejects. */
async function settle<T>(p: Promise<T>, limitMs: number): Promise<Settled<T>> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), limitMs);
  });
  try {
    const r = await Promise.race([
      p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      hung,
    ]);
    const ms = performance.now() - t0;
    return r === "hung" ? { ok: "hung", ms } : { ...r, ms };
  } finally {
    clearTimeout(timer);
  }
}

function isTerminal(s: SessionState): boolean {
  return s.kind === "closed" || s.kind === "expired" || s.kind === "auth-failed";
}

/** Resolves with the state once `done(state)` holds (checked now and on every change), or null. */
function waitForState(
  zk: ZooKeeper,
  done: (s: SessionState) => boolean,
  limitMs: number,
): Promise<SessionState | null> {
  if (done(zk.state)) return Promise.resolve(zk.state);
  return new Promise((resolve) => {
    const finish = (s: SessionState | null) => {
      clearTimeout(timer);
      zk.off("state", onState);
      resolve(s);
    };
    const onState = (s: SessionState) => {
      if (done(s)) finish(s);
    };
    const timer = setTimeout(() => finish(null), limitMs);
    zk.on("state", onState);
  });
}

function describeError(e: unknown): string {
  if (e instanceof ZooKeeperError) return `ZooKeeperError ${e.codeName}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** A reply frame with xid -4 and err AuthFailed ends a session in auth-failed, as in the reference client. */
function mayFailAuth(logs: readonly ConnectionLog[]): boolean {
  return logs.some((log) =>
    replyFrames(log, MAX_PACKET).some((r) => r.xid === -4 && r.err === ErrorCode.AuthFailed),
  );
}

let guard: ProcessProblems;
beforeEach(() => {
  guard = watchProcess();
});
afterEach(() => {
  guard.dispose();
});

/** Fails the current run if the process saw an uncaught exception, unhandled rejection or warning. */
async function expectHealthyProcess(): Promise<void> {
  await guard.settle();
  const problems = guard.problems.splice(0);
  expect(problems, problems.join("\n\n")).toEqual([]);
}

let nodeCounter = 0;
function uniquePath(): string {
  return `/zkwire-resilience-${process.pid}-${Date.now().toString(36)}-${nodeCounter++}`;
}

// -------------------------------------------------------------------------------------------------
// Properties

describe("a fake server ahead of a real one", () => {
  /** What the client must end up in after the fake's one connection, given what the fake sent. */
  function expectedEnd(log: ConnectionLog): { states: Set<string>; resumed: bigint | null } {
    const states = new Set<string>();
    if (mayFailAuth([log])) states.add("auth-failed");
    if (log.script?.opening.kind === "relay") {
      // The session the real server handed out through the fake resumes there.
      states.add("real");
      return { states, resumed: log.session?.sessionId ?? null };
    }
    const verdict = judgeOpening(log.stream, MAX_PACKET);
    switch (verdict.kind) {
      case "protocol":
      case "incomplete":
        states.add("real");
        break;
      case "expired":
        states.add("expired");
        break;
      case "established":
        // A session made up by the fake is unknown to the real server, which answers the resume with
        // timeOut 0: expired. Session id 0 (or a read-only session, never resumed elsewhere) makes the
        // client ask for a new session instead, unless the fake's tiny timeout expires it first.
        states.add("expired");
        if (verdict.sessionId === 0n || verdict.readOnly) states.add("real");
        break;
    }
    return { states, resumed: null };
  }

  it("never crashes the process, then works on the real server", { timeout: 600_000 }, async () => {
    const real = realServer();
    const minted = fc.record({ kind: fc.constant("handshake"), response: connectResponse(anyTimeOut) });
    const open = opening(fc.oneof({ arbitrary: fc.constant({ kind: "relay" as const }), weight: 3 }, minted));
    await fc.assert(
      fc.asyncProperty(script(open), async (s) => {
        const fake = await FakeZooKeeper.start({
          scriptFor: (i) => (i === 0 ? s : undefined),
          upstream: real,
          requestWaitMs: 100,
        });
        const zk = new ZooKeeper(`${fake.address},${real}`, {
          sessionTimeout: 2_000,
          connectTimeout: 3_000,
          backoff: [1, 20],
          random: FAKE_FIRST,
          maxPacketSize: MAX_PACKET,
        });
        try {
          const ready = await settle(zk.ready(), 5_000);
          expect(ready.ok, "ready() settles").not.toBe("hung");
          if (ready.ok === false)
            expect(ready.error, describeError(ready.error)).toBeInstanceOf(ConnectError);

          const end = await waitForState(
            zk,
            (st) => (st.kind === "connected" && zk.server === real) || isTerminal(st),
            5_000,
          );
          expect(end, `final state (now ${JSON.stringify(zk.state)})`).not.toBeNull();
          const got = end!.kind === "connected" ? "real" : end!.kind;
          const expected = expectedEnd(fake.connections[0]!);
          expect([...expected.states], `ended ${JSON.stringify(end)}`).toContain(got);
          if (got === "real") {
            if (expected.resumed !== null) expect(zk.sessionId).toBe(expected.resumed);
            const stat = await zk.exists("/", { timeout: 2_000 });
            expect(stat?.numChildren).toBeGreaterThan(0);
          } else {
            await expect(zk.exists("/")).rejects.toBeInstanceOf(ZooKeeperError);
          }
        } finally {
          await zk.close();
          await fake.close();
        }
        await expectHealthyProcess();
      }),
      FC_OPTIONS,
    );
  });

  it("a request in flight when the garbage arrives gets one answer: ConnectionLoss", {
    timeout: 600_000,
  }, async () => {
    const real = realServer();
    /** Garbage that no reader can take for an answer to the one request in flight. */
    const fatal: fc.Arbitrary<Action> = fc.oneof(
      fc.record({
        kind: fc.constant("badLength"),
        length: badLength,
        body: fc.uint8Array({ maxLength: 16 }),
      }),
      fc.record({
        kind: fc.constant("wrongXid"),
        offset: fc.integer({ min: 1, max: 1_000 }),
        err: fc.oneof(fc.constant(0), int32),
        body: fc.uint8Array({ maxLength: 32 }),
      }),
      fc.record({ kind: fc.constant("shortHeader"), bytes: fc.uint8Array({ maxLength: 15 }) }),
      // Any zxid: the reply is malformed, so it must not move lastZxid (a too-new one would make the
      // real server refuse the resume).
      fc.record({ kind: fc.constant("truncatedStat"), keep: fc.nat(), zxid: int64 }),
      // Shorter than type + state + path length: no WatcherEvent fits.
      fc.record({ kind: fc.constant("notification"), body: fc.uint8Array({ maxLength: 11 }) }),
    );
    const inFlight = fc.record({
      opening: fc.constant({ kind: "relay" as const }),
      actions: fc
        .tuple(
          fc.option(fc.record({ kind: fc.constant("pause" as const), ms: fc.integer({ min: 0, max: 20 }) })),
          fatal,
        )
        .map(([pause, bad]): Action[] => [{ kind: "awaitRequest" }, ...(pause === null ? [] : [pause]), bad]),
      chunking,
      // The fake keeps the socket open: the client itself must see that the stream is broken.
      end: fc.constant("hang" as const),
    });
    await fc.assert(
      fc.asyncProperty(inFlight, async (s) => {
        const fake = await FakeZooKeeper.start({
          scriptFor: (i) => (i === 0 ? s : undefined),
          upstream: real,
          requestWaitMs: 1_000,
        });
        const zk = new ZooKeeper(`${fake.address},${real}`, {
          sessionTimeout: 3_000,
          connectTimeout: 3_000,
          backoff: [1, 20],
          random: FAKE_FIRST,
          maxPacketSize: MAX_PACKET,
        });
        try {
          await zk.ready();
          expect(zk.server).toBe(fake.address);
          const path = uniquePath();
          const answers: Settled<unknown>[] = [];
          const t0 = performance.now();
          // The timeout is far below the 2T/3 dead-connection timer: a ConnectionLoss before it can only
          // come from the client reading the garbage.
          const create = zk.create(path, "x", { timeout: 1_500 }).then(
            (value) => answers.push({ ok: true, value, ms: performance.now() - t0 }),
            (error: unknown) => answers.push({ ok: false, error, ms: performance.now() - t0 }),
          );
          expect((await settle(create, 1_500 + SLACK_MS)).ok, "create settles").toBe(true);
          expect(answers).toHaveLength(1);
          const answer = answers[0]!;
          expect(answer.ok, "create must fail").toBe(false);
          const error = (answer as { error: unknown }).error;
          expect(error, describeError(error)).toBeInstanceOf(ZooKeeperError);
          expect((error as ZooKeeperError).codeName, describeError(error)).toBe("ConnectionLoss");
          expect(fake.requests.filter((r) => r.opcode === OpCode.create2)).toHaveLength(1);

          const back = await waitForState(zk, (st) => st.kind === "connected" && zk.server === real, 5_000);
          expect(back, `reconnected to the real server (now ${JSON.stringify(zk.state)})`).not.toBeNull();
          expect(zk.sessionId).toBe(fake.connections[0]!.session!.sessionId);
          // Nothing was re-sent behind the caller's back: the real server never saw the create.
          expect(await zk.exists(path)).toBeNull();
          await zk.create(path, "y");
          await zk.delete(path);
          // And the answer really was single: nothing arrived later.
          await sleep(20);
          expect(answers).toHaveLength(1);
        } finally {
          await zk.close();
          await fake.close();
        }
        await expectHealthyProcess();
      }),
      FC_OPTIONS,
    );
  });
});

describe("only a fake server", () => {
  const CONNECT_TIMEOUT = 150;
  /** Bytes written this close to the end of an attempt's budget may or may not be read within it. */
  const RACE_MARGIN_MS = 50;
  /** Generous: three scripted connections, their waits, and a session timeout of at most 200 ms. */
  const NO_TIMEOUT_LIMIT = 6_000;

  it("every request ends in a ZooKeeperError; connect() names the host and the protocol error", {
    timeout: 600_000,
  }, async () => {
    const minted = fc.record({
      kind: fc.constant("handshake"),
      // Small, so that a session the fake hands out expires soon after the fake lets it down.
      response: connectResponse(fc.integer({ min: 20, max: 200 })),
    });
    const scripts = fc.array(script(opening(minted)), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(scripts, async (plan) => {
        const fake = await FakeZooKeeper.start({ scriptFor: (i) => plan[i], requestWaitMs: 100 });
        const zk = new ZooKeeper(fake.address, {
          sessionTimeout: 300,
          connectTimeout: CONNECT_TIMEOUT,
          backoff: [1, 10],
          maxPacketSize: MAX_PACKET,
        });
        try {
          // Issued at once: queued until a handshake, then written to whatever the fake is.
          const requests = [
            { timeout: 1_000, p: settle(zk.exists("/a", { timeout: 1_000 }), 1_000 + SLACK_MS) },
            { timeout: undefined, p: settle(zk.getData("/b"), NO_TIMEOUT_LIMIT) },
          ];
          const ready = await settle(zk.ready(), NO_TIMEOUT_LIMIT);
          expect(ready.ok, "ready() settles").not.toBe("hung");
          if (ready.ok === true) {
            requests.push({ timeout: 800, p: settle(zk.exists("/c", { timeout: 800 }), 800 + SLACK_MS) });
          }
          const outcomes = await Promise.all(requests.map((r) => r.p));

          const logs = fake.connections;
          const verdicts = logs.map((log) => judgeOpening(log.stream, MAX_PACKET));
          const requestXids = new Set(fake.requests.map((r) => r.xid));
          // Could any frame the fake sent be taken for the answer to a request? Only then may a request
          // succeed or fail with a server's error code.
          const answerable = logs.some((log) =>
            replyFrames(log, MAX_PACKET).some((r) => !r.undecodable && requestXids.has(r.xid)),
          );
          const allowed = new Set<number>([
            ErrorCode.ConnectionLoss,
            ClientErrorCode.ClientClosed,
            ErrorCode.SessionExpired,
          ]);
          if (mayFailAuth(logs)) allowed.add(ErrorCode.AuthFailed);

          outcomes.forEach((o, i) => {
            const { timeout } = requests[i]!;
            const label = `request ${i} (timeout ${timeout ?? "none"})`;
            expect(o.ok, `${label} never settled`).not.toBe("hung");
            if (o.ok === false) {
              expect(o.error, `${label}: ${describeError(o.error)}`).toBeInstanceOf(ZooKeeperError);
              const code = (o.error as ZooKeeperError).code;
              const codes = new Set(allowed);
              if (timeout !== undefined) codes.add(ErrorCode.RequestTimeout);
              if (!answerable) expect([...codes], `${label}: ${describeError(o.error)}`).toContain(code);
            } else if (o.ok === true) {
              expect(answerable, `${label} succeeded though nothing could answer it`).toBe(true);
            }
          });

          if (ready.ok === false) {
            const err = ready.error;
            expect(err, describeError(err)).toBeInstanceOf(ConnectError);
            const ce = err as ConnectError;
            // Never established: either a server said the session had expired (a ConnectResponse with
            // timeOut <= 0), or the deadline closed the client with every request still queued.
            const expired = zk.state.kind === "expired";
            if (expired) {
              expect(verdicts.some((v) => v.kind === "expired")).toBe(true);
            } else {
              expect(zk.state.kind).toBe("closed");
              expect(ce.message).toContain(fake.address);
            }
            if (ce.attempts.length > 0) expect(ce.attempts[0]!.host).toBe(fake.address);
            if (verdicts[0] !== undefined) expectFirstAttempt(ce, verdicts[0], logs[0]!, !expired);
            for (const o of outcomes) {
              expect(o.ok).toBe(false);
              const e = (o as { error: ZooKeeperError }).error;
              expect(e.codeName, describeError(e)).toBe(expired ? "SessionExpired" : "ClientClosed");
              if (!expired) expect(e.message).toContain("could not connect");
            }
          }
        } finally {
          await zk.close();
          await fake.close();
        }
        await expectHealthyProcess();
      }),
      FC_OPTIONS,
    );
  });

  /**
   * The first attempt's error, as ConnectError lists it, is the one the fake's bytes call for. Bytes
   * that left too close to the end of the attempt's budget (the connect timeout) may lose the race with
   * it; then the attempt may also end in that timeout.
   */
  function expectFirstAttempt(
    ce: ConnectError,
    verdict: OpeningVerdict,
    log: ConnectionLog,
    inMessage: boolean,
  ): void {
    const attempt = ce.attempts[0];
    if (attempt === undefined) return;
    if (verdict.kind === "protocol") {
      const lenient = log.writtenBy(verdict.decidedBy) > CONNECT_TIMEOUT - RACE_MARGIN_MS;
      if (!lenient) {
        expect(attempt.error, ce.message).toMatch(PROTOCOL_ERROR);
        expect(attempt.error.startsWith(verdict.record), ce.message).toBe(true);
        if (inMessage) expect(ce.message).toContain(attempt.error);
      } else if (PROTOCOL_ERROR.test(attempt.error)) {
        expect(attempt.error.startsWith(verdict.record), ce.message).toBe(true);
      }
    }
    if (verdict.kind === "incomplete") expect(attempt.error, ce.message).not.toMatch(PROTOCOL_ERROR);
  }
});

// -------------------------------------------------------------------------------------------------
// The same faults as fixed examples: each scenario of the properties, once, by name.

describe("examples", () => {
  async function withFake<T>(
    scripts: Script[],
    fn: (fake: FakeZooKeeper) => Promise<T>,
    upstream?: string,
  ): Promise<T> {
    const fake = await FakeZooKeeper.start({
      scriptFor: (i) => scripts[i],
      requestWaitMs: 1_000,
      ...(upstream === undefined ? {} : { upstream }),
    });
    try {
      return await fn(fake);
    } finally {
      await fake.close();
    }
  }
  const quick: Chunking = { cuts: [], pauseMs: 0 };
  const response: ConnectResponse = {
    protocolVersion: 0,
    timeOut: 5_000,
    sessionId: 0x1234n,
    passwd: new Uint8Array(16),
  };

  it("a negative frame length: connect() rejects naming the host and the framing error", async () => {
    await withFake(
      [
        {
          opening: { kind: "badLength", eager: false, length: -5, body: new Uint8Array(8) },
          actions: [],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const err = await ZooKeeper.connect(fake.address, { connectTimeout: 300, backoff: [1, 10] }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ConnectError);
        const ce = err as ConnectError;
        expect(ce.message).toContain(fake.address);
        expect(ce.message).toContain("frame at offset 0: negative frame length -5");
        expect(ce.attempts[0]).toEqual({
          host: fake.address,
          error: "frame at offset 0: negative frame length -5",
        });
      },
    );
    await expectHealthyProcess();
  });

  it("a frame longer than maxPacketSize is refused before its bytes arrive", async () => {
    await withFake(
      [
        {
          opening: { kind: "badLength", eager: true, length: MAX_PACKET + 1, body: new Uint8Array(4) },
          actions: [],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const err = await ZooKeeper.connect(fake.address, {
          connectTimeout: 300,
          backoff: [1, 10],
          maxPacketSize: MAX_PACKET,
        }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((err as ConnectError).attempts[0]?.error).toBe(
          `frame at offset 0: frame length ${MAX_PACKET + 1} exceeds the maximum packet size ${MAX_PACKET}`,
        );
      },
    );
    await expectHealthyProcess();
  });

  it("a truncated ConnectResponse is a protocol error naming the record", async () => {
    await withFake(
      [
        {
          opening: { kind: "truncatedConnect", keep: 10, response },
          actions: [],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const err = await ZooKeeper.connect(fake.address, { connectTimeout: 300, backoff: [1, 10] }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((err as ConnectError).attempts[0]?.error).toMatch(/^ConnectResponse at offset \d+: truncated/);
      },
    );
    await expectHealthyProcess();
  });

  it("a server that accepts and never answers: ConnectError after the connect timeout", async () => {
    await withFake(
      [
        {
          opening: { kind: "raw", eager: false, bytes: new Uint8Array(0) },
          actions: [],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const t0 = performance.now();
        const err = await ZooKeeper.connect(fake.address, { connectTimeout: 300, backoff: [1, 10] }).then(
          () => null,
          (e: unknown) => e,
        );
        const ms = performance.now() - t0;
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).attempts[0]?.error).toMatch(/^no session established within \d+ ms$/);
        expect(ms).toBeGreaterThanOrEqual(290);
        expect(ms).toBeLessThan(300 + SLACK_MS);
      },
    );
    await expectHealthyProcess();
  });

  it("a reply before any request ends the connection; the session resumes on the real server", async () => {
    const real = realServer();
    await withFake(
      [
        {
          opening: { kind: "relay" },
          actions: [{ kind: "strayReply", xid: 7_000_000, err: 0, body: new Uint8Array(0) }],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const log: { message: string; fields: unknown }[] = [];
        const zk = await ZooKeeper.connect(`${fake.address},${real}`, {
          sessionTimeout: 3_000,
          backoff: [1, 10],
          random: FAKE_FIRST,
          logger: { debug: (message, fields) => log.push({ message, fields }) },
        });
        try {
          const back = await waitForState(zk, (s) => s.kind === "connected" && zk.server === real, 5_000);
          expect(back).not.toBeNull();
          expect(zk.sessionId).toBe(fake.connections[0]!.session!.sessionId);
          // The way there went through "disconnected", whose reason is the protocol error.
          const lost = log.find(
            (l) => l.message === "state" && (l.fields as { to?: string }).to === "disconnected",
          );
          expect(lost).toBeDefined();
          expect(zk.state.kind).toBe("connected");
          expect(await zk.exists("/")).not.toBeNull();
        } finally {
          await zk.close();
        }
      },
      real,
    );
    await expectHealthyProcess();
  });

  it("a reply whose record does not decode does not move lastZxid, so the session can resume", async () => {
    // The reply header is well formed and names the request in flight, but its body is a cut Stat:
    // the client rejects the reply as malformed and drops the connection. The header's zxid came from
    // the same untrusted frame; if the client keeps it, its next ConnectRequest claims to have seen a
    // zxid no real server has reached, and every server refuses it ("Refusing session request for
    // client as it has seen zxid ...") until the session expires.
    const real = realServer();
    const bogus = 2n ** 62n;
    await withFake(
      [
        {
          opening: { kind: "relay" },
          actions: [{ kind: "awaitRequest" }, { kind: "truncatedStat", keep: 0, zxid: bogus }],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const zk = await ZooKeeper.connect(`${fake.address},${real}`, {
          sessionTimeout: 3_000,
          backoff: [1, 20],
          random: FAKE_FIRST,
        });
        try {
          const before = zk.lastZxid;
          const err = await zk.exists("/", { timeout: 1_500 }).then(
            () => null,
            (e: unknown) => e,
          );
          expect((err as ZooKeeperError).codeName, describeError(err)).toBe("ConnectionLoss");
          expect(zk.lastZxid).toBe(before);
          const end = await waitForState(
            zk,
            (s) => (s.kind === "connected" && zk.server === real) || isTerminal(s),
            5_000,
          );
          expect(end?.kind).toBe("connected");
        } finally {
          await zk.close();
        }
      },
      real,
    );
    await expectHealthyProcess();
  });

  it("the disconnected state says which protocol error ended the connection", async () => {
    const real = realServer();
    await withFake(
      [
        {
          opening: { kind: "relay" },
          actions: [{ kind: "notification", body: new Uint8Array([0, 0, 0, 3]) }],
          chunking: { cuts: [1, 2, 3, 5, 8], pauseMs: 5 },
          end: "hang",
        },
      ],
      async (fake) => {
        const zk = new ZooKeeper(`${fake.address},${real}`, {
          sessionTimeout: 3_000,
          backoff: [1, 10],
          random: FAKE_FIRST,
        });
        const states: SessionState[] = [];
        zk.on("state", (s) => states.push(s));
        try {
          await waitForState(zk, (s) => s.kind === "connected" && zk.server === real, 5_000);
          const lost = states.find((s) => s.kind === "disconnected") as { reason: string } | undefined;
          expect(lost?.reason).toMatch(/^WatcherEvent at offset \d+: truncated/);
        } finally {
          await zk.close();
        }
      },
      real,
    );
    await expectHealthyProcess();
  });

  it("a server that says the session expired: connect() rejects naming the host and the expiry", async () => {
    // The realistic case is resuming a session that has expired; the fake answers as a real server
    // then does, with timeOut 0 (a real server does the same for an unknown session id: see below).
    await withFake(
      [
        {
          opening: { kind: "handshake", response: { ...response, timeOut: 0, sessionId: 0n } },
          actions: [],
          chunking: quick,
          end: "hang",
        },
      ],
      async (fake) => {
        const err = await ZooKeeper.connect(fake.address, {
          connectTimeout: 1_000,
          session: { id: 0x1234n, password: new Uint8Array(16) },
        }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ConnectError);
        const ce = err as ConnectError;
        expect(ce.message).toContain(fake.address);
        expect(ce.message).toMatch(/expired/);
      },
    );
    // The same against the real server, resuming a session it never issued.
    const err = await ZooKeeper.connect(realServer(), {
      sessionTimeout: 2_000,
      session: { id: 0x1234567n, password: new Uint8Array(16) },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).message).toMatch(/expired/);
    await expectHealthyProcess();
  });
});
