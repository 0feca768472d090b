/**
 * `npm run bench [name…]`: runs every `*.bench.ts` in this folder (or those whose file
 * name contains one of the given names) one after another, each printing its figures.
 * A bench module's default export is an async function that prints and returns.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((n) => f.includes(n)))
  .sort();

if (files.length === 0) {
  process.stderr.write(`no benchmark matches ${filters.join(", ") || "(none present)"}\n`);
  process.exit(1);
}
for (const file of files) {
  process.stdout.write(`\n== ${file.replace(/\.bench\.ts$/, "")} ==\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: () => Promise<void> };
  await mod.default();
}
