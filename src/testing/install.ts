/**
 * Pre-fetches ZooKeeper servers into the cache so test runs start without Maven:
 *   npx tsx src/testing/install.ts 3.9 3.5.10 3.8.4
 * Prints "<asked> <version> <dir>" per line; exits 1 if any could not be resolved.
 */
import { resolveFromMaven } from "./maven.js";
import { DEFAULT_VERSION_LINE } from "./versions.js";

const asked = process.argv.slice(2);
let failed = false;
for (const spec of asked.length > 0 ? asked : [DEFAULT_VERSION_LINE]) {
  try {
    const server = await resolveFromMaven(spec);
    console.log(`${spec} ${server.version} ${server.dir}`);
  } catch (error) {
    failed = true;
    console.error(`${spec}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;
