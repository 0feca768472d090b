import { fileURLToPath } from "node:url";
import { formatIssues, jsonSchemaFile, validationIssues } from "@sdn/bus";
import { CommandError, PushedRouterConfig } from "@sdn/contracts";

/**
 * Checks a configuration against the router program's input schema before it is sent: one
 * that breaks it is the vr-manager's own fault (INTERNAL, the failing fields in details),
 * refused here rather than half-understood by the router.
 */
export const checkRouterConfig = (config: unknown): void => {
  const issues = validationIssues(PushedRouterConfig, config);
  if (issues.length > 0) {
    throw new CommandError("INTERNAL", `the router configuration breaks its schema: ${formatIssues(issues)}`, {
      issues,
    });
  }
};

/** Where the router program's input schema is written for its side (services/vr-manager/router/schema). */
export const ROUTER_SCHEMA_DIR = fileURLToPath(new URL("../../router/schema/", import.meta.url));

/** JSON Schema of the router program's input, by file name (written by scripts/export-schemas.ts). */
export const routerSchemaFiles = (): Record<string, string> => ({
  "router-config.json": jsonSchemaFile(PushedRouterConfig),
});
