/**
 * Writes the JSON Schema of what the host programs print next to them
 * (services/hypervisor-agent/host/schema/), for the Python side to check its output
 * against. Run `npm run schemas` after changing a schema; program-answers.test.ts fails
 * while the written files are stale.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOST_PROGRAMS_DIR, programSchemaFiles } from "@sdn/hypervisor-agent";

const dir = join(HOST_PROGRAMS_DIR, "schema");
const files = programSchemaFiles();
mkdirSync(dir, { recursive: true });
for (const old of readdirSync(dir)) if (!(old in files)) rmSync(join(dir, old));
for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
process.stdout.write(`${Object.keys(files).length} schema files written to ${dir}\n`);
