/**
 * ServiceDiscovery against a real ZooKeeper: Curator x-discovery's layout and exact JSON, register /
 * update / unregister / query, the watched instance list, registration again after the session expired
 * (through the fault proxy), cleanup on close, and the argument checks made before sending.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  parseInstance,
  parseUriSpec,
  ServiceDiscovery,
  type ServiceInstance,
  serializeInstance,
  ZkArgumentError,
  ZooKeeper,
} from "../../src/index.js";
import { proxyTo } from "../support/proxy.js";
import { until } from "../support/wait.js";

const connect = inject("zkConnect");
let zk: ZooKeeper;
let root: string;

beforeAll(async () => {
  zk = await ZooKeeper.connect(connect);
  root = `/discovery-${randomUUID().slice(0, 8)}`;
  await zk.create(root);
});

afterAll(async () => {
  await zk.deleteRecursive(root);
  await zk.close();
});

const base = () => `${root}/${randomUUID().slice(0, 8)}`;

describe("ServiceDiscovery", () => {
  it("writes Curator's JSON, field for field and in order, to {base}/{name}/{id}, ephemeral", async () => {
    const path = base();
    await using discovery = new ServiceDiscovery(zk, path);
    await discovery.register({
      name: "web",
      id: "a1",
      address: "10.0.0.1",
      port: 8080,
      payload: { zone: "eu", weight: 3 },
      payloadClass: "java.util.LinkedHashMap",
      registrationTimeUTC: 1796227017195,
      uriSpec: "{scheme}://{address}:{port}/api",
    });
    const { data, stat } = await zk.getData(`${path}/web/a1`);
    expect(stat.ephemeralOwner).toBe(zk.sessionId);
    expect(Buffer.from(data).toString()).toBe(
      '{"name":"web","id":"a1","address":"10.0.0.1","port":8080,"sslPort":null,' +
        '"payload":{"@class":"java.util.LinkedHashMap","zone":"eu","weight":3},' +
        '"registrationTimeUTC":1796227017195,"serviceType":"DYNAMIC","uriSpec":{"parts":[' +
        '{"value":"scheme","variable":true},{"value":"://","variable":false},' +
        '{"value":"address","variable":true},{"value":":","variable":false},' +
        '{"value":"port","variable":true},{"value":"/api","variable":false}]}}',
    );
    const found = await discovery.instance("web", "a1");
    expect(found).toMatchObject({
      payload: { zone: "eu", weight: 3 },
      payloadClass: "java.util.LinkedHashMap",
    });
    expect(Buffer.from(serializeInstance(found!)).equals(Buffer.from(data))).toBe(true);
  });

  it("STATIC instances are persistent; defaults: a UUID id, nulls, DYNAMIC", async () => {
    const path = base();
    await using discovery = new ServiceDiscovery(zk, path);
    const made = await discovery.register({ name: "db", serviceType: "STATIC" });
    expect(made.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await zk.exists(`${path}/db/${made.id}`))?.ephemeralOwner).toBe(0n);
    const dynamic = await discovery.register({ name: "db" });
    expect(dynamic).toMatchObject({ serviceType: "DYNAMIC", address: null, port: null, payload: null });
  });

  it("updates, unregisters, lists names and instances; skips a node that is not an instance", async () => {
    const path = base();
    await using discovery = new ServiceDiscovery(zk, path);
    await discovery.register({ name: "web", id: "b", port: 2 });
    await discovery.register({ name: "web", id: "a", port: 1 });
    await discovery.register({ name: "mail", id: "m", port: 25 });
    await zk.create(`${path}/web/junk`, "not json");
    expect(await discovery.names()).toEqual(["mail", "web"]);
    expect((await discovery.instances("web")).map((i) => [i.id, i.port])).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    await discovery.update({ name: "web", id: "a", port: 11 });
    expect((await discovery.instance("web", "a"))?.port).toBe(11);
    expect(await discovery.unregister("web", "b")).toBe(true);
    expect(await discovery.unregister("web", "b")).toBe(false);
    expect((await discovery.instances("web")).map((i) => i.id)).toEqual(["a"]);
    expect(await discovery.instances("nothing")).toEqual([]);
    await expect(discovery.update({ name: "web", id: "zz" })).rejects.toBeInstanceOf(ZkArgumentError);
  });

  it("watch() yields the list now and after every registration, update and removal", async () => {
    const path = base();
    const other = await ZooKeeper.connect(connect);
    try {
      await using watcher = new ServiceDiscovery(zk, path);
      await using services = new ServiceDiscovery(other, path);
      const seen: ServiceInstance[][] = [];
      const abort = new AbortController();
      const reading = (async () => {
        for await (const list of watcher.watch("web", abort.signal)) seen.push(list);
      })();
      const ids = () =>
        seen
          .at(-1)
          ?.map((i) => `${i.id}:${i.port}`)
          .join(",");
      await until("empty list", () => ids() === "", 10_000, 20);
      await services.register({ name: "web", id: "a", port: 1 });
      await until("a", () => ids() === "a:1", 10_000, 20);
      await services.register({ name: "web", id: "b", port: 2 });
      await until("a, b", () => ids() === "a:1,b:2", 10_000, 20);
      await services.update({ name: "web", id: "a", port: 3 });
      await until("a updated", () => ids() === "a:3,b:2", 10_000, 20);
      await services.unregister("web", "a");
      await until("b", () => ids() === "b:2", 10_000, 20);
      abort.abort();
      await reading;
    } finally {
      await other.close();
    }
  });

  it("registers again on the new session after expiry; close() unregisters", async () => {
    const path = base();
    await using proxy = await proxyTo(connect);
    const client = await ZooKeeper.connect(proxy.connectString, {
      sessionTimeout: 2_000,
      renewSessionOnExpiry: true,
    });
    try {
      const discovery = new ServiceDiscovery(client, path);
      await discovery.register({ name: "web", id: "x", port: 9 });
      const first = client.sessionId;
      const renewed = new Promise((resolve) => client.once("session", resolve));
      proxy.blackhole(3_500, "drop");
      await renewed;
      await until(
        "registered on the new session",
        async () => (await zk.exists(`${path}/web/x`))?.ephemeralOwner === client.sessionId,
        20_000,
      );
      expect(client.sessionId).not.toBe(first);
      await discovery.close();
      expect(await zk.exists(`${path}/web/x`)).toBeNull();
    } finally {
      await client.close();
    }
  }, 60_000);

  it("parses UriSpec templates as Curator does, and refuses bad input before sending", async () => {
    expect(parseUriSpec("{ scheme }://x")).toEqual([
      { value: "scheme", variable: true },
      { value: "://x", variable: false },
    ]);
    expect(() => parseUriSpec("{a")).toThrow(ZkArgumentError);
    expect(() => parseUriSpec("a}")).toThrow(ZkArgumentError);
    expect(parseInstance(Buffer.from("[1]"))).toBeNull();
    expect(
      parseInstance(Buffer.from('{"name":"w","id":"i","serviceType":"DYNAMIC_SEQUENTIAL"}')),
    ).toMatchObject({
      serviceType: "DYNAMIC_SEQUENTIAL",
      address: null,
      payload: null,
    });
    const path = base();
    const discovery = new ServiceDiscovery(zk, path);
    expect(() => new ServiceDiscovery(zk, "nope")).toThrow(ZkArgumentError);
    await expect(discovery.register({ name: "" })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(discovery.register({ name: "a/b" })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(discovery.register({ name: "w", port: 70_000 })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(
      discovery.register({ name: "w", serviceType: "DYNAMIC_SEQUENTIAL" as "DYNAMIC" }),
    ).rejects.toBeInstanceOf(ZkArgumentError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(discovery.register({ name: "w", payload: cyclic })).rejects.toBeInstanceOf(ZkArgumentError);
    await expect(discovery.instances("..")).rejects.toBeInstanceOf(ZkArgumentError);
    expect(await zk.exists(path)).toBeNull();
    await discovery.close();
  });
});
