/**
 * Service discovery shared with Curator x-discovery (Java, its own process, Curator's default JSON
 * serializer with a Map payload): Curator finds what zkwire registers (query and its ServiceCache, also
 * after update and unregister), and zkwire finds and watches what Curator registers, reading Curator's
 * bytes back to exactly the JSON zkwire would write.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ServiceDiscovery, type ServiceInstance, serializeInstance, ZooKeeper } from "../../src/index.js";
import { installCurator, killAllContenders, type PeerEvent, spawnCuratorProgram } from "../peers/peers.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
const root = `/discovery-interop-${randomUUID().slice(0, 8)}`;
let zk: ZooKeeper;

beforeAll(async () => {
  await installCurator();
  zk = await ZooKeeper.connect(connect);
}, 600_000);

afterAll(async () => {
  await killAllContenders();
  await zk.deleteRecursive(root).catch(() => undefined);
  await zk.close();
});

describe("service discovery shared with Curator x-discovery", () => {
  it("Curator finds what zkwire registers, and zkwire finds what Curator registers", async () => {
    const base = `${root}/services`;
    await using discovery = new ServiceDiscovery(zk, base);
    const curator = await spawnCuratorProgram("DiscoveryPeer", [connect, base, "curator"], { id: "curator" });
    await curator.waitForEvent("ready", undefined, 90_000);
    const ask = async (line: string, event: string) => {
      const seen = curator.events.length;
      curator.send(line);
      return curator.waitForEvent(event, (e) => curator.events.indexOf(e as never) >= seen, 30_000);
    };
    const lastCache = () =>
      (curator.events as unknown as PeerEvent[]).filter((e) => e.event === "cache").at(-1)?.ids as
        | string[]
        | undefined;

    // Curator watches "web" before anything is there.
    await ask("watch web", "watching");
    // zkwire watches it too.
    const seen: ServiceInstance[][] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const list of discovery.watch("web", abort.signal)) seen.push(list);
    })();

    // zkwire registers: Curator's query reads it whole, and its cache sees it.
    await discovery.register({
      name: "web",
      id: "zk-1",
      address: "10.0.0.1",
      port: 8080,
      sslPort: 8443,
      payload: { zone: "eu", weight: 3 },
      payloadClass: "java.util.LinkedHashMap",
      uriSpec: "{scheme}://{address}:{port}",
    });
    const fromZk = (await ask("query web", "instances")).instances as Record<string, unknown>[];
    expect(fromZk).toEqual([
      expect.objectContaining({
        name: "web",
        id: "zk-1",
        address: "10.0.0.1",
        port: 8080,
        sslPort: 8443,
        payload: { zone: "eu", weight: 3 },
        serviceType: "DYNAMIC",
        uriSpec: "{scheme}://{address}:{port}",
      }),
    ]);
    await until("Curator's cache has zk-1", () => lastCache()?.join() === "zk-1", 20_000);

    // An untagged payload is read by Curator as a Map too.
    await discovery.register({ name: "plain", id: "p", payload: { a: [1, 2] } });
    expect(((await ask("query plain", "instances")).instances as { payload: unknown }[])[0]?.payload).toEqual(
      {
        a: [1, 2],
      },
    );

    // Curator registers: zkwire reads it, its JSON is byte for byte what zkwire writes, zkwire's watch sees it.
    const registered = await ask(`register web cur-1 10.0.0.2 9090 {"zone":"us"}`, "registered");
    const curatorBytes = Buffer.from(registered.data as string);
    const mine = await discovery.instance("web", "cur-1");
    expect(mine).toMatchObject({
      address: "10.0.0.2",
      port: 9090,
      sslPort: null,
      payload: { zone: "us" },
      payloadClass: "java.util.LinkedHashMap",
      serviceType: "DYNAMIC",
      uriSpec: null,
    });
    expect(Buffer.from(serializeInstance(mine!)).toString()).toBe(curatorBytes.toString());
    await until(
      "zkwire's watch has both",
      () =>
        seen
          .at(-1)
          ?.map((i) => i.id)
          .join() === "cur-1,zk-1",
      20_000,
    );
    await until("Curator's cache has both", () => lastCache()?.join() === "cur-1,zk-1", 20_000);
    expect((await ask("names", "names")).names).toEqual(["plain", "web"]);
    expect(await discovery.names()).toEqual(["plain", "web"]);

    // zkwire updates: Curator's query sees the new port.
    await discovery.update({ name: "web", id: "zk-1", address: "10.0.0.1", port: 8081 });
    const updated = (await ask("query web", "instances")).instances as { id: string; port: number }[];
    expect(updated.find((i) => i.id === "zk-1")?.port).toBe(8081);

    // Each side unregisters: the other side's watch follows.
    await ask("unregister web cur-1", "unregistered");
    await until(
      "zkwire's watch lost cur-1",
      () =>
        seen
          .at(-1)
          ?.map((i) => i.id)
          .join() === "zk-1",
      20_000,
    );
    await discovery.unregister("web", "zk-1");
    await until("Curator's cache is empty", () => lastCache()?.length === 0, 20_000);
    curator.send("quit");
    expect((await curator.result).exit).toBe(0);
    abort.abort();
    await reading;
  }, 300_000);
});
