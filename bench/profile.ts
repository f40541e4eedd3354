/**
 * CPU profiles of a worker's measured runs, summarised where the code is: self time per function, with
 * its location mapped back to the TypeScript source (a profiled worker runs with --enable-source-maps,
 * so Node loads tsc's .js.map files; `findSourceMap` reads them in the process that loaded the code,
 * which is why the worker summarises its own profiles instead of leaving that to a later tool).
 */
import { findSourceMap } from "node:module";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The parts of a V8 .cpuprofile used here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

interface Row {
  name: string;
  where: string;
  file: string;
  samples: number;
}

/** "src/session/session.ts:812" for a profile location (0-based line and column, generated code). */
function locate(url: string, line: number, column: number): { where: string; file: string } {
  if (url === "") return { where: "(native)", file: "(native)" };
  let source = url;
  let originalLine = line;
  try {
    const entry = findSourceMap(url)?.findEntry(line, column) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      source = entry.originalSource;
      originalLine = entry.originalLine;
    }
  } catch {
    // No map (node internals): the generated location is the source location.
  }
  let file = source;
  if (file.startsWith("file://")) file = relative(process.cwd(), fileURLToPath(file));
  return { where: `${file}:${originalLine + 1}`, file };
}

/** Self samples per function over one or more profiles, the idle time left out. */
export function summarise(profiles: readonly CpuProfile[], top = 30): string {
  const rows = new Map<string, Row>();
  let total = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const id of profile.samples) {
      const node = byId.get(id);
      if (node === undefined) continue;
      const { functionName, url, lineNumber, columnNumber } = node.callFrame;
      if (functionName === "(idle)") continue;
      total++;
      const key = `${functionName}\0${url}\0${lineNumber}\0${columnNumber}`;
      let row = rows.get(key);
      if (row === undefined) {
        const { where, file } = locate(url, lineNumber, columnNumber);
        row = { name: functionName || "(anonymous)", where, file, samples: 0 };
        rows.set(key, row);
      }
      row.samples++;
    }
  }
  const pct = (n: number) => `${((100 * n) / Math.max(1, total)).toFixed(1).padStart(5)}%`;
  const sorted = [...rows.values()].sort((a, b) => b.samples - a.samples);
  const lines = [`${total} samples (idle excluded)`, "", "self   function  location"];
  for (const r of sorted.slice(0, top)) lines.push(`${pct(r.samples)}  ${r.name}  ${r.where}`);
  const files = new Map<string, number>();
  for (const r of sorted) files.set(r.file, (files.get(r.file) ?? 0) + r.samples);
  lines.push("", "self   file");
  for (const [file, n] of [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    lines.push(`${pct(n)}  ${file}`);
  }
  return `${lines.join("\n")}\n`;
}
