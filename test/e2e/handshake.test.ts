/**
 * The first end-to-end proof: the real handshake spoken through the codec alone (no session, no client)
 * to a real server, then a read of "/". Against the shared server of the run, and against one server of
 * every release line the harness can start (ZK_E2E_VERSIONS=0 skips those, e.g. with ZK_CONNECT).
 */
import * as net from "node:net";
import { describe, expect, inject, it } from "vitest";
import { ZooKeeper } from "../../src/index.js";
import { ErrorCode, OpCode } from "../../src/protocol/constants.js";
import { FrameDecoder } from "../../src/protocol/framing.js";
import { encode, JuteReader } from "../../src/protocol/jute.js";
import {
  ConnectRequest,
  ConnectResponse,
  GetChildren2Request,
  GetChildren2Response,
  ReplyHeader,
  RequestHeader,
} from "../../src/protocol/records/index.js";
import { SUPPORTED_VERSION_LINES } from "../../src/testing/index.js";
import { startOrSkip } from "../support/features.js";

function frame(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Opens a socket, sends the frames, and collects `count` reply frames. */
async function exchange(connect: string, frames: Buffer[], count: number): Promise<Buffer[]> {
  const [host, port] = connect.split(",")[0]!.split(":") as [string, string];
  const socket = net.connect({ host, port: Number(port) });
  const decoder = new FrameDecoder();
  const replies: Buffer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("close", () => reject(new Error(`closed after ${replies.length} frames`)));
      socket.on("data", (chunk: Buffer) =>
        decoder.push(chunk, (f) => {
          replies.push(Buffer.from(f));
          if (replies.length === count) resolve();
        }),
      );
      socket.once("connect", () => socket.write(Buffer.concat(frames)));
    });
  } finally {
    socket.destroy();
  }
  return replies;
}

async function handshakeAndReadRoot(connect: string): Promise<{ res: ConnectResponse; children: string[] }> {
  const connectReq = frame(
    encode(ConnectRequest, {
      protocolVersion: 0,
      lastZxidSeen: 0n,
      timeOut: 10_000,
      sessionId: 0n,
      passwd: new Uint8Array(16),
      readOnly: false,
    }),
  );
  // Pipelined behind the handshake: the server reads the ConnectRequest first, then this.
  const getRoot = frame(
    encode(RequestHeader, { xid: 1, type: OpCode.getChildren2 }),
    encode(GetChildren2Request, { path: "/", watch: false }),
  );
  const [hello, reply] = await exchange(connect, [connectReq, getRoot], 2);
  const res = ConnectResponse.read(new JuteReader(hello!, "ConnectResponse"));
  const r = new JuteReader(reply!, "reply");
  const header = ReplyHeader.read(r);
  expect(header).toMatchObject({ xid: 1, err: ErrorCode.Ok });
  const { children } = GetChildren2Response.read(r);
  return { res, children: children ?? [] };
}

describe("handshake through the codec", () => {
  it("against the shared server: a session, then the children of /", async () => {
    const { res, children } = await handshakeAndReadRoot(inject("zkConnect"));
    expect(res.timeOut).toBeGreaterThan(0);
    expect(res.sessionId).not.toBe(0n);
    expect(res.passwd).toHaveLength(16);
    expect(res.readOnly).toBe(false);
    expect(children).toContain("zookeeper");
  });
});

describe.skipIf(process.env.ZK_E2E_VERSIONS === "0" || process.env.ZK_CONNECT !== undefined)(
  "every release line",
  () => {
    for (const line of SUPPORTED_VERSION_LINES) {
      it(`ZooKeeper ${line}`, async (ctx) => {
        await using cluster = await startOrSkip(ctx, { version: line });
        expect(cluster.version.startsWith(`${line}.`)).toBe(true);
        const { res, children } = await handshakeAndReadRoot(cluster.connectString);
        expect(res.timeOut).toBeGreaterThan(0);
        expect(children).toContain("zookeeper");
        // And the same through the client.
        await using zk = await ZooKeeper.connect(cluster.connectString, { sessionTimeout: 4_000 });
        expect((await zk.getChildren("/")).children).toContain("zookeeper");
      });
    }
  },
);
