/**
 * How the `zkwire` command writes values: zkCli's text layouts (so scripts written against zkCli's
 * output keep working, and the two can be compared line by line) and a JSON form for `--json`.
 */
import type { AclEntry } from "../client/acl.js";
import { Perms } from "../protocol/constants.js";
import type { Stat } from "../protocol/records/stat.js";
import type { WatchedEvent } from "../session/watches.js";
import { UsageError } from "./args.js";

/** `0x1a`, as zkCli prints zxids and session ids (Long.toHexString: no padding). */
export function hex(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16)}`;
}

const dateParts = new Intl.DateTimeFormat("en-US", {
  weekday: "short",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  year: "numeric",
  timeZoneName: "short",
});

/**
 * A time as java.util.Date#toString writes it, which is what zkCli shows for ctime and mtime:
 * `Wed Dec 02 15:23:28 UTC 2026`, in the local time zone. The zone's short name comes from ICU and can
 * differ from the JVM's outside UTC and the US zones (ICU writes "GMT+1" where Java writes "CET").
 */
export function javaDate(ms: bigint | number): string {
  const parts: Record<string, string> = {};
  for (const p of dateParts.formatToParts(new Date(Number(ms)))) parts[p.type] = p.value;
  return `${parts.weekday} ${parts.month} ${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName} ${parts.year}`;
}

/** zkCli's stat layout (StatPrinter), field for field. */
export function statLines(stat: Stat): string[] {
  return [
    `cZxid = ${hex(stat.czxid)}`,
    `ctime = ${javaDate(stat.ctime)}`,
    `mZxid = ${hex(stat.mzxid)}`,
    `mtime = ${javaDate(stat.mtime)}`,
    `pZxid = ${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${hex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}

/** A Stat for JSON: 64-bit ids as hex strings (JSON numbers lose them), times as ms and ISO 8601. */
export function statJson(stat: Stat): Record<string, unknown> {
  return {
    czxid: hex(stat.czxid),
    mzxid: hex(stat.mzxid),
    pzxid: hex(stat.pzxid),
    ctime: Number(stat.ctime),
    ctimeIso: new Date(Number(stat.ctime)).toISOString(),
    mtime: Number(stat.mtime),
    mtimeIso: new Date(Number(stat.mtime)).toISOString(),
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: hex(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

const permLetters: [string, number][] = [
  ["c", Perms.CREATE],
  ["d", Perms.DELETE],
  ["r", Perms.READ],
  ["w", Perms.WRITE],
  ["a", Perms.ADMIN],
];

/** `cdrwa`, in zkCli's letter order. */
export function permString(perms: number): string {
  return permLetters
    .filter(([, bit]) => (perms & bit) !== 0)
    .map(([c]) => c)
    .join("");
}

/** zkCli's getAcl layout: `'scheme,'id` then `: perms`, per entry. */
export function aclLines(acl: readonly AclEntry[]): string[] {
  return acl.flatMap((e) => [`'${e.id.scheme},'${e.id.id}`, `: ${permString(e.perms)}`]);
}

/**
 * An ACL as zkCli takes it: `scheme:id:perms[,scheme:id:perms...]`. The id may itself hold colons
 * (`digest:user:hash`, IPv6 addresses), so the scheme ends at the first colon and the perms start
 * after the last.
 */
export function parseAcl(text: string): AclEntry[] {
  return text.split(",").map((entry) => {
    const first = entry.indexOf(":");
    const last = entry.lastIndexOf(":");
    if (first < 0 || last === first) {
      throw new UsageError(`invalid ACL "${entry}": expected scheme:id:perms, e.g. world:anyone:cdrwa`);
    }
    const letters = entry.slice(last + 1);
    let perms = 0;
    for (const c of letters) {
      const bit = permLetters.find(([l]) => l === c)?.[1];
      if (bit === undefined)
        throw new UsageError(`invalid permission "${c}" in "${entry}" (use c, d, r, w, a)`);
      perms |= bit;
    }
    return { perms, id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) } };
  });
}

/** zkCli's line for a watch event: `WatchedEvent state:SyncConnected type:NodeDataChanged path:/a zxid: 5`. */
export function eventLine(e: WatchedEvent): string {
  return `WatchedEvent state:${e.state} type:${e.type} path:${e.path === "" ? "null" : e.path} zxid: ${e.zxid}`;
}

export function eventJson(e: WatchedEvent): Record<string, unknown> {
  return {
    type: e.type,
    state: e.state,
    path: e.path,
    zxid: e.zxid < 0n ? null : hex(e.zxid),
  };
}

/** JSON with bigints as hex strings, one value per line. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return hex(v);
    return v;
  });
}
