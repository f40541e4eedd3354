/**
 * Free loopback ports for servers the harness starts.
 *
 * Why not `listen(0)`: the kernel hands out port-0 binds from the ephemeral range (Linux 32768-60999),
 * the same range it takes source ports of outgoing connections from, so a port probed free can be taken
 * by some connection's source port before the JVM binds it. Ports are drawn at random below that range
 * instead, probed with a bind, and never handed out twice by this process. Another process (a parallel
 * vitest worker) can still race for the same port; the harness detects "Address already in use" at start
 * and retries with new ports.
 */
import { createServer } from "node:net";

const LOWEST = 20_000;
const HIGHEST = 32_000;
const handedOut = new Set<number>();

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` distinct ports that were free on 127.0.0.1 a moment ago. Give them back with releasePorts. */
export async function allocatePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > count * 200)
      throw new Error(`no free port found in ${LOWEST}-${HIGHEST} after ${tries} tries`);
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await probe(port)) ports.push(port);
    else handedOut.delete(port);
  }
  return ports;
}

export function releasePorts(ports: Iterable<number>): void {
  for (const port of ports) handedOut.delete(port);
}
