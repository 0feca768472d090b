/**
 * The build `npm run build`, `npm start` and the images run: every workspace compiled
 * (`tsc -b`), then TypeBox bundled for the built services (libs/typebox: its ES modules made
 * a few, which keeps each service about 10 MB smaller at idle). Incremental like `tsc -b`;
 * the bundle is remade every time (under a second).
 */
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const typebox = `${root}libs/typebox/`;

const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-b", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Chunks are named by their content: an upgraded TypeBox would leave the old ones behind.
rmSync(`${typebox}dist/bundle`, { recursive: true, force: true });
await build({
  entryPoints: ["index", "compile", "value"].map((entry) => `${typebox}src/${entry}.ts`),
  bundle: true,
  // One copy of TypeBox shared by the three entries (a chunk each imports), as unbundled.
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  outdir: `${typebox}dist/bundle`,
  outExtension: { ".js": ".mjs" },
  logLevel: "warning",
});
