/**
 * Lists, at the end of a run, every skipped test with the reason it gave (`ctx.skip(true, reason)`, as
 * test/support/features.ts does): the default reporter only counts skipped tests, and a skip whose reason
 * nobody sees hides what a run did not check. Skips without a note (skipIf, runIf) are counted per file.
 */
import type { Reporter, TestCase, TestModule } from "vitest/node";

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const noted: string[] = [];
    const silent = new Map<string, number>();
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== "skipped") continue;
        const where = `${projectOf(test)}${module.relativeModuleId}`;
        if (result.note) noted.push(`  ${where} > ${test.fullName}\n      ${result.note}`);
        else silent.set(where, (silent.get(where) ?? 0) + 1);
      }
    }
    if (noted.length === 0 && silent.size === 0) return;
    const lines = ["", "Skipped tests:"];
    lines.push(...noted);
    for (const [where, count] of silent)
      lines.push(`  ${where}: ${count} skipped by a condition in the file (skipIf/runIf)`);
    process.stdout.write(`${lines.join("\n")}\n`);
  }
}

function projectOf(test: TestCase): string {
  const name = test.project.name;
  return name ? `[${name}] ` : "";
}
