/**
 * Connect strings: `host:port[,host:port...][/chroot]`, as the reference client accepts them.
 *
 *   zk1:2181,zk2:2181,zk3:2181/app       three hosts, chroot /app
 *   [::1]:2181,127.0.0.1                 IPv6 in brackets; the port defaults to 2181
 *
 * The hosts are shuffled once (so that many clients spread over the ensemble) and tried in that order.
 */
import { ZkArgumentError } from "../errors.js";
import { validatePath } from "./paths.js";

export interface HostAddress {
  host: string;
  port: number;
}

export interface ConnectString {
  hosts: HostAddress[];
  /** The chroot, without trailing slash, or "" for none. */
  chroot: string;
}

export const DEFAULT_PORT = 2181;

export function formatHost(h: HostAddress): string {
  return h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

function parseHost(spec: string, whole: string): HostAddress {
  const bad = (why: string) => new ZkArgumentError(`invalid connect string "${whole}": ${why}`);
  let host: string;
  let portText: string | undefined;
  if (spec.startsWith("[")) {
    const close = spec.indexOf("]");
    if (close < 0) throw bad(`unclosed "[" in "${spec}"`);
    host = spec.slice(1, close);
    const rest = spec.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) throw bad(`unexpected "${rest}" after "]"`);
    portText = rest === "" ? undefined : rest.slice(1);
    if (!host.includes(":")) throw bad(`"${host}" in brackets is not an IPv6 address`);
  } else {
    const colon = spec.lastIndexOf(":");
    if (spec.indexOf(":") !== colon) throw bad(`IPv6 address "${spec}" must be written in brackets`);
    host = colon < 0 ? spec : spec.slice(0, colon);
    portText = colon < 0 ? undefined : spec.slice(colon + 1);
  }
  if (host === "") throw bad(`empty host in "${spec}"`);
  if (/[\s/]/.test(host)) throw bad(`invalid host "${host}"`);
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw bad(`invalid port "${portText}"`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(`port ${port} out of range`);
  }
  return { host, port };
}

export function parseConnectString(text: string): ConnectString {
  if (typeof text !== "string" || text.trim() === "") {
    throw new ZkArgumentError("connect string must be a non-empty string like 'host:2181'");
  }
  const s = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (scheme) {
    // Without this, "zk://h:2181" reads as host "zk:" and chroot "//h:2181", refused for an empty segment.
    throw new ZkArgumentError(
      `invalid connect string "${text}": the scheme "${scheme[1]}://" is not supported; ` +
        "write host:port[,host:port...][/chroot], e.g. zk1:2181,zk2:2181/app",
    );
  }
  const slash = s.indexOf("/");
  const hostPart = slash < 0 ? s : s.slice(0, slash);
  let chroot = slash < 0 ? "" : s.slice(slash);
  if (chroot === "/") chroot = "";
  if (chroot !== "") {
    try {
      validatePath(chroot);
    } catch (err) {
      throw new ZkArgumentError(`invalid chroot in connect string "${text}": ${(err as Error).message}`);
    }
  }
  const hosts = hostPart.split(",").map((h) => parseHost(h.trim(), text));
  return { hosts, chroot };
}

/** Fisher-Yates, so that every order is equally likely. */
export function shuffled<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The hosts to try, in shuffled order, with a cursor. Replacing the list keeps the current host's place
 * when it is still listed, so a client moves only when its server left the list.
 */
export class HostList {
  private hosts: HostAddress[];
  private cursor = -1;

  constructor(
    hosts: readonly HostAddress[],
    private readonly random: () => number = Math.random,
  ) {
    if (hosts.length === 0) throw new ZkArgumentError("at least one host is needed");
    this.hosts = shuffled(hosts, random);
  }

  get size(): number {
    return this.hosts.length;
  }

  get all(): readonly HostAddress[] {
    return this.hosts;
  }

  /** The next host to try, going round the list. */
  next(): HostAddress {
    this.cursor = (this.cursor + 1) % this.hosts.length;
    return this.hosts[this.cursor]!;
  }

  /** True when the last `next()` completed a full round (every host tried once since the last wrap). */
  get atEndOfRound(): boolean {
    return this.cursor === this.hosts.length - 1;
  }

  includes(address: HostAddress): boolean {
    return this.hosts.some((h) => h.host === address.host && h.port === address.port);
  }

  /** Replaces the list (shuffled anew); the cursor restarts at the beginning. */
  replace(hosts: readonly HostAddress[]): void {
    if (hosts.length === 0) throw new ZkArgumentError("at least one host is needed");
    this.hosts = shuffled(hosts, this.random);
    this.cursor = -1;
  }
}
