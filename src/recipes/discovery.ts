/**
 * Service discovery: services register instances (address, port, payload), clients look them up and
 * watch the list change. The layout and the JSON are Curator x-discovery's, so zkwire and Java services
 * find each other.
 *
 *   /services                      base path
 *     web/                         one node per service name
 *       3f1c0e9a-...-7d2b          one node per instance (ephemeral for DYNAMIC), data: the JSON below
 *     billing/
 *
 * The JSON is what Curator's default JsonInstanceSerializer writes (its "compatible" mode, the default):
 * the fields in this order, absent values as null, and the payload tagged with its Java class:
 *
 *   {"name":"web","id":"3f1c...","address":"10.0.0.1","port":8080,"sslPort":null,
 *    "payload":{"@class":"java.util.LinkedHashMap","zone":"eu"},"registrationTimeUTC":1796227017195,
 *    "serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},...]}}
 *
 * Edge cases and why:
 * - The payload's "@class" (Jackson's type tag, Curator's @JsonTypeInfo) is split off into
 *   `payloadClass` when reading and put first again when writing, so a Java service gets back the class
 *   it expects; without one Curator reads an object payload as a Map.
 * - Registering over an existing node deletes it and creates it again, as Curator does: watchers see the
 *   instance go and come back rather than nothing at all.
 * - DYNAMIC instances are ephemeral. After the session expires (with the client's renewSessionOnExpiry)
 *   every registered instance is registered again on the new session, with its latest update (Curator
 *   does the same on RECONNECTED; it once registered the pre-update instance again, CURATOR-181).
 * - Unparseable instance nodes are skipped by queries, not fatal (another writer's garbage must not hide
 *   the valid instances).
 * - The name and the base path are created as needed (persistent; Curator creates containers, which the
 *   server removes once empty: a query of a missing service is an empty list either way).
 * - close() unregisters what this object registered, as Curator's ServiceDiscovery.close() does.
 */
import { randomUUID } from "node:crypto";
import type { AclEntry } from "../client/acl.js";
import type { CallOptions, ZooKeeper } from "../client/client.js";
import { RecipeClosedError, ZkArgumentError } from "../errors.js";
import { joinPath, pathProblem, validatePath } from "../session/paths.js";
import type { WatchedEvent } from "../session/watches.js";
import {
  checkSignal,
  Fanout,
  isConnectionLoss,
  isNodeExists,
  isNoNode,
  Kick,
  whenConnected,
} from "./toolkit/state-support.js";

/**
 * DYNAMIC: ephemeral, gone with the session. STATIC, PERMANENT: persistent. DYNAMIC_SEQUENTIAL (an
 * ephemeral-sequential node whose name is not the id) is read from Curator's instances but not
 * registered by zkwire: its node cannot be found again by id for update and unregister.
 */
export type ServiceType = "DYNAMIC" | "STATIC" | "PERMANENT" | "DYNAMIC_SEQUENTIAL";

/** One part of a UriSpec template: literal text, or a variable such as "scheme" or "port". */
export interface UriSpecPart {
  readonly value: string;
  readonly variable: boolean;
}

/** A registered instance, as stored (Curator's ServiceInstance). */
export interface ServiceInstance<P = unknown> {
  readonly name: string;
  readonly id: string;
  readonly address: string | null;
  readonly port: number | null;
  readonly sslPort: number | null;
  readonly payload: P | null;
  /** The payload's Java class ("@class"), when it has one. */
  readonly payloadClass?: string;
  /** ms since the epoch. */
  readonly registrationTimeUTC: number;
  readonly serviceType: ServiceType;
  readonly uriSpec: readonly UriSpecPart[] | null;
}

/** What register() takes: a name, and whatever else is known. */
export interface ServiceInstanceInput<P = unknown> {
  name: string;
  /** Default: a random UUID (Curator's default too). */
  id?: string;
  address?: string | null;
  port?: number | null;
  sslPort?: number | null;
  payload?: P | null;
  /** Tag an object payload with this Java class, for Java services reading it with a payload class. */
  payloadClass?: string;
  /** Default: now. */
  registrationTimeUTC?: number;
  /** Default "DYNAMIC". */
  serviceType?: ServiceType;
  /** A Curator UriSpec template such as "{scheme}://{address}:{port}/api", or its parts. */
  uriSpec?: string | readonly UriSpecPart[] | null;
}

export interface ServiceDiscoveryOptions {
  /** ACL of the nodes this object creates. */
  acl?: readonly AclEntry[];
}

const SERVICE_TYPES: readonly ServiceType[] = ["DYNAMIC", "STATIC", "PERMANENT"];
const READ_TYPES: readonly ServiceType[] = [...SERVICE_TYPES, "DYNAMIC_SEQUENTIAL"];

/** Curator's UriSpec(String): `{name}` is a variable (trimmed), anything else literal text. */
export function parseUriSpec(spec: string): UriSpecPart[] {
  const parts: UriSpecPart[] = [];
  let inside = false;
  for (const token of spec.split(/([{}])/)) {
    if (token === "") continue;
    if (token === "{") {
      if (inside) throw new ZkArgumentError(`uriSpec "${spec}": "{" inside a variable`);
      inside = true;
    } else if (token === "}") {
      if (!inside) throw new ZkArgumentError(`uriSpec "${spec}": "}" without "{"`);
      inside = false;
    } else {
      parts.push({ value: inside ? token.trim() : token, variable: inside });
    }
  }
  if (inside) throw new ZkArgumentError(`uriSpec "${spec}": a variable is not closed`);
  return parts;
}

function checkName(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "" || value === "." || value === "..")
    throw new ZkArgumentError(`${what} must be a non-empty node name`);
  const problem = pathProblem(`/${value}`);
  if (problem !== null || value.includes("/"))
    throw new ZkArgumentError(`${what} "${value}" is not a valid node name${problem ? `: ${problem}` : ""}`);
  return value;
}

function checkPort(value: unknown, what: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535)
    throw new ZkArgumentError(`${what} must be an integer port 0-65535, got ${String(value)}`);
  return value;
}

/** Checks an input and fills in the defaults; throws ZkArgumentError before anything is sent. */
function normalize(input: ServiceInstanceInput): ServiceInstance {
  if (typeof input !== "object" || input === null) throw new ZkArgumentError("instance must be an object");
  const name = checkName(input.name, "name");
  const id = checkName(input.id ?? randomUUID(), "id");
  if (input.address !== undefined && input.address !== null && typeof input.address !== "string")
    throw new ZkArgumentError("address must be a string");
  const serviceType = input.serviceType ?? "DYNAMIC";
  if (!SERVICE_TYPES.includes(serviceType))
    throw new ZkArgumentError(
      `serviceType must be one of ${SERVICE_TYPES.join(", ")}, got ${String(serviceType)}`,
    );
  const time = input.registrationTimeUTC ?? Date.now();
  if (!Number.isSafeInteger(time))
    throw new ZkArgumentError("registrationTimeUTC must be ms since the epoch");
  if (input.payloadClass !== undefined && typeof input.payloadClass !== "string")
    throw new ZkArgumentError("payloadClass must be a string (a Java class name)");
  let uriSpec: UriSpecPart[] | null = null;
  if (typeof input.uriSpec === "string") uriSpec = parseUriSpec(input.uriSpec);
  else if (Array.isArray(input.uriSpec)) {
    uriSpec = input.uriSpec.map((part: UriSpecPart) => {
      if (typeof part?.value !== "string" || typeof part.variable !== "boolean")
        throw new ZkArgumentError("uriSpec parts must be { value: string, variable: boolean }");
      return { value: part.value, variable: part.variable };
    });
  } else if (input.uriSpec !== undefined && input.uriSpec !== null)
    throw new ZkArgumentError("uriSpec must be a template string or its parts");
  const payload = input.payload ?? null;
  try {
    JSON.stringify(payload);
  } catch (err) {
    throw new ZkArgumentError("payload must be serializable as JSON", { cause: err });
  }
  return {
    name,
    id,
    address: input.address ?? null,
    port: checkPort(input.port, "port"),
    sslPort: checkPort(input.sslPort, "sslPort"),
    payload,
    ...(input.payloadClass !== undefined ? { payloadClass: input.payloadClass } : {}),
    registrationTimeUTC: time,
    serviceType,
    uriSpec,
  };
}

/** The bytes Curator's JsonInstanceSerializer would write for this instance (field order included). */
export function serializeInstance(instance: ServiceInstance): Uint8Array {
  let payload: unknown = instance.payload;
  if (
    instance.payloadClass !== undefined &&
    typeof payload === "object" &&
    payload !== null &&
    !Array.isArray(payload)
  )
    payload = { "@class": instance.payloadClass, ...(payload as object) };
  const json = {
    name: instance.name,
    id: instance.id,
    address: instance.address,
    port: instance.port,
    sslPort: instance.sslPort,
    payload,
    registrationTimeUTC: instance.registrationTimeUTC,
    serviceType: instance.serviceType,
    uriSpec: instance.uriSpec === null ? null : { parts: instance.uriSpec },
  };
  return Buffer.from(JSON.stringify(json), "utf8");
}

/** Parses an instance node's data; null when it is not an instance (skipped by queries). */
export function parseInstance(data: Uint8Array): ServiceInstance | null {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(data).toString("utf8")) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (
    typeof json !== "object" ||
    json === null ||
    typeof json.name !== "string" ||
    typeof json.id !== "string"
  )
    return null;
  let payload = json.payload ?? null;
  let payloadClass: string | undefined;
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload) && "@class" in payload) {
    const { "@class": tag, ...rest } = payload as Record<string, unknown>;
    if (typeof tag === "string") payloadClass = tag;
    payload = rest;
  }
  const spec = json.uriSpec as { parts?: unknown } | null | undefined;
  const uriSpec = Array.isArray(spec?.parts)
    ? (spec.parts as UriSpecPart[]).map((p) => ({ value: String(p.value), variable: p.variable === true }))
    : null;
  const type = READ_TYPES.includes(json.serviceType as ServiceType)
    ? (json.serviceType as ServiceType)
    : "DYNAMIC";
  return {
    name: json.name,
    id: json.id,
    address: typeof json.address === "string" ? json.address : null,
    port: typeof json.port === "number" ? json.port : null,
    sslPort: typeof json.sslPort === "number" ? json.sslPort : null,
    payload,
    ...(payloadClass !== undefined ? { payloadClass } : {}),
    registrationTimeUTC: typeof json.registrationTimeUTC === "number" ? json.registrationTimeUTC : 0,
    serviceType: type,
    uriSpec,
  };
}

/**
 * Curator x-discovery's ServiceDiscovery.
 *
 *   await using discovery = new ServiceDiscovery(zk, "/services");
 *   await discovery.register({ name: "web", address: "10.0.0.1", port: 8080, payload: { zone: "eu" } });
 *   for await (const instances of discovery.watch("billing", signal)) route(instances);
 */
export class ServiceDiscovery implements AsyncDisposable {
  readonly basePath: string;
  private readonly acl: readonly AclEntry[] | undefined;
  /** What this object registered, by path: registered again on a new session, removed on close. */
  private readonly registered = new Map<string, ServiceInstance>();
  private readonly closing = new AbortController();
  private readonly watches = new Set<Promise<void>>();
  private readonly onSession = () => {
    void this.registerAll();
  };

  constructor(
    private readonly zk: ZooKeeper,
    basePath: string,
    options: ServiceDiscoveryOptions = {},
  ) {
    this.basePath = validatePath(basePath);
    this.acl = options.acl;
    zk.on("session", this.onSession);
  }

  /** The path of an instance's node. */
  pathOf(name: string, id: string): string {
    return joinPath(joinPath(this.basePath, checkName(name, "name")), checkName(id, "id"));
  }

  /** Registers an instance (replacing a node with its id); returns it as stored. */
  async register<P>(input: ServiceInstanceInput<P>, options: CallOptions = {}): Promise<ServiceInstance<P>> {
    const instance = normalize(input);
    checkSignal(options.signal);
    this.assertOpen();
    const path = this.pathOf(instance.name, instance.id);
    this.registered.set(path, instance);
    try {
      await this.write(path, instance, options);
    } catch (err) {
      this.registered.delete(path);
      throw err;
    }
    return instance as ServiceInstance<P>;
  }

  /** Writes a registered instance's new details (same name and id). */
  async update<P>(input: ServiceInstanceInput<P>, options: CallOptions = {}): Promise<ServiceInstance<P>> {
    const instance = normalize(input);
    checkSignal(options.signal);
    this.assertOpen();
    const path = this.pathOf(instance.name, instance.id);
    if (!this.registered.has(path))
      throw new ZkArgumentError(`${instance.name}/${instance.id} is not registered by this object`);
    this.registered.set(path, instance);
    await this.zk.setData(path, serializeInstance(instance), options);
    return instance as ServiceInstance<P>;
  }

  /** Removes an instance (one this object registered, or any by name and id); false if it was not there. */
  async unregister(name: string, id: string, options: CallOptions = {}): Promise<boolean> {
    const path = this.pathOf(name, id);
    checkSignal(options.signal);
    this.registered.delete(path);
    try {
      await this.zk.delete(path, options);
      return true;
    } catch (err) {
      if (isNoNode(err)) return false;
      throw err;
    }
  }

  /** Service names under the base path. */
  async names(options: CallOptions = {}): Promise<string[]> {
    checkSignal(options.signal);
    try {
      return (await this.zk.getChildren(this.basePath, options)).children.sort();
    } catch (err) {
      if (isNoNode(err)) return [];
      throw err;
    }
  }

  /** The instances of a service, sorted by id (unparseable nodes skipped). */
  async instances(name: string, options: CallOptions = {}): Promise<ServiceInstance[]> {
    const servicePath = joinPath(this.basePath, checkName(name, "name"));
    checkSignal(options.signal);
    return this.read(servicePath, undefined, options.signal);
  }

  /** One instance, or null. */
  async instance(name: string, id: string, options: CallOptions = {}): Promise<ServiceInstance | null> {
    const path = this.pathOf(name, id);
    checkSignal(options.signal);
    try {
      return parseInstance((await this.zk.getData(path, options)).data);
    } catch (err) {
      if (isNoNode(err)) return null;
      throw err;
    }
  }

  /**
   * The instances of a service now, then again after every change (an instance added, removed or
   * updated). Ends on `break`, `signal`, or close().
   */
  watch(name: string, signal?: AbortSignal): AsyncIterableIterator<ServiceInstance[]> {
    const servicePath = joinPath(this.basePath, checkName(name, "name"));
    checkSignal(signal);
    this.assertOpen();
    const out = new Fanout<ServiceInstance[]>();
    const iterator = out.iterate(undefined, signal);
    const stop = new AbortController();
    const onStop = () => stop.abort();
    signal?.addEventListener("abort", onStop, { once: true });
    this.closing.signal.addEventListener("abort", onStop, { once: true });
    const loop = this.watchLoop(servicePath, out, stop.signal).finally(() => {
      signal?.removeEventListener("abort", onStop);
      this.closing.signal.removeEventListener("abort", onStop);
      this.watches.delete(loop);
    });
    this.watches.add(loop);
    // The loop ends when the consumer stops iterating, too.
    const ret = iterator.return!.bind(iterator);
    iterator.return = async (value?: unknown) => {
      stop.abort();
      return ret(value);
    };
    return iterator;
  }

  /** Unregisters what this object registered and ends the watches. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new RecipeClosedError(`service discovery ${this.basePath}: closed`));
    this.zk.off("session", this.onSession);
    await Promise.all(this.watches);
    const paths = [...this.registered.keys()];
    this.registered.clear();
    await Promise.all(
      paths.map((path) =>
        this.zk.delete(path).catch((err: unknown) => {
          if (!isNoNode(err) && !isConnectionLoss(err) && this.zk.state.kind === "connected") throw err;
        }),
      ),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted)
      throw new RecipeClosedError(`service discovery ${this.basePath}: closed`);
  }

  private async write(path: string, instance: ServiceInstance, options: CallOptions): Promise<void> {
    const data = serializeInstance(instance);
    const mode = instance.serviceType === "DYNAMIC" ? "ephemeral" : "persistent";
    for (let attempt = 0; ; attempt++) {
      try {
        await this.zk.create(path, data, { mode, acl: this.acl, createParents: true, ...options });
        return;
      } catch (err) {
        if (!isNodeExists(err) || attempt >= 2) throw err;
      }
      // Delete and create again, so that watchers see the new registration (as Curator does).
      await this.zk.delete(path, options).catch((err: unknown) => {
        if (!isNoNode(err)) throw err;
      });
    }
  }

  /** After a new session: every DYNAMIC instance went with the old one. */
  private async registerAll(): Promise<void> {
    for (const [path, instance] of this.registered) {
      if (this.closing.signal.aborted) return;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await this.write(path, instance, {});
          break;
        } catch (err) {
          if (!isConnectionLoss(err)) break;
          await whenConnected(this.zk).catch(() => undefined);
        }
      }
    }
  }

  /** Lists the service and reads its instances, setting `watcher` on the list and on each instance. */
  private async read(
    servicePath: string,
    watcher: ((event: WatchedEvent) => void) | undefined,
    signal?: AbortSignal,
  ): Promise<ServiceInstance[]> {
    let children: string[];
    try {
      ({ children } = await this.zk.getChildren(servicePath, { watch: watcher ?? false, signal }));
    } catch (err) {
      if (!isNoNode(err)) throw err;
      // No such service yet: watch for its creation.
      if (watcher !== undefined && (await this.zk.exists(servicePath, { watch: watcher, signal })) !== null)
        watcher({ type: "NodeCreated", state: "SyncConnected", path: servicePath, zxid: -1n });
      return [];
    }
    // All reads written together: one round trip for the whole list.
    const found = await Promise.all(
      children.map(async (child) => {
        try {
          const { data } = await this.zk.getData(joinPath(servicePath, child), {
            watch: watcher ?? false,
            signal,
          });
          return parseInstance(data);
        } catch (err) {
          if (isNoNode(err)) return null;
          throw err;
        }
      }),
    );
    return found.filter((i): i is ServiceInstance => i !== null).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private async watchLoop(servicePath: string, out: Fanout<ServiceInstance[]>, stop: AbortSignal) {
    const kick = new Kick();
    const watcher = () => kick.kick();
    let last: string | undefined;
    kick.kick();
    try {
      while (!stop.aborted) {
        await kick.wait(stop);
        if (stop.aborted) break;
        try {
          const list = await this.read(servicePath, watcher, stop);
          const key = JSON.stringify(list);
          if (key !== last) {
            last = key;
            out.push(list);
          }
        } catch (err) {
          if (stop.aborted) break;
          if (!isConnectionLoss(err)) throw err;
          kick.kick();
          await whenConnected(this.zk, stop);
        }
      }
      out.end();
    } catch (err) {
      out.end(stop.aborted ? undefined : err);
    }
  }
}
