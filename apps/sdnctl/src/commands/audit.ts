import type { AuditRecord } from "@sdn/contracts";
import { listPages, withPageOptions } from "../paging.js";
import { examples, type CommandModule } from "./registry.js";

const resourcesOf = (r: AuditRecord): string =>
  Object.entries(r.resources)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

/** `sdnctl audit list`: who changed what, oldest first (admins: every account; tenants: their own). */
export const auditCommands: CommandModule = (program, deps) => {
  const audit = program
    .command("audit")
    .description("the audit trail: every mutating command, who sent it, its outcome");

  withPageOptions(
    audit
      .command("list")
      .description("list audit records, oldest first")
      .option("--account <id>", "only this account's records (admin)")
      .option("--command <name>", "only this command, e.g. CreateNetwork")
      .option("--since <time>", "records at or after this ISO 8601 time")
      .option("--until <time>", "records at or before this ISO 8601 time"),
  )
    .addHelpText(
      "after",
      examples(
        "sdnctl audit list --since 2026-12-01T00:00:00Z",
        "sdnctl audit list --account 3b0c1d9e-... --command DeleteNetwork -f json",
      ),
    )
    .action(async (opts, cmd) => {
      const s = await deps.session(cmd);
      await listPages<"items", AuditRecord>(
        s,
        {
          path: "/v1/audit",
          field: "items",
          query: { accountId: opts.account, command: opts.command, since: opts.since, until: opts.until },
        },
        opts,
        (items) =>
          s.out.table(items, [
            { header: "AT", value: (r) => r.at },
            { header: "ACCOUNT", value: (r) => r.accountId },
            { header: "COMMAND", value: (r) => r.command },
            { header: "RESOURCES", value: resourcesOf },
            { header: "OUTCOME", value: (r) => (r.ok ? "ok" : (r.errorCode ?? "failed")) },
            { header: "ORIGIN", value: (r) => r.origin },
            { header: "TOKEN", value: (r) => r.tokenId },
          ]),
      );
    });
};
