/**
 * The session's seams for time and transport. The timer rules (ping at T/3, dead at 2T/3, a connect
 * attempt's share of T, expiry) read the clock and set its timers, and connections open sockets through
 * the transport, so tests can drive both in milliseconds without a server (test/session/timers.test.ts)
 * beside the real-server tests. Production uses `realClock` and `netTransport`.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { HostAddress } from "./connect-string.js";

export interface Clock {
  /** Monotonic ms (performance.now() in production). */
  now(): number;
  /** Calls `fn` after `ms`; `unref`: the timer alone does not keep the process alive. */
  setTimeout(fn: () => void, ms: number, unref?: boolean): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms, unref) => {
    const t = setTimeout(fn, ms);
    if (unref) t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

/** What a connection needs of a socket (a net.Socket or tls.TLSSocket is one). */
export interface SocketLike {
  write(bytes: Buffer): boolean;
  destroy(): void;
  setNoDelay(noDelay?: boolean): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: the socket's events carry different arguments
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/** Opens a socket to a server; `openEvent` is emitted once it can carry the session ("connect", or "secureConnect" for TLS). */
export type Transport = (
  address: HostAddress,
  tlsOptions: tls.ConnectionOptions | undefined,
) => { socket: SocketLike; openEvent: string };

export const netTransport: Transport = (address, tlsOptions) => {
  if (tlsOptions) {
    const socket = tls.connect({
      servername: net.isIP(address.host) ? undefined : address.host,
      ...tlsOptions,
      host: address.host,
      port: address.port,
    });
    return { socket, openEvent: "secureConnect" };
  }
  return { socket: net.connect({ host: address.host, port: address.port }), openEvent: "connect" };
};
