/** The fault proxy in front of a test server. */
import { FaultProxy } from "../../src/testing/proxy.js";

/** The first server of a connect string, as a proxy's target. */
export function hostPort(connectString: string): { host: string; port: number } {
  const [host, port] = connectString.split(",")[0]!.split(":") as [string, string];
  return { host, port: Number(port) };
}

/** A fault proxy in front of the first server of `connectString`. */
export function proxyTo(connectString: string): Promise<FaultProxy> {
  return FaultProxy.start({ target: hostPort(connectString) });
}
