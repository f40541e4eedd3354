/** The fault proxy in front of a test server. */
import { FaultProxy } from "../../src/testing/proxy.js";

/** The first server of a connect string, as a proxy's target. */
function hostPort(connectString: string): { host: string; port: number } {
  const [host, port] = connectString.split(",")[0]!.split(":") as [string, string];
  return { host, port: Number(port) };
}

/** A fault proxy in front of the first server of `connectString`. */
export function proxyTo(connectString: string): Promise<FaultProxy> {
  return FaultProxy.start({ target: hostPort(connectString) });
}

/**
 * A caller who gives up while a write is in flight: once the `nth` request with `opcode` has passed the
 * proxy on its way to the server, replies are held back `replyDelayMs` and `giveUp` runs. The server
 * applies the write all the same; its answer comes after the caller gave up. Resolves after `giveUp`;
 * the test sets `proxy.delay(0)` again when done.
 */
export function giveUpMidWrite(
  proxy: FaultProxy,
  opcode: number,
  giveUp: () => void,
  { nth = 1, replyDelayMs = 300 }: { nth?: number; replyDelayMs?: number } = {},
): Promise<void> {
  let seen = 0;
  return proxy
    .waitForFrame((f) => f.direction === "request" && f.opcode === opcode && ++seen === nth)
    .then(() => {
      proxy.delay(replyDelayMs, "reply");
      giveUp();
    });
}
