/**
 * Writes the JSON Schema of what the Python programs read and print next to them, for
 * their side to check against: the host programs' answers (services/hypervisor-agent/
 * host/schema/) and the router program's input (services/vr-manager/router/schema/). Run
 * `npm run schemas` after changing one; program-answers.test.ts and
 * router-config-check.test.ts fail while the written files are stale.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOST_PROGRAMS_DIR, programSchemaFiles } from "@sdn/hypervisor-agent";
import { ROUTER_SCHEMA_DIR, routerSchemaFiles } from "@sdn/vr-manager";

const write = (dir: string, files: Record<string, string>): void => {
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir)) if (!(old in files)) rmSync(join(dir, old));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  process.stdout.write(`${Object.keys(files).length} schema file(s) written to ${dir}\n`);
};

write(join(HOST_PROGRAMS_DIR, "schema"), programSchemaFiles());
write(ROUTER_SCHEMA_DIR, routerSchemaFiles());
